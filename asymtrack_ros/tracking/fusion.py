"""A network tracker with a correlation-filter local tracker beside it (LTMU's local tracker + verifier split).

On real footage OpenCV's CSRT places boxes more precisely than our self-trained network, which drifts in scale;
the network, in turn, recovers a target that CSRT has lost (CSRT keeps tracking background and only adapts its
scale slowly) and carries the score, the re-detection and the verification. Per frame both run:

* the local tracker updates its box while the network searches around the previous fused box: the two are
  independent until they are fused, so the local update runs on a worker thread (OpenCV and ONNX Runtime release
  the GIL; the fused result is the same as one after the other, in less time). A tracker and the trackers it
  spawns for other targets share that thread;
* where the two boxes overlap (IoU >= ``agree_overlap``) the fused box is the local tracker's, with the
  network's score (the session caps it by the target check). Two boxes on one target can overlap less than
  ``rescue_overlap``: the network's box fits loosely where it has just found the target again;
* where they disagree, each box is scored by the target check (``Tracker.target_check``: the model's learned
  verifier, ``verification.py``, or the appearance check) and the fused box stays the local one, with no score
  of the tracker's own (the session publishes the check's), unless the network's box has won for
  ``rescue_frames`` frames in a row: network score >= ``rescue_score``, a check ``rescue_margin`` above the local
  box's, an area within ``rescue_area_ratio`` of the local box's (a network box that balloons over the frame is no
  rescue). Then the network's box wins and the local tracker restarts on it (candidate association between two
  trackers, in the manner of KeepTrack: a look-alike the network jumps to must also look more like the target);
* where they disagree and the network's best box scores under ``veto_score``, the local box carries that score:
  the network finds no target in a search region that holds the local box, as when a correlation filter follows
  background after the target left or the view cut to another scene (0: off; the default 0.35 is the level under
  which the session counts a frame towards LOST);
* unless the veto is weak and the target check of the local box reaches ``check_overrules_veto`` (0: never) on
  continuous footage: the network's mean score over the last ``overrule_frames`` frames is at least
  ``overrule_min_score`` and no shot cut (``shot_cut.py``) came since the target was set. Then the local box keeps
  the check's score. The network trained on our generated scenes misses some real targets that the local tracker
  follows and the check still recognises (walkers in an old black-and-white film: network 0.1-0.3); where the
  network finds nothing at all (0.04-0.09 on pale sky that a pale target left behind) the check's praise of the
  local box is not trusted; after a cut the local tracker's box follows whatever now lies there and the check can
  mistake a look-alike (another face) for the target, so the veto stands. The mean keeps a network that hovers at
  the threshold from flipping the score frame by frame (then a rounding difference between two CPUs decided
  whether five low frames came in a row and said LOST);
* where the network, confident (not vetoed), has put the target away from the fused box for more than
  ``unscored_frames`` frames in a row (0: never), the fused box scores 0 until the two agree again, the network
  vetoes, or the tracker is moved to a re-detected target: a correlation filter stuck on background at the frame's
  edge after the target left, or on a patch of background the target passed, otherwise stays TRACKING on the check
  alone (on generated training runs, of the frames 25 or more into such a run that the check kept at ``lost_score``
  or more, 103 did not touch the target and 57 did);
* when the session moves the tracker while LOST (``reposition`` to the last confident box), only the network's
  search moves; the local tracker follows when the network's box wins there as above. A global re-detection
  candidate the session accepted (``relocate``) restarts the local tracker on it.

The score, the device and the region search (``redetection.py``) are the network's. The settings that suit a
model live in ``model.json`` (``"fusion"``); ``local_tracker`` "" (or "none") switches the fusion off.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from asymtrack_ros.boxes import Box, as_box, box_iou, similar_area
from asymtrack_ros.tracking.appearance import TargetCheck
from asymtrack_ros.tracking.base import DeviceInfo, NotInitializedError, Tracker, TrackResult
from asymtrack_ros.tracking.monitor import LostPolicy
from asymtrack_ros.tracking.opencv_backend import OpenCVTracker, available_algorithms
from asymtrack_ros.tracking.redetection import RedetectionSettings
from asymtrack_ros.tracking.shot_cut import ShotCutDetector
from asymtrack_ros.tracking.siamese import SiameseTracker

LOGGER = logging.getLogger(__name__)
OFF = ("", "none")
MAX_FRAMES = 10_000


@dataclass(frozen=True)
class FusionSettings:
    """The local tracker (OpenCV algorithm, "" off, with ``local_params`` for its OpenCV ``Params``) and when the
    network overrules it (module docstring)."""

    local_tracker: str = ""
    local_params: Mapping[str, bool | int | float] = field(default_factory=dict)
    rescue_frames: int = 5
    rescue_score: float = 0.6
    rescue_overlap: float = 0.5
    rescue_margin: float = 0.3
    rescue_area_ratio: float = 2.0
    veto_score: float = LostPolicy.lost_score
    check_overrules_veto: float = 0.0
    overrule_min_score: float = 0.0
    overrule_frames: int = 1
    agree_overlap: float = 0.5
    unscored_frames: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.local_tracker, str):
            raise ValueError(f"local_tracker must be a string, got {self.local_tracker!r}")
        if not isinstance(self.local_params, Mapping) or not all(
                isinstance(key, str) and isinstance(value, bool | int | float)
                for key, value in self.local_params.items()):
            raise ValueError(f"local_params must map names to numbers or booleans, got {self.local_params!r}")
        for name, lowest in (("rescue_frames", 1), ("overrule_frames", 1), ("unscored_frames", 0)):
            value = getattr(self, name)
            if not (isinstance(value, int) and lowest <= value <= MAX_FRAMES):
                raise ValueError(f"{name} must be an integer in [{lowest}, {MAX_FRAMES}], got {value!r}")
        for name in ("rescue_score", "rescue_overlap", "rescue_margin", "veto_score", "check_overrules_veto",
                     "overrule_min_score", "agree_overlap"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if not (math.isfinite(self.rescue_area_ratio) and self.rescue_area_ratio >= 1.0):
            raise ValueError(f"rescue_area_ratio must be a finite number >= 1, got {self.rescue_area_ratio!r}")

    @property
    def enabled(self) -> bool:
        return self.local_tracker.lower() not in OFF

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FusionSettings:
        """From ``model.json``'s ``"fusion"`` object; unknown keys or bad values raise ValueError."""
        if not isinstance(values, Mapping):
            raise ValueError(f"fusion must be an object, got {values!r}")
        unknown = set(values) - set(FUSION_KEYS)
        if unknown:
            raise ValueError(f"unknown fusion keys {sorted(unknown)}; expected {sorted(FUSION_KEYS)}")
        for key, value in values.items():
            if key in NUMBER_KEYS and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"bad fusion value {key}={value!r}: not a number")
        settings: dict[str, Any] = dict(values)
        for key in ("rescue_frames", "overrule_frames", "unscored_frames"):
            if isinstance(settings.get(key), float) and settings[key].is_integer():
                settings[key] = int(settings[key])
        return cls(**settings)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def with_local_tracker(self, local_tracker: str | None) -> FusionSettings:
        """A copy with ``local_tracker`` replaced (None: keep it)."""
        return self if local_tracker is None else FusionSettings(**{**asdict(self), "local_tracker": local_tracker})


