"""Benchmark metrics on (x, y, w, h) boxes: IoU, centre errors, success / precision curves, AO and SR.

One set of conventions serves every dataset format:

* Scored frames (:func:`scored_frames`): the frames after the initialisation frame whose target is present.
  The initialisation frame is left out because its box is the ground truth, not a tracker output (GOT-10k
  toolkit; the OTB and LaSOT toolkits score it as IoU 1, so their numbers can be higher by up to 1/N).
  Absent frames (flagged, or ground truth not finite or without area) leave numerator and denominator
  (GOT-10k toolkit ``cover > 0``, pytracking ``exclude_invalid_frames``; the LaSOT MATLAB toolkit drops them
  too but divides by the full length, i.e. counts them as failures).
* IoU (:func:`asymtrack_ros.boxes.iou`): continuous-coordinate overlap; the ``-1``/``+1`` pixel terms of the OTB
  and pytracking formulas cancel.
* Success curve: fraction of scored frames with IoU > t (strict) for t in ``linspace(0, 1, 21)``; AUC is the
  mean of the curve (OTB, LaSOT, pytracking). A perfect tracker therefore scores AUC 20/21: IoU 1 > 1 fails.
* Precision curve: fraction with centre error <= t pixels, t = 0..50; precision is the value at 20 px.
* Normalised precision (pytracking ``calc_err_center(normalized=True)``, LaSOT): both centres divided by the
  ground-truth width and height before the distance; t in ``linspace(0, 0.5, 51)``, reported at 0.2.
* AO, SR0.5, SR0.75 (GOT-10k): mean IoU and fraction of IoU > 0.5 / > 0.75 (strict).
* Dataset level (:func:`pool_scores`): curves, hence AUC, precision and normalised precision, average the
  per-sequence curves, each sequence weighing the same (OTB, LaSOT, pytracking); AO and SR pool the IoUs of all
  scored frames (GOT-10k toolkit). Sequences without a scored frame are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from asymtrack_ros.boxes import iou

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS_PX = np.arange(51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.linspace(0.0, 0.5, 51)
PRECISION_AT_PX = 20.0
NORM_PRECISION_AT = 0.2


def center_error(boxes: np.ndarray, ground_truth: np.ndarray, normalized: bool = False) -> np.ndarray:
    """Row-wise distance between box centres, in pixels or in ground-truth sizes; inf where undefined."""
    offset = boxes[:, :2] + boxes[:, 2:] / 2.0 - (ground_truth[:, :2] + ground_truth[:, 2:] / 2.0)
    if normalized:
        offset = offset / ground_truth[:, 2:]
    error = np.hypot(offset[:, 0], offset[:, 1])
    return np.where(np.isnan(error), np.inf, error)


def success_curve(ious: np.ndarray) -> np.ndarray:
    """Fraction of frames with IoU > t for each t in ``SUCCESS_THRESHOLDS`` (NaN without frames)."""
    return _hit_rate(ious[:, None] > SUCCESS_THRESHOLDS[None, :])


def precision_curve(errors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of frames with centre error <= t for each t in ``thresholds`` (NaN without frames)."""
    return _hit_rate(errors[:, None] <= thresholds[None, :])


def scored_frames(absent: np.ndarray, init_frame: int) -> np.ndarray:
    """Mask of the frames a metric counts: after ``init_frame`` and with the target present."""
    scored = ~np.asarray(absent, dtype=bool)
    scored[: init_frame + 1] = False
    return scored


@dataclass(frozen=True, eq=False)
class Scores:
    """Metric curves and scored-frame IoUs of one sequence, or of a dataset (see :func:`pool_scores`)."""

    success_curve: np.ndarray
    precision_curve: np.ndarray
    norm_precision_curve: np.ndarray
    ious: np.ndarray

    @property
    def num_frames(self) -> int:
        """Number of scored frames."""
        return len(self.ious)

    @property
    def auc(self) -> float:
        """Area under the success curve (mean over its thresholds)."""
        return float(self.success_curve.mean())

    @property
    def precision(self) -> float:
        """Precision at ``PRECISION_AT_PX`` pixels."""
        return _value_at(self.precision_curve, PRECISION_THRESHOLDS_PX, PRECISION_AT_PX)

    @property
    def norm_precision(self) -> float:
        """Normalised precision at ``NORM_PRECISION_AT``."""
        return _value_at(self.norm_precision_curve, NORM_PRECISION_THRESHOLDS, NORM_PRECISION_AT)

    @property
    def ao(self) -> float:
        """GOT-10k average overlap: mean IoU."""
        return _mean(self.ious)

    @property
    def sr50(self) -> float:
        """GOT-10k success rate: fraction of IoU > 0.5."""
        return _mean(self.ious > 0.5)

    @property
    def sr75(self) -> float:
        """GOT-10k success rate: fraction of IoU > 0.75."""
        return _mean(self.ious > 0.75)

    def summary(self) -> dict[str, float]:
        """The headline numbers by name."""
        return {
            "auc": self.auc,
            "precision": self.precision,
            "norm_precision": self.norm_precision,
            "ao": self.ao,
            "sr50": self.sr50,
            "sr75": self.sr75,
        }


def evaluate_sequence(boxes: np.ndarray, ground_truth: np.ndarray, scored: np.ndarray) -> Scores:
    """Scores of predicted (N, 4) ``boxes`` against ``ground_truth`` over the ``scored`` frames."""
    predicted, expected = boxes[scored], ground_truth[scored]
    ious = iou(predicted, expected)
    return Scores(
        success_curve=success_curve(ious),
        precision_curve=precision_curve(center_error(predicted, expected), PRECISION_THRESHOLDS_PX),
        norm_precision_curve=precision_curve(
            center_error(predicted, expected, normalized=True), NORM_PRECISION_THRESHOLDS
        ),
        ious=ious,
    )


def pool_scores(sequence_scores: Iterable[Scores]) -> Scores:
    """Dataset scores: per-sequence curves averaged, IoUs of every scored frame pooled."""
    counted = [scores for scores in sequence_scores if scores.num_frames]
    return Scores(
        success_curve=_mean_curve([s.success_curve for s in counted], SUCCESS_THRESHOLDS),
        precision_curve=_mean_curve([s.precision_curve for s in counted], PRECISION_THRESHOLDS_PX),
        norm_precision_curve=_mean_curve([s.norm_precision_curve for s in counted], NORM_PRECISION_THRESHOLDS),
        ious=np.concatenate([s.ious for s in counted]) if counted else np.empty(0),
    )


def _hit_rate(hits: np.ndarray) -> np.ndarray:
    return hits.mean(axis=0) if len(hits) else np.full(hits.shape[1], np.nan)


def _mean_curve(curves: list[np.ndarray], thresholds: np.ndarray) -> np.ndarray:
    return np.mean(curves, axis=0) if curves else np.full(len(thresholds), np.nan)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def _value_at(curve: np.ndarray, thresholds: np.ndarray, threshold: float) -> float:
    return float(curve[int(np.argmin(np.abs(thresholds - threshold)))])
