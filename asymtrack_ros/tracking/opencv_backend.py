"""OpenCV baseline backend: the classical CSRT, KCF (contrib build) or MIL tracker behind the Tracker interface.

Score: OpenCV's trackers expose no confidence, so ``TrackResult.score`` is None (when an update fails
the box stays where it was). ``search_scale`` is ignored (these trackers search a fixed neighbourhood).
Frames are RGB; OpenCV expects BGR, so each frame is converted (counted as preprocessing).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from asymtrack_ros.boxes import Box, as_box
from asymtrack_ros.tracking.base import DeviceInfo, NotInitializedError, Tracker, TrackResult

# algorithm -> class name; CSRT and KCF come with opencv-contrib, MIL with every build.
ALGORITHMS = {"csrt": "TrackerCSRT", "kcf": "TrackerKCF", "mil": "TrackerMIL"}


def available_algorithms() -> list[str]:
    """Algorithms this OpenCV build provides."""
    return [name for name, cls in ALGORITHMS.items() if hasattr(cv2, cls)]


def default_algorithm() -> str:
    """CSRT when the contrib build is installed, MIL otherwise."""
    return "csrt" if "csrt" in available_algorithms() else "mil"


class OpenCVTracker(Tracker):
    """One OpenCV tracker instance per target (re-created by every ``initialize``)."""

    def __init__(self, algorithm: str | None = None, params: Mapping[str, bool | int | float] | None = None) -> None:
        algorithm = (algorithm or default_algorithm()).lower()
        if algorithm not in available_algorithms():
            raise ValueError(
                f"OpenCV tracker {algorithm!r} not available in OpenCV {cv2.__version__}; "
                f"available: {available_algorithms()} (csrt/kcf need opencv-contrib-python)"
            )
        self.algorithm = algorithm
        self.params = dict(params or {})
        self.model_name, self.variant = "opencv", algorithm
        self._tracker_class = getattr(cv2, ALGORITHMS[algorithm])
        self._params()  # ValueError now for an unknown or mistyped parameter
        self._tracker: cv2.Tracker | None = None
        self._box: Box | None = None
        self._device_info = DeviceInfo(backend="opencv", device="cpu", providers=(f"OpenCV {cv2.__version__}",))

    @property
    def device_info(self) -> DeviceInfo:
        return self._device_info

    @property
    def is_initialized(self) -> bool:
        return self._box is not None

    def spawn(self) -> OpenCVTracker:
        return OpenCVTracker(self.algorithm, self.params)

    def _factory(self) -> cv2.Tracker:
        """A new OpenCV tracker of the algorithm with :attr:`params`."""
        return self._tracker_class.create(self._params())

    def _params(self) -> Any:
        """The algorithm's OpenCV ``Params`` with :attr:`params` set (ValueError naming a bad one)."""
        values = getattr(cv2, f"{ALGORITHMS[self.algorithm]}_Params")()
        for name, value in self.params.items():
            if name.startswith("_") or not hasattr(values, name):
                known = sorted(key for key in dir(values) if not key.startswith("_"))
                raise ValueError(f"OpenCV {self.algorithm} has no parameter {name!r} (its parameters: {known})")
            try:
                setattr(values, name, value)
            except (TypeError, cv2.error) as error:
                raise ValueError(f"bad OpenCV {self.algorithm} parameter {name}={value!r}: {error}") from error
        return values

    def _initialize(self, image: np.ndarray, box: Box) -> None:
        self._tracker, self._box = None, None
        tracker = self._factory()
        try:
            tracker.init(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), tuple(round(v) for v in box))
        except cv2.error as error:  # e.g. a box of a pixel or two: a bad request, not a failure of the tracker
            raise ValueError(f"OpenCV {self.algorithm} cannot start on box {tuple(box)}: {error.err}") from error
        self._tracker, self._box = tracker, box

    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult:
        del search_scale  # fixed search neighbourhood
        if self._tracker is None or self._box is None:
            raise NotInitializedError()
        t0 = time.perf_counter()
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        t1 = time.perf_counter()
        located, box = self._tracker.update(bgr)
        t2 = time.perf_counter()
        if located:
            self._box = as_box(box)
        return TrackResult(
            box=self._box, score=None,
            preprocess_ms=(t1 - t0) * 1e3, inference_ms=(t2 - t1) * 1e3,
        )


def create(
    algorithm: str | None = None, threads: int | None = None, device: str = "cpu",
    params: Mapping[str, bool | int | float] | None = None,
) -> OpenCVTracker:
    """OpenCV tracker; ``algorithm`` csrt|kcf|mil (default: csrt with contrib, else mil), ``params`` values of its
    OpenCV ``Params`` (e.g. ``{"use_segmentation": False}`` for CSRT).

    OpenCV's trackers run on the CPU (``device`` cpu or auto). ``threads`` sets ``cv2.setNumThreads``
    (process-wide).
    """
    if device not in ("cpu", "auto"):
        raise ValueError(f"the opencv backend runs on the CPU only, got device {device!r}")
    if threads:
        cv2.setNumThreads(threads)
    return OpenCVTracker(algorithm, params)
