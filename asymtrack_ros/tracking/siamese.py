"""The crop-based tracker shared by the network backends (torch, onnx).

Per target: crop the template once and hand it to the runner's template branch. Per frame: crop
the search region around the previous box, run the runner's search branch, map the box back to
image pixels (with the optional motion priors of ``box_smoothing.py``) and score it from the corner
maps. Runners only execute networks. The crop, normalise and map-back steps are public
(:meth:`SiameseTracker.template_input`, ``search_input``, ``map_back``) for tools that drive a runner themselves.
Several targets: one tracker per target, all sharing one runner (:meth:`SiameseTracker.spawn`); a runner that
takes batches (:class:`BatchRunner`) searches for all of them in one pass (:func:`track_together`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np

from asymtrack_ros.boxes import Box
from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.tracking.appearance import TargetCheck
from asymtrack_ros.tracking.base import DeviceInfo, NotInitializedError, Tracker, TrackResult
from asymtrack_ros.tracking.box_smoothing import NO_SMOOTHING, BoxSmoothing
from asymtrack_ros.tracking.confidence import IDENTITY, ScoreCalibration, corner_confidence
from asymtrack_ros.tracking.confirmation import ConfirmationHead
from asymtrack_ros.tracking.preprocessing import Normalizer, clip_box, map_box_back, sample_target
from asymtrack_ros.tracking.redetection import DEFAULT_REDETECTION, RedetectionSettings
from asymtrack_ros.tracking.validation import validate_image
from asymtrack_ros.tracking.verification import TargetVerifier, VerificationHead, template_embedding

BOX_ONLY_FACTOR = 1.0  # a crop of the box itself: unlike the template crop, no context that changes as the target moves


@dataclass(frozen=True)
class SearchOutput:
    """One search pass for one sample: (cx, cy, w, h) normalised to the crop, corner probabilities; ``score``: a
    learned confidence that replaces the corner-map score (DyTrack's IoU prediction), ``exit``: the early exit
    that answered (None: a model without exits)."""

    pred_box: np.ndarray
    prob_tl: np.ndarray
    prob_br: np.ndarray
    score: float | None = None
    exit: int | None = None


def map_size(output: SearchOutput) -> int:
    """Side of the (square) corner maps of a search pass."""
    return round(float(np.sqrt(output.prob_tl.shape[-1])))


def network_score(output: SearchOutput) -> float:
    """The network's raw score of a search pass: its learned confidence if it has one, else the corner-map
    score (``confidence.py``)."""
    if output.score is not None:
        return output.score
    return corner_confidence(output.prob_tl, output.prob_br, map_size(output))


class NetworkRunner(Protocol):
    """Runs a model's two branches on normalised float32 NCHW arrays."""

    config: ModelConfig
    device_info: DeviceInfo

    def encode_template(self, template: np.ndarray) -> Any:
        """Template branch; the returned state is opaque to the tracker."""

    def track_search(self, search: np.ndarray, state: Any) -> SearchOutput:
        """Search branch with the cached template state."""


class BatchRunner(NetworkRunner, Protocol):
    """A runner whose search branch can take the crops of several targets at once (``batched`` true)."""

    batched: bool

    def track_search_batch(self, search: np.ndarray, states: Sequence[Any]) -> list[SearchOutput]:
        """Search crops (N, 3, S, S) with each target's template state -> one output per target."""


class SiameseTracker(Tracker):
    """Tracker around a :class:`NetworkRunner`; every target gets a fresh template state.

    ``smoothing`` (default: none, the official trackers' behaviour) adds motion priors to the box;
    ``calibration`` (default: identity) maps the corner-map score to a probability of being on target;
    ``redetection`` tells a :class:`TrackingSession` how to search the whole frame while LOST
    (``redetection.py``, through :meth:`search_regions`); ``verification`` (default: none) is the model's learned
    target verifier (``verification.py``, through :meth:`target_check`), ``confirmation`` (default: none) the
    head that confirms a box while LOST (``confirmation.py``, used by ``TrackingSession``).
    """

    def __init__(
        self, runner: NetworkRunner, smoothing: BoxSmoothing = NO_SMOOTHING, calibration: ScoreCalibration = IDENTITY,
        redetection: RedetectionSettings = DEFAULT_REDETECTION, verification: VerificationHead | None = None,
        confirmation: ConfirmationHead | None = None,
    ) -> None:
        self.runner = runner
        self.smoothing = smoothing
        self.calibration = calibration
        self.verification = verification
        self.confirmation = confirmation
        self.redetection = redetection
        self.config = runner.config
        self.model_name, self.variant = runner.config.name, runner.config.variant
        self.normalize = Normalizer(runner.config.mean, runner.config.std)
        self._template_state: Any = None
        self._box: Box | None = None
        self.template_ms = 0.0

    @property
    def device_info(self) -> DeviceInfo:
        return self.runner.device_info

    @property
    def is_initialized(self) -> bool:
        return self._box is not None

    @property
    def box(self) -> Box | None:
        """The current target box (x, y, w, h); the next search region is centred on it."""
        return self._box

    @property
    def search_factor(self) -> float:
        """Search crop side over the target's sqrt(w*h) at the normal search scale."""
        return self.config.search_factor

    def set_exit_thresholds(self, thresholds: Sequence[float]) -> None:
        """Early-exit models (DyTrack): the thresholds of Eq. (1) from the next frame on; ValueError otherwise."""
        setter = getattr(self.runner, "set_exit_thresholds", None)
        if setter is None:
            super().set_exit_thresholds(thresholds)
        else:
            setter(thresholds)

    def reposition(self, box: Box) -> None:
        if self._box is not None:
            self._box = box

    def spawn(self) -> SiameseTracker:
        """A tracker for another target: the same runner and settings, no target yet."""
        return SiameseTracker(self.runner, self.smoothing, self.calibration, self.redetection, self.verification,
                              self.confirmation)

    def target_check(self, image: np.ndarray, box: Box) -> TargetCheck:
        """The model's learned verifier (``verification.py``) when it has a head, else the appearance check."""
        if self.verification is None:
            return super().target_check(image, box)
        return TargetVerifier(image, box, self.embed, self.verification)

    def embed(self, image: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
        """The template branch's embeddings (``verification.template_embedding``) of the box's own pixels (the
        crop is the box, resized to the template size) and of the template crop (the box with its context)."""
        crop, _ = sample_target(image, box, BOX_ONLY_FACTOR, self.config.template_size)
        return (template_embedding(self.runner.encode_template(self.normalize(crop))),
                template_embedding(self.runner.encode_template(self.template_input(image, box))))

    def template_input(self, image: np.ndarray, box: Box) -> np.ndarray:
        """The template branch's input for the target ``box``: the normalised (1, 3, S, S) template crop."""
        crop, _ = sample_target(image, box, self.config.template_factor, self.config.template_size)
        return self.normalize(crop)

    def search_input(self, image: np.ndarray, box: Box, search_scale: float = 1.0) -> tuple[np.ndarray, float]:
        """The search branch's input around ``box`` (region widened by ``search_scale``): the normalised
        (1, 3, S, S) search crop and its resize factor, for :meth:`map_back`."""
        factor = self.config.search_factor * search_scale
        crop, resize_factor = sample_target(image, box, factor, self.config.search_size)
        return self.normalize(crop), resize_factor

    def map_back(self, pred_box: np.ndarray, box: Box, resize_factor: float) -> Box:
        """A search output box (cx, cy, w, h normalised to the crop around ``box``) in image pixels (x, y, w, h)."""
        return map_box_back(pred_box, box, self.config.search_size, resize_factor)

    def _initialize(self, image: np.ndarray, box: Box) -> None:
        self._box, self._template_state = None, None
        start = time.perf_counter()
        self._template_state = self.runner.encode_template(self.template_input(image, box))
        self.template_ms = (time.perf_counter() - start) * 1e3
        self._box = box

    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult:
        previous = self._box
        if previous is None:
            raise NotInitializedError()
        output, resize_factor, timings = self._search(image, previous, search_scale)
        return self.finish(image, previous, output, resize_factor, timings)

    @property
    def template_state(self) -> Any:
        """The runner's cached template state of the current target (None before ``initialize``)."""
        return self._template_state

    def search_crop(self, image: np.ndarray, search_scale: float) -> tuple[Box, np.ndarray, float]:
        """The current box, the search branch's input around it and its resize factor (:func:`track_together`)."""
        if self._box is None:
            raise NotInitializedError()
        return (self._box, *self.search_input(image, self._box, search_scale))

    def finish(self, image: np.ndarray, previous: Box, output: SearchOutput, resize_factor: float,
               timings: tuple[float, float]) -> TrackResult:
        """The search output around ``previous`` as the new box (motion priors applied) and its calibrated score;
        ``timings``: (preprocess, inference) ms."""
        t2 = time.perf_counter()
        pred_box = output.pred_box
        if self.smoothing.window_influence:
            pred_box = self.smoothing.corner_box(output.prob_tl[0], output.prob_br[0], map_size(output))
        raw_score = network_score(output)
        box = self.map_back(pred_box, previous, resize_factor)
        box = self.smoothing.update(previous, box, raw_score)
        self._box = clip_box(box, image.shape[0], image.shape[1], margin=10)
        score = self.calibration(raw_score)
        return TrackResult(self._box, score, *timings, postprocess_ms=(time.perf_counter() - t2) * 1e3,
                           exit=output.exit)

    def search_regions(self, image: np.ndarray, boxes: Sequence[Box]) -> list[TrackResult]:
        """The network's box and calibrated score in the normal search region around each of ``boxes``.

        No motion priors (they belong to the tracked box) and the tracker's own box stays where it is; the
        template state is the cached one. One search-branch pass for all boxes when the runner takes batches
        (``batched``: the shipped graphs), else one per box.
        """
        if self._box is None:
            raise NotInitializedError()
        t0 = time.perf_counter()
        crops = [self.search_input(image, box, 1.0) for box in boxes]
        t1 = time.perf_counter()
        if len(boxes) > 1 and getattr(self.runner, "batched", False):
            batch_runner = cast(BatchRunner, self.runner)
            outputs = batch_runner.track_search_batch(np.concatenate([crop for crop, _ in crops]),
                                                      [self._template_state] * len(boxes))
        else:
            outputs = [self.runner.track_search(crop, self._template_state) for crop, _ in crops]
        t2 = time.perf_counter()
        share = 1e3 / max(len(boxes), 1)
        results = []
        for box, (_, resize_factor), output in zip(boxes, crops, outputs, strict=True):
            t3 = time.perf_counter()
            found = clip_box(self.map_back(output.pred_box, box, resize_factor), image.shape[0], image.shape[1])
            score = self.calibration(network_score(output))
            results.append(TrackResult(found, score, (t1 - t0) * share, (t2 - t1) * share,
                                       postprocess_ms=(time.perf_counter() - t3) * 1e3, exit=output.exit))
        return results

    def _search(
        self, image: np.ndarray, box: Box, search_scale: float
    ) -> tuple[SearchOutput, float, tuple[float, float]]:
        """Crop around ``box`` and run the search branch: output, resize factor, (preprocess, inference) ms."""
        t0 = time.perf_counter()
        search, resize_factor = self.search_input(image, box, search_scale)
        t1 = time.perf_counter()
        output = self.runner.track_search(search, self._template_state)
        t2 = time.perf_counter()
        return output, resize_factor, ((t1 - t0) * 1e3, (t2 - t1) * 1e3)


def shared_batch_runner(trackers: Sequence[Tracker]) -> BatchRunner | None:
    """The runner that can search for all ``trackers`` in one pass (:func:`track_together`): they are
    :class:`SiameseTracker` s sharing one runner that takes batches. None otherwise."""
    siamese = [t for t in trackers if isinstance(t, SiameseTracker)]
    if not siamese or len(siamese) != len(trackers):
        return None
    runner = siamese[0].runner
    if not getattr(runner, "batched", False) or any(t.runner is not runner for t in siamese):
        return None
    return cast(BatchRunner, runner)


def track_together(trackers: Sequence[Tracker], image: np.ndarray, search_scales: Sequence[float]
                   ) -> list[TrackResult]:
    """``Tracker.track`` of each tracker (``search_scales`` in order) with one search-branch pass for all of them.

    Each result is what the tracker's own ``track`` gives; the preprocessing and inference times are the shared
    pass's divided among the targets. ValueError without a :func:`shared_batch_runner`.
    """
    runner = shared_batch_runner(trackers)
    if runner is None:
        raise ValueError("track_together needs SiameseTrackers sharing one runner that takes batches")
    validate_image(image)
    siamese = cast(Sequence[SiameseTracker], trackers)
    t0 = time.perf_counter()
    crops = [t.search_crop(image, scale) for t, scale in zip(siamese, search_scales, strict=True)]
    t1 = time.perf_counter()
    outputs = runner.track_search_batch(np.concatenate([crop for _, crop, _ in crops]),
                                        [t.template_state for t in siamese])
    t2 = time.perf_counter()
    share = 1e3 / len(trackers)
    timings = ((t1 - t0) * share, (t2 - t1) * share)
    return [t.finish(image, previous, output, resize_factor, timings)
            for t, (previous, _, resize_factor), output in zip(siamese, crops, outputs, strict=True)]