FUSION_KEYS = tuple(field.name for field in fields(FusionSettings))
NUMBER_KEYS = tuple(key for key in FUSION_KEYS if key not in ("local_tracker", "local_params"))
NO_FUSION = FusionSettings()


class FusedTracker(Tracker):
    """A :class:`SiameseTracker` and a local tracker fused per frame (module docstring)."""

    def __init__(self, network: SiameseTracker, local_factory: Callable[[], Tracker], settings: FusionSettings,
                 worker: ThreadPoolExecutor | None = None) -> None:
        self.network, self.local_factory, self.settings = network, local_factory, settings
        self.local = local_factory()
        self.model_name, self.variant, self.confirmation = network.model_name, network.variant, network.confirmation
        self._disagreements = 0
        self._unscored = 0  # frames in a row the confident network put the target away from the fused box
        self._cuts = ShotCutDetector()  # frame to frame, since the target was set
        self._continuous = True  # no shot cut since the target was set: the local tracker's box has followed it
        self._network_scores: deque[float] = deque(maxlen=settings.overrule_frames)  # the latest, for the overrule
        self._local_box: Box | None = None  # the local tracker's box of the last frame
        self._check: TargetCheck | None = None
        self._check_source: tuple[np.ndarray | None, Box] = (None, (0.0, 0.0, 0.0, 0.0))
        # the thread of the local updates, one for a tracker and the trackers it spawns (its other targets: their
        # updates queue there while one batched network pass runs, instead of contending for the cores)
        self._worker = worker or ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-tracker")
        self._pending: tuple[np.ndarray, Future[TrackResult]] | None = None  # a local update under way

    @property
    def device_info(self) -> DeviceInfo:
        info = self.network.device_info
        return DeviceInfo(info.backend, info.device, (*info.providers, *self.local.device_info.providers),
                          info.requested, info.warnings)

    @property
    def is_initialized(self) -> bool:
        return self.network.is_initialized and self.local.is_initialized

    @property
    def redetection(self) -> RedetectionSettings:
        return self.network.redetection

    @property
    def search_factor(self) -> float:
        return self.network.search_factor

    def search_regions(self, image: np.ndarray, boxes: Sequence[Box]) -> list[TrackResult]:
        return self.network.search_regions(image, boxes)

    def target_check(self, image: np.ndarray, box: Box) -> TargetCheck:
        """The check the fusion built for this target (the same image and box as ``initialize``), else a new one."""
        if self._check is not None and self._check_source[0] is image and self._check_source[1] == as_box(box):
            return self._check
        return self.network.target_check(image, box)

    def set_exit_thresholds(self, thresholds: Sequence[float]) -> None:
        self.network.set_exit_thresholds(thresholds)

    def reposition(self, box: Box) -> None:
        """Centre the network's next search on ``box``; the local tracker moves there only when the network's
        box wins there (``_fuse``)."""
        self.network.reposition(box)

    def relocate(self, image: np.ndarray, box: Box) -> None:
        """A re-detected target: both parts restart from ``box`` (the local tracker learns it anew there), unless
        the local tracker's last box is on it already (IoU >= ``rescue_overlap``): then it found the target itself
        and keeps its own, better fitted box."""
        self._settle()
        local_box = self._local_box
        if local_box is not None and box_iou(local_box, box) >= self.settings.rescue_overlap:
            self.network.reposition(local_box)
        else:
            self.network.reposition(box)
            self.local.initialize(image, box)
        self._disagreements = self._unscored = 0

    def spawn(self) -> FusedTracker:
        return FusedTracker(self.network.spawn(), self.local_factory, self.settings, self._worker)

    def start_local(self, image: np.ndarray) -> None:
        """Start the local tracker's update on ``image`` on the worker thread; :meth:`track_with` on the same image
        takes its result (a caller that searches for several targets in one pass starts them all first)."""
        if self._pending is not None and self._pending[0] is image:
            return
        self._settle()
        self._pending = (image, self._worker.submit(self.local.track, image))

    def _local_track(self, image: np.ndarray) -> TrackResult:
        """The local tracker's result on ``image``: the update started for it, or one run now."""
        pending = self._pending
        if pending is not None and pending[0] is image:
            self._pending = None
            return pending[1].result()
        self._settle()
        return self.local.track(image)

    def _settle(self) -> None:
        """Wait for an update nobody took (its image was not tracked), so that the local tracker is idle."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending[1].exception()

    def _initialize(self, image: np.ndarray, box: Box) -> None:
        self._settle()
        self.network.initialize(image, box)
        self.local.initialize(image, box)
        self._local_box = None
        self._check = self.network.target_check(image, box)
        self._check_source = (image, as_box(box))
        self._disagreements = self._unscored = 0
        self._cuts.start(image)
        self._continuous = True
        self._network_scores.clear()

    def _track(self, image: np.ndarray, search_scale: float) -> TrackResult:
        self.start_local(image)
        try:
            found = self.network.track(image, search_scale)
        except Exception:
            self._settle()
            raise
        return self.track_with(image, found)

    def track_with(self, image: np.ndarray, found: TrackResult) -> TrackResult:
        """This frame's fused result, given the network's result ``found`` on it (e.g. from a batched pass)."""
        local = self._local_track(image)
        self._local_box = local.box
        box = self._fuse(image, found, local.box)
        self.network.reposition(box)
        agrees = box == found.box or box_iou(box, found.box) >= self.settings.agree_overlap
        vetoed = found.score is not None and found.score < self.settings.veto_score
        if self.settings.check_overrules_veto and self._cuts.is_cut(image):
            self._continuous = False
        if found.score is not None:
            self._network_scores.append(found.score)
        overruled = vetoed and self._overruled(image, box)
        score = found.score if (agrees or vetoed) and not overruled else None
        self._unscored = 0 if agrees or vetoed else self._unscored + 1
        if self.settings.unscored_frames and self._unscored > self.settings.unscored_frames:
            score = 0.0
        return TrackResult(box, score, found.preprocess_ms, found.inference_ms + local.total_ms, found.postprocess_ms,
                           found.exit)

    def _overruled(self, image: np.ndarray, box: Box) -> bool:
        """Whether the target check of the local ``box`` overrules this frame's veto: the check reaches
        ``check_overrules_veto`` (0: never), the network's mean score over the last ``overrule_frames`` frames
        ``overrule_min_score``, and no shot cut came since the target was set."""
        settings = self.settings
        return (bool(settings.check_overrules_veto) and self._continuous
                and sum(self._network_scores) / len(self._network_scores) >= settings.overrule_min_score
                and self._target_check().similarity(image, box) >= settings.check_overrules_veto)

    def _fuse(self, image: np.ndarray, found: TrackResult, local_box: Box) -> Box:
        """The local box, or the network's after ``rescue_frames`` frames won in a row (restarting the local)."""
        if not self._network_wins(image, found, local_box):
            self._disagreements = 0
            return local_box
        self._disagreements += 1
        if self._disagreements < self.settings.rescue_frames:
            return local_box
        self.local.initialize(image, found.box)
        self._disagreements = 0
        return found.box

    def _network_wins(self, image: np.ndarray, found: TrackResult, local_box: Box) -> bool:
        """The network's box disagrees with the local one, is confident, and looks more like the target."""
        settings = self.settings
        if (found.score is None or found.score < settings.rescue_score
                or box_iou(found.box, local_box) >= settings.rescue_overlap
                or not similar_area(found.box, local_box, settings.rescue_area_ratio)):
            return False
        check = self._target_check()
        margin = check.similarity(image, found.box) - check.similarity(image, local_box)
        return margin >= settings.rescue_margin

    def _target_check(self) -> TargetCheck:
        """The check built for this target at ``initialize``."""
        if self._check is None:
            raise NotInitializedError()
        return self._check


