"""The backend-independent tracker interface: ``Tracker``, ``TrackResult``, ``DeviceInfo``."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asymtrack_ros.boxes import Box
from asymtrack_ros.tracking.appearance import AppearanceCheck, TargetCheck
from asymtrack_ros.tracking.confirmation import ConfirmationHead
from asymtrack_ros.tracking.validation import validate_box, validate_image


class NotInitializedError(RuntimeError):
    """``track()`` before a successful ``initialize()``."""

    def __init__(self) -> None:
        super().__init__("track() called before initialize()")


@dataclass(frozen=True)
class DeviceInfo:
    """Where a backend actually runs (reported in status and diagnostics)."""

    backend: str
    device: str
    providers: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, str | list[str]]:
        """The fields as a JSON-ready mapping (lists for the tuples)."""
        return {"backend": self.backend, "device": self.device, "providers": list(self.providers),
                "requested": list(self.requested), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class TrackResult:
    """One frame's output: box (x, y, w, h) in image pixels, score in [0, 1] (None: the tracker has no
    score), timings in ms; ``exit``: the early exit (1..K) that answered (DyTrack), None for other models."""

    box: Box
    score: float | None
    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0
    exit: int | None = None

    @property
    def total_ms(self) -> float:
        return self.preprocess_ms + self.inference_ms + self.postprocess_ms


class Tracker(abc.ABC):
    """Single-object tracker. Images are HxWx3 uint8 RGB arrays, boxes (x, y, w, h) in pixels."""

    model_name: str = ""
    variant: str = ""
    confirmation: ConfirmationHead | None = None  # confirms a box while LOST (``confirmation.py``); None: no head

    @property
    @abc.abstractmethod
    def device_info(self) -> DeviceInfo:
        """The backend, device and execution providers actually in use."""

    def initialize(self, image: np.ndarray, box: Box) -> None:
        """Start tracking the object in ``box`` on ``image``; resets every cached state."""
        validate_image(image)
        self._initialize(image, validate_box(box, image.shape))

    def track(self, image: np.ndarray, search_scale: float = 1.0) -> TrackResult:
        """Locate the target in ``image``; ``search_scale`` > 1 widens the search region (re-acquisition)."""
        validate_image(image)
        if not self.is_initialized:
            raise NotInitializedError()
        return self._track(image, search_scale)

    def set_exit_thresholds(self, thresholds: Sequence[float]) -> None:
        """Early-exit models: the exit thresholds from the next frame on. Other trackers have none."""
        raise ValueError(f"{type(self).__name__} has no early exits (exit_thresholds is for dytrack)")

    def reposition(self, box: Box) -> None:
        """Centre the next search on ``box`` without re-encoding the template (lost-target recovery).

        Backends that cannot move their search region ignore it.
        """
        del box

    def relocate(self, image: np.ndarray, box: Box) -> None:
        """The target was re-detected in ``box`` of ``image`` (a confirmed global-search candidate): track it from
        there. By default the same as :meth:`reposition`; trackers with a state of their own restart it there."""
        del image
        self.reposition(box)

    def target_check(self, image: np.ndarray, box: Box) -> TargetCheck:
        """The check that caps the published score of the target in ``box`` of ``image`` from now on: the
        appearance check (``appearance.py``); models with a verification head return their verifier."""
        return AppearanceCheck(image, box)

    def spawn(self) -> Tracker:
        """A tracker of the same kind and settings, without a target, for another target (sharing what can be
        shared, such as a loaded network). A tracker that cannot make one tracks one target at a time:
        NotImplementedError."""
        raise NotImplementedError(f"{type(self).__name__} tracks one target at a time (it cannot spawn another)")

    @property
    @abc.abstractmethod
    def is_initialized(self) -> bool:
        """True once ``initialize`` succeeded."""

    @abc.abstractmethod
    def _initialize(self, image: np.ndarray, box: Box) -> None: ...

    @abc.abstractmethod
    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult: ...
