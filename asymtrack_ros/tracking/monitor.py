"""Lost-target detection and recovery: the IDLE -> TRACKING -> LOST -> TRACKING state machine."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum

MAX_STREAK = 10_000  # frames
MAX_SEARCH_SCALE = 8.0  # times the normal search region


class TrackState(IntEnum):
    """Tracking states (values equal asymtrack_ros/msg/TrackerStatus constants)."""

    IDLE = 0
    TRACKING = 1
    LOST = 2
    ERROR = 3


@dataclass(frozen=True)
class LostPolicy:
    """When the target counts as lost or recovered, and how the search widens meanwhile.

    Lost after ``lost_frames`` consecutive scores under ``lost_score``, or at once when no more than
    ``min_visible`` of the tracker's box lies inside the image (the target left the view: a correlation filter
    hangs its box half over the border and keeps scoring background there; 0 = never), or at once, with
    ``lost_at_exit`` (off by default: on the development sets it cut absent TRACKING by 18 % and cost one return in
    138), when the target's own motion has taken it out of view by that measure and the box did not follow it or
    scores under ``lost_score`` (``exit_motion.py``: a box that jumps back onto a look-alike as the target leaves, or
    sticks at the edge), or at once when a frame at
    a shot cut (``shot_cut.py``) scores under ``lost_score`` and ``lost_at_cut`` is set (after a cut a correlation
    filter boxes whatever now lies where the target was); recovered after
    ``recover_frames`` consecutive scores at or above ``recover_score``, or after a score at or above ``recover_score``
    and ``follow_frames`` more in a row at or above ``lost_score`` (a returned target moving away from where it left
    scores between the two while the confirmation doubts a box far from the anchor; 0 = off). A recovered target is on
    probation for
    its next ``probation_frames`` frames: one score under ``lost_score`` says LOST again at once (a look-alike
    confirmed by two lucky frames often drops, a returned target seldom does; 0 = off). While lost, the search
    region grows by ``search_step`` (times the normal size) per frame up to ``max_search_scale``; with
    ``recover_at_normal_scale`` a score in that widened region counts towards recovery no more (the session follows
    the box and scores it in the normal region: a widened crop shows a large target smaller than the network was
    trained on, and it scored another face 0.85 there against 0.2-0.6 in the normal region).
    """

    lost_score: float = 0.35
    recover_score: float = 0.5
    lost_frames: int = 5
    recover_frames: int = 2
    follow_frames: int = 2
    probation_frames: int = 10
    recover_at_normal_scale: bool = True
    search_step: float = 0.25
    max_search_scale: float = 2.5
    min_visible: float = 0.6
    lost_at_cut: bool = True
    lost_at_exit: bool = False

    def validate(self) -> None:
        """Raise ValueError naming the first field of the wrong type (an integer serves as a real, nothing else as a
        boolean or a count) or the first inconsistent or out-of-range one."""
        for field in fields(self):
            value, default = getattr(self, field.name), field.default
            kinds = (int, float) if isinstance(default, float) else (type(default),)
            if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kinds):
                raise ValueError(f"{field.name} must be {type(default).__name__}, got {value!r}")
        if not (0.0 <= self.lost_score <= 1.0 and 0.0 <= self.recover_score <= 1.0):
            raise ValueError("lost_score and recover_score must lie in [0, 1]")
        if self.recover_score < self.lost_score:
            raise ValueError(f"recover_score {self.recover_score} must be >= lost_score {self.lost_score}")
        if not (1 <= self.lost_frames <= MAX_STREAK and 1 <= self.recover_frames <= MAX_STREAK):
            raise ValueError(f"lost_frames and recover_frames must lie in [1, {MAX_STREAK}]")
        if not (0 <= self.probation_frames <= MAX_STREAK and 0 <= self.follow_frames <= MAX_STREAK):
            raise ValueError(f"probation_frames and follow_frames must lie in [0, {MAX_STREAK}]")
        if not 0.0 <= self.search_step <= MAX_SEARCH_SCALE:
            raise ValueError(f"search_step must lie in [0, {MAX_SEARCH_SCALE:g}]")
        if not 0.0 <= self.min_visible < 1.0:
            raise ValueError("min_visible must lie in [0, 1)")
        if not 1.0 <= self.max_search_scale <= MAX_SEARCH_SCALE:
            raise ValueError(f"max_search_scale must lie in [1, {MAX_SEARCH_SCALE:g}]")


class TargetMonitor:
    """Turns per-frame scores into a tracking state and a search-region scale."""

    def __init__(self, policy: LostPolicy) -> None:
        policy.validate()
        self.policy = policy
        self.state = TrackState.IDLE
        self.search_scale = 1.0
        self._streak = 0
        self._probation = 0  # frames of probation left (``LostPolicy.probation_frames``)
        self._followed: int | None = None  # while LOST: frames at or above lost_score since one at recover_score

    @property
    def on_probation(self) -> bool:
        """Whether a recovered target is still on probation (``LostPolicy.probation_frames``)."""
        return self._probation > 0

    def set_policy(self, policy: LostPolicy) -> None:
        """Replace the policy (validated first); the state and streak carry over."""
        policy.validate()
        self.policy = policy

    def start(self) -> None:
        """A new target: TRACKING with the normal search region."""
        self.state, self.search_scale, self._streak, self._probation = TrackState.TRACKING, 1.0, 0, 0
        self._followed = None

    def stop(self) -> None:
        """Back to IDLE."""
        self.start()
        self.state = TrackState.IDLE

    def update(self, score: float, out_of_view: bool = False, cut: bool = False, tentative: bool = False) -> TrackState:
        """Account for one frame's score; a frame whose box is out of view (``min_visible``) turns TRACKING into
        LOST at once and never counts towards recovery, as does a low score at a shot ``cut`` (``lost_at_cut``).
        A ``tentative`` LOST frame (its score is not comparable: measured in the widened search region) restarts the
        recovery counts without widening the search further. A recovered target's first frames are on probation
        (``probation_frames``). Returns the new state."""
        policy = self.policy
        score = 0.0 if out_of_view else score
        if self.state == TrackState.TRACKING:
            low = score < policy.lost_score
            self._streak = self._streak + 1 if low else 0
            doubted, self._probation = low and self._probation > 0, max(self._probation - 1, 0)
            if self._streak >= policy.lost_frames or out_of_view or (low and cut and policy.lost_at_cut) or doubted:
                self.state, self._streak, self._probation = TrackState.LOST, 0, 0
                self.search_scale = min(1.0 + policy.search_step, policy.max_search_scale)
        elif self.state == TrackState.LOST and tentative:
            self._streak, self._followed = 0, None
        elif self.state == TrackState.LOST:
            self._streak = self._streak + 1 if score >= policy.recover_score else 0
            self._followed = self._follow(score)
            followed = policy.follow_frames > 0 and (self._followed or 0) >= policy.follow_frames
            if self._streak >= policy.recover_frames or followed:
                self.start()
                self._probation = policy.probation_frames
            elif self._streak == 0:
                self.search_scale = min(self.search_scale + policy.search_step, policy.max_search_scale)
        return self.state

    def _follow(self, score: float) -> int | None:
        """The LOST frames at or above ``lost_score`` since one at or above ``recover_score``, with this frame's
        ``score`` (None: no such run)."""
        if score < self.policy.lost_score:
            return None
        if self._followed is not None:
            return self._followed + 1
        return 0 if score >= self.policy.recover_score else None
