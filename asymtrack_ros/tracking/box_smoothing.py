"""Motion priors on the network's box: a Hann window on the corner maps and damped size changes.

The official AsymTrack and HiT trackers take the network's box as is; :data:`NO_SMOOTHING` (the default)
keeps that behaviour bit for bit. Siamese trackers have long added two priors, that the target stays near
the centre of the search region and that its size changes slowly (SiamFC/SiamRPN's cosine window and size
learning rate, OSTrack's Hann window). They matter most for a model trained on little data, whose box
otherwise balloons onto the background after one bad frame.

* ``window_influence`` w: each corner probability map ``p`` becomes ``p * ((1 - w) + w * hann)``,
  renormalised, before the soft-argmax (0: off).
* ``size_update_rate`` r: the box keeps the predicted centre; its width and height move the share
  ``r * score`` (``score``: the corner-map confidence in [0, 1]) of the way from the previous to the predicted
  size, so an uncertain prediction changes the size less (SiamRPN's size learning rate; 1: off).
* ``max_scale_step`` s: the predicted width and height are first bounded to a factor ``s`` of the previous
  ones (inf: off), then damped as above.
* ``hold_score`` h: below this score the box stays where it was (0: off). A model trained to flatten its
  corner maps when the target is absent predicts a shrinking box near the crop centre there; holding the box
  keeps the search region where the target was last seen, the right place to find it again.

The values that suit a model live in its ``model.json`` (``"tracker"`` section, see ``manifest.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from asymtrack_ros.tracking.base import Box


@dataclass(frozen=True)
class BoxSmoothing:
    """The priors of the module docstring; the defaults switch every one off."""

    window_influence: float = 0.0
    size_update_rate: float = 1.0
    max_scale_step: float = math.inf
    hold_score: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.window_influence <= 1.0:
            raise ValueError(f"window_influence must be in [0, 1], got {self.window_influence!r}")
        if not 0.0 < self.size_update_rate <= 1.0:
            raise ValueError(f"size_update_rate must be in (0, 1], got {self.size_update_rate!r}")
        if not self.max_scale_step >= 1.0:
            raise ValueError(f"max_scale_step must be >= 1 (inf: no bound), got {self.max_scale_step!r}")
        if not 0.0 <= self.hold_score <= 1.0:
            raise ValueError(f"hold_score must be in [0, 1], got {self.hold_score!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> BoxSmoothing:
        """From a mapping of field names to numbers (``model.json``); unknown keys raise ValueError."""
        known = {field.name for field in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown box smoothing keys {sorted(unknown)}; expected {sorted(known)}")
        try:
            return cls(**{key: float(value) for key, value in values.items()})
        except (TypeError, ValueError) as error:
            raise ValueError(f"bad box smoothing values {dict(values)!r}: {error}") from error

    def to_json(self) -> dict[str, float | str]:
        """JSON-safe mapping (``inf`` written as the string ``"inf"``, which :meth:`from_mapping` reads back)."""
        return {key: "inf" if value == math.inf else value for key, value in asdict(self).items()}

    def replace(self, **overrides: float | None) -> BoxSmoothing:
        """A copy with the given fields set (``None`` values leave a field as it is)."""
        return BoxSmoothing(**{**asdict(self), **{k: float(v) for k, v in overrides.items() if v is not None}})

    def corner_box(self, prob_tl: np.ndarray, prob_br: np.ndarray, feat_size: int) -> np.ndarray:
        """Soft-argmax box (cx, cy, w, h), normalised to the crop, of windowed (1, fs*fs) corner maps."""
        hann = np.hanning(feat_size + 2)[1:-1]
        window = (1.0 - self.window_influence) + self.window_influence * np.outer(hann, hann)
        cells = np.arange(feat_size, dtype=np.float64) / feat_size
        corners = []
        for prob in (prob_tl, prob_br):
            weighted = prob.reshape(feat_size, feat_size).astype(np.float64) * window
            weighted /= weighted.sum()
            corners += [float(weighted.sum(axis=0) @ cells), float(weighted.sum(axis=1) @ cells)]
        x1, y1, x2, y2 = corners
        return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dtype=np.float32)

    def update(self, previous: Box, predicted: Box, score: float) -> Box:
        """The next box: ``previous`` while ``score`` is below the hold score, else :meth:`damp_size`."""
        return previous if score < self.hold_score else self.damp_size(previous, predicted, score)

    def damp_size(self, previous: Box, predicted: Box, score: float) -> Box:
        """``predicted`` re-sized around its centre by the size update rate and the per-frame bound."""
        if self.size_update_rate == 1.0 and self.max_scale_step == math.inf:
            return predicted
        share = 1.0 if self.size_update_rate == 1.0 else self.size_update_rate * min(max(score, 0.0), 1.0)
        sizes = []
        for old, new in ((previous[2], predicted[2]), (previous[3], predicted[3])):
            bounded = min(max(new, old / self.max_scale_step), old * self.max_scale_step)
            sizes.append(old + share * (bounded - old))
        cx, cy = predicted[0] + 0.5 * predicted[2], predicted[1] + 0.5 * predicted[3]
        return cx - 0.5 * sizes[0], cy - 0.5 * sizes[1], sizes[0], sizes[1]


NO_SMOOTHING = BoxSmoothing()


@dataclass(frozen=True)
class SmoothingOverrides:
    """Single :class:`BoxSmoothing` values that replace a model's own (``None``: keep the model's value)."""

    window_influence: float | None = None
    size_update_rate: float | None = None
    max_scale_step: float | None = None
    hold_score: float | None = None

    def apply(self, smoothing: BoxSmoothing) -> BoxSmoothing:
        """``smoothing`` with these values set (validated by :class:`BoxSmoothing`)."""
        return smoothing.replace(**asdict(self))


NO_OVERRIDES = SmoothingOverrides()
