"""One tracked target over time: a Tracker plus the lost/recovered monitor and, while LOST, the re-detection."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from asymtrack_ros.boxes import Box, as_box, visible_fraction
from asymtrack_ros.tracking.appearance import TargetCheck, colour_histogram, core_chromaticity
from asymtrack_ros.tracking.base import NotInitializedError, Tracker, TrackResult
from asymtrack_ros.tracking.confirmation import ConfirmationHead, LostContext
from asymtrack_ros.tracking.distractors import DistractorMemory
from asymtrack_ros.tracking.exit_motion import ExitWatch
from asymtrack_ros.tracking.monitor import LostPolicy, TargetMonitor, TrackState
from asymtrack_ros.tracking.redetection import LostSearch, RegionSearch, SearchHit
from asymtrack_ros.tracking.shot_cut import ShotCutDetector


@dataclass(frozen=True)
class FrameOutcome:
    """What one frame produced: the state, the confidence, and the box while the target is visible.

    ``score`` is the published confidence: the tracker's own score (if it has one) capped by the tracker's
    target check of the box (``Tracker.target_check``: the appearance similarity to the initial target,
    ``appearance.py``, or the model's learned verifier, ``verification.py``; while LOST the model's confirmation head,
    ``confirmation.py``, or without one the session's re-identification, which also compares with the target as last
    confidently seen). ``search_hit``: what this
    frame's re-detection hit and what the gates made of it (``redetection.SearchHit``; None when no re-detection ran
    or it hit nothing), for tracing why a return was or was not re-acquired.
    """

    state: TrackState
    target_id: str
    result: TrackResult | None
    score: float = 0.0
    search_hit: SearchHit | None = None

    @property
    def box(self) -> Box | None:
        return self.result.box if self.result is not None and self.state == TrackState.TRACKING else None


class TrackingSession:
    """Start, step and stop tracking one target.

    While LOST the search region widens around the last confidently tracked box (the anchor): a low-score
    prediction never drags the search region away from where the target was last seen. Trackers that
    can search given regions (:class:`RegionSearch`, with ``redetection`` enabled) also re-detect while LOST
    (``redetection.py``: a normal-scale crop at the anchor, optionally the whole frame; when the tracker's box left
    the view, the objects then in view are impostors, ``impostors.py``): a candidate moves the
    tracker there, and the tracker follows it while its score stays at or above ``lost_score`` (the monitor's own
    hysteresis: a returning target the check doubts for one frame, 0.47 against 0.5, is not dropped for the widened
    crop, where the network scores it 0.25), until the monitor confirms it (``recover_frames`` frames in a row at
    or above ``recover_score``: TRACKING) or the score drops under ``lost_score`` (back to the anchor). Each
    confident TRACKING frame updates the anchor and, once a recovered target has served its probation
    (``LostPolicy.probation_frames``: a look-alike remembered as the target would confirm itself), the target
    check's remembered target (``TargetCheck.remember``) and, with ``distractor_scan_every`` set, may scan the frame
    for look-alikes that a re-detection then competes with (``distractors.py``).
    """

    def __init__(self, tracker: Tracker, policy: LostPolicy) -> None:
        self.tracker = tracker
        self.monitor = TargetMonitor(policy)
        self.target_id = ""
        self._anchor: Box | None = None
        self._check: TargetCheck | None = None
        self._frame_size: tuple[int, int] = (0, 0)
        self._search: LostSearch | None = None
        self._distractors: DistractorMemory | None = None
        self._network = isinstance(tracker, RegionSearch)  # a network tracker: it scores the boxes it is sure of
        if isinstance(tracker, RegionSearch) and tracker.redetection.enabled:
            self._search = LostSearch(tracker, tracker.redetection)
        if isinstance(tracker, RegionSearch) and tracker.redetection.distractor_scan_every > 0:
            self._distractors = DistractorMemory(tracker, tracker.redetection)
        self._following = False
        self._cuts = ShotCutDetector()
        self._exits = ExitWatch()
        # the tracker's confirmation head, if any (a duck-typed tracker without the attribute has none)
        self._head: ConfirmationHead | None = getattr(tracker, "confirmation", None)
        self._context: LostContext | None = None  # with a confirmation head: what the session knows while LOST
        self._untracked = 0  # frames stepped since the last TRACKING one (or the start)

    @property
    def state(self) -> TrackState:
        return self.monitor.state

    @property
    def search_scale(self) -> float:
        """This frame's search region (times the normal one): the monitor's widening, but the normal region while
        following a re-detected candidate (the network scores a target badly in a widened crop)."""
        return 1.0 if self._following else self.monitor.search_scale

    @property
    def anchor(self) -> Box:
        """The last confidently tracked box (the initial one at first), where the LOST search centres;
        NotInitializedError before :meth:`start`."""
        if self._anchor is None:
            raise NotInitializedError()
        return self._anchor

    def lost_check(self, image: np.ndarray, box: Box) -> float:
        """What the check while LOST makes of ``box`` on ``image`` now (the confirmation head, or without one the
        re-identification; capped by the distractor memory), as the re-detection's hits are checked; raises as
        :meth:`check_frame`. It changes nothing: for tracing why a return was missed."""
        appearance, _ = self._ready(image)
        return self._candidate_check(appearance, image, box)

    def start(self, image: np.ndarray, box: Box, target_id: str) -> None:
        """Initialise on ``box`` (validated by the tracker; raises ValueError, state unchanged)."""
        self.tracker.initialize(image, box)
        self._check = self.tracker.target_check(image, box)
        self._frame_size = (image.shape[0], image.shape[1])
        self.target_id, self._anchor = target_id, as_box(box)
        self._untracked = 0
        if self._head is not None:
            colour = core_chromaticity(image, self._anchor)
            self._context = LostContext(self._frame_size, self._anchor, colour, colour,
                                        colour_histogram(image, self._anchor), 0)
        self.monitor.start()
        self._cuts.start(image)
        self._exits.reset()
        self._reset_search()
        if self._distractors is not None:
            self._distractors.reset()

    def set_policy(self, policy: LostPolicy) -> None:
        """Use ``policy`` from the next frame on (validated; ValueError leaves the current one)."""
        self.monitor.set_policy(policy)

    def stop(self) -> None:
        self.monitor.stop()
        self.target_id, self._anchor = "", None
        self._reset_search()

    def check_frame(self, image: np.ndarray) -> None:
        """ValueError when the frame size differs from the first frame's; NotInitializedError before ``start``."""
        self._ready(image)

    def _ready(self, image: np.ndarray) -> tuple[TargetCheck, Box]:
        """The target check and anchor box, once ``image`` passed :meth:`check_frame`."""
        if (image.shape[0], image.shape[1]) != self._frame_size:
            height, width = self._frame_size
            raise ValueError(f"the image size changed from {width}x{height} to {image.shape[1]}x{image.shape[0]}")
        if self._check is None or self._anchor is None:
            raise NotInitializedError()
        return self._check, self._anchor

    def step(self, image: np.ndarray, tracked: TrackResult | None = None, scan: bool = True) -> FrameOutcome:
        """Track one frame (IDLE: nothing to do); raises as :meth:`check_frame`. ``tracked``: the tracker's result on
        this frame when the caller ran it already (``tracker.track`` at :attr:`search_scale`, e.g. batched).
        ``scan``: whether this frame may run the distractor scan, optional work that a caller falling behind its
        camera skips (the node: on a frame that waited while the frame before was processed)."""
        if self.monitor.state == TrackState.IDLE:
            return FrameOutcome(TrackState.IDLE, "", None)
        appearance, anchor = self._ready(image)
        self._untracked += 1
        policy = self.monitor.policy
        was_lost = self.monitor.state == TrackState.LOST
        searching = was_lost and not self._following
        result = tracked if tracked is not None else self.tracker.track(image, search_scale=self.search_scale)
        score, out_of_view = self._score(appearance, image, result, was_lost)
        tentative = False  # a hit in the widened LOST region, to be confirmed in the normal one
        hit = None
        if searching and score < policy.recover_score:
            hit = self._redetect(image, anchor, appearance)
            if hit is not None and (candidate_score := hit.candidate_score) is not None:
                result, score, self._following = hit.result, candidate_score, True
                out_of_view = False
                self.tracker.relocate(image, result.box)
        elif searching and self.search_scale > 1.0 and policy.recover_at_normal_scale:
            tentative, self._following = True, True
            self.tracker.relocate(image, result.box)
        state = self.monitor.update(score, out_of_view, self._cuts.is_cut(image), tentative)
        if state == TrackState.TRACKING:
            self._exits.record(result.box)
            self._reset_search()
            self._untracked = 0
            if score >= policy.lost_score:
                self._anchor = result.box
                self._remember_anchor(image)
                if not self.monitor.on_probation:
                    appearance.remember(image, result.box)
            if scan and score >= policy.recover_score and self._distractors is not None:
                self._distractors.scan(image, result.box, appearance, policy.lost_score)
        else:
            self._exits.reset()
        if state == TrackState.LOST:
            if out_of_view and not was_lost and self._search is not None and self._box_left(result.box):
                self._search.left_view(result.box, self._frame_size)  # not at a motion exit: it may be in view
            self._following = self._following and score >= policy.lost_score
            if not self._following:
                self.tracker.reposition(anchor)
        return FrameOutcome(state, self.target_id, result, score, hit)

    def _score(self, appearance: TargetCheck, image: np.ndarray, result: TrackResult, lost: bool) -> tuple[float, bool]:
        """The published score of ``result`` (the tracker's score capped by the target check, :meth:`_lost_check`
        while LOST) and whether the target is out of view (then the score is 0): its box is (:meth:`_box_left`), or
        while TRACKING its motion took it out and the box did not follow (``lost_at_exit``, ``exit_motion.py``).
        While LOST, a re-detecting (network) tracker's box without a score of its own scores 0: the check alone
        confirms background that resembles the target (a pale target on a pale sky)."""
        policy, box = self.monitor.policy, result.box
        if self._box_left(box):
            return 0.0, True
        if lost and result.score is None and self._network:
            return 0.0, False  # a network tracker that did not score this box (the fusion disagrees) confirms nothing
        similarity = self._candidate_check(appearance, image, box) if lost else appearance.similarity(image, box)
        score = similarity if result.score is None else min(result.score, similarity)
        left = not lost and policy.lost_at_exit and self._exits.left_view(
            box, score, self._frame_size, policy.min_visible, policy.lost_score)
        return (0.0, True) if left else (score, False)

    def _box_left(self, box: Box) -> bool:
        """Whether ``box`` lies out of view (no more than ``LostPolicy.min_visible`` of it in the frame)."""
        return visible_fraction(box, self._frame_size) <= self.monitor.policy.min_visible

    def _redetect(self, image: np.ndarray, anchor: Box, appearance: TargetCheck) -> SearchHit | None:
        """This LOST frame's re-detection hit, if a search is due and hits something (``redetection.py``)."""
        if self._search is None:
            return None
        return self._search.search(image, anchor, lambda frame, box: self._candidate_check(appearance, frame, box),
                                   self.monitor.policy.recover_score)

    def _lost_check(self, appearance: TargetCheck, image: np.ndarray, box: Box) -> float:
        """The check of a box while LOST without a confirmation head, re-identification: the mean of the check
        against the initial target and against the target as last confidently seen (``TargetCheck.recall``) lifts a
        box that the initial check alone would keep (``lost_score``) but not confirm; a box under that stays
        rejected, so a confirmed box is not LOST again at once. With a distractor memory, that is capped by the odds
        against the look-alike it most resembles (``DistractorMemory.cap``)."""
        similarity = appearance.similarity(image, box)
        if similarity < self.monitor.policy.lost_score:
            return similarity
        recalled = appearance.recall(image, box)
        identified = similarity if recalled is None else max(similarity, (similarity + recalled) / 2)
        return self._capped(appearance, image, box, identified)

    def _candidate_check(self, appearance: TargetCheck, image: np.ndarray, box: Box) -> float:
        """The check of a box while LOST (the tracker's own box or a re-detection hit): with the tracker's
        confirmation head (``confirmation.py``, fitted on both), its probability that the box is the target given what
        the session knows of this LOST episode, capped by the distractor memory, which weighs the better evidence that
        the box is the target (that probability or the target check's own similarity) against the check's likeness
        to the closest look-alike; without a head, :meth:`_lost_check`."""
        head, context = self._head, self._context
        if head is None or context is None:
            return self._lost_check(appearance, image, box)
        lost = replace(context, lost_frames=self._untracked)
        return self._capped(appearance, image, box, head.probability(image, box, lost))

    def _capped(self, appearance: TargetCheck, image: np.ndarray, box: Box, identified: float) -> float:
        """``identified`` capped by the distractor memory, if any (``DistractorMemory.cap``)."""
        return identified if self._distractors is None else self._distractors.cap(image, box, appearance, identified)

    def _remember_anchor(self, image: np.ndarray) -> None:
        """The anchor moved: with a confirmation head, remember it and its core colour."""
        if self._context is not None and self._anchor is not None:
            self._context = replace(self._context, anchor=self._anchor,
                                    anchor_colour=core_chromaticity(image, self._anchor))

    def _reset_search(self) -> None:
        self._following = False
        if self._search is not None:
            self._search.reset()
