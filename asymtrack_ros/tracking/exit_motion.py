"""A target that leaves the view by its own motion, seen before its box does.

The session says LOST at once when the tracker's box lies mostly outside the frame (``LostPolicy.min_visible``). A
target leaving fast is often boxed elsewhere first: on the frame it is a sliver at the edge, the network jumps back
onto a look-alike near the exit (generated held-out scenes: 46 frames TRACKING a recoloured copy while the target was
away), or the correlation filter's box sticks at the edge and scores background there for ``lost_frames`` frames.
:class:`ExitWatch` keeps the last TRACKING boxes and predicts this frame's from their motion (constant velocity, the
centre's mean displacement over the last :data:`MOTION_FRAMES` frames, the size kept). When the predicted box keeps
no more than ``min_visible`` of itself in view, the target has left unless the tracker's box followed it (its centre
moved along the motion at least :data:`FOLLOW_SHARE` of the predicted displacement) and still scores at least
``lost_score``.
"""

from __future__ import annotations

from collections import deque

from asymtrack_ros.boxes import Box, centre, visible_fraction

MOTION_FRAMES = 2  # displacements averaged into the velocity
FOLLOW_SHARE = 0.5  # of the predicted displacement: a box that moved less along the motion did not follow


class ExitWatch:
    """The last TRACKING boxes of one target and whether this frame's box means it left the view (module docstring)."""

    def __init__(self) -> None:
        self._boxes: deque[Box] = deque(maxlen=MOTION_FRAMES + 1)

    def reset(self) -> None:
        """Forget the motion (a new target, or a frame that was not TRACKING)."""
        self._boxes.clear()

    def record(self, box: Box) -> None:
        """``box`` was this frame's TRACKING box."""
        self._boxes.append(box)

    def predicted(self) -> Box | None:
        """The box the motion predicts for the next frame; None before two TRACKING frames in a row."""
        if len(self._boxes) < 2:
            return None
        (first_x, first_y), (last_x, last_y) = centre(self._boxes[0]), centre(self._boxes[-1])
        steps = len(self._boxes) - 1
        x, y, width, height = self._boxes[-1]
        return x + (last_x - first_x) / steps, y + (last_y - first_y) / steps, width, height

    def left_view(self, box: Box, score: float, frame_size: tuple[int, int], min_visible: float,
                  lost_score: float) -> bool:
        """Whether this frame's ``box``, scoring ``score``, means the target left the view by its motion (module
        docstring)."""
        predicted = self.predicted()
        if predicted is None or visible_fraction(predicted, frame_size) > min_visible:
            return False
        (last_x, last_y), (predicted_x, predicted_y), (x, y) = centre(self._boxes[-1]), centre(predicted), centre(box)
        step_x, step_y = predicted_x - last_x, predicted_y - last_y
        # the box's move along the motion, times the step's length, against FOLLOW_SHARE of the step's length squared
        followed = (x - last_x) * step_x + (y - last_y) * step_y >= FOLLOW_SHARE * (step_x * step_x + step_y * step_y)
        return not followed or score < lost_score