def network_threads(threads: int | None, settings: FusionSettings, spinning: bool = True) -> int | None:
    """The network's share of ``threads`` CPU threads (None: one per CPU this process may run on). An enabled
    fusion's local tracker runs beside the network's pass on a thread of its own: with ``spinning`` idle network
    threads it takes one of them (at least one is left); with sleeping ones the network keeps them all, and the two
    share the cores (the re-detection, the look-alike scan and the check run when the local tracker is idle)."""
    return max(1, (threads or usable_cpus()) - 1) if fuses(settings) and spinning else threads


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, e.g. a container's cpuset), else all of them."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fuses(settings: FusionSettings) -> bool:
    """Whether ``settings`` fuse a local tracker in this OpenCV build: enabled, and the tracker is in it."""
    return settings.enabled and settings.local_tracker.lower() in available_algorithms()


def with_local_tracker(network: SiameseTracker, settings: FusionSettings) -> Tracker:
    """``network`` fused with the OpenCV tracker ``settings.local_tracker``, or ``network`` itself when that is off
    or this OpenCV build lacks it (CSRT and KCF come with opencv-contrib; a warning says so)."""
    algorithm = settings.local_tracker.lower()
    if not fuses(settings):
        if settings.enabled:
            LOGGER.warning("local tracker %r not in this OpenCV build (available: %s): the network tracks alone",
                           algorithm, ", ".join(available_algorithms()))
        return network
    return FusedTracker(network, lambda: OpenCVTracker(algorithm, settings.local_params), settings)
