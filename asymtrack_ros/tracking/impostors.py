"""Impostors: objects in view as the target left it, followed through the LOST frames after.

A target that left the view comes back through an edge, some frames later. A look-alike in view as it left (a
recoloured copy beside it, another walker) is what the re-detection finds first, and the check may find it as like
the target as the target itself (on leave-view-heldout2 a copy of a squirrel, standing on the same orange the target
was selected on, checked 0.63). So, on the first :data:`WATCH_FRAMES` LOST frames after the tracker's box left the
view, a hit the network is sure of (:data:`SEED_SCORE`) that does not touch the edges the target left by is another
object, an impostor. Each is followed from frame to frame: a later hit whose centre lies within :data:`STEP` of its
side per frame since it was last seen (up to :data:`MAX_GAP` frames' worth) and whose area and shape lie within
:data:`MAX_SIZE_CHANGE` of its own continues it and is not the target either, until it goes unseen for
:data:`MEMORY_FRAMES` frames. The search crops of one frame box an object differently (a narrow and a wide box of
one copy, 1.6 times the area), so a hit is compared with each of its boxes on the last :data:`SIGHTING_FRAMES`
frames it was seen on (compared with its latest box alone, a copy's wide box failed the size test, counted as no
impostor and was confirmed as the target). (Reaching half its side per frame for up to 4 frames, with no size check,
an impostor took over returning targets that passed beside it.) A hit that touches the exit edges is never an
impostor: the target comes back there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from asymtrack_ros.boxes import Box, Sides, aspect_change, box_side, centre, exit_sides, similar_area

WATCH_FRAMES = 3  # LOST frames after the exit in which the target cannot be back
STEP = 0.25  # of an impostor's side: how far its centre may move per frame
MAX_GAP = 2  # frames: the reach stops growing after this many unseen frames
MAX_SIZE_CHANGE = 1.5  # an impostor keeps its area and its shape (width over height) within this factor
MEMORY_FRAMES = 15  # an impostor unseen this long is forgotten
SEED_SCORE = 0.5  # a new impostor: a hit the network is this sure of (weaker ones are background, never confirmed)
SIGHTING_FRAMES = 2  # an impostor is continued from its boxes on this many frames: the frame before and this one


@dataclass
class Impostor:
    """Where an impostor was seen: its boxes with their LOST frame, on the last :data:`SIGHTING_FRAMES` frames it was
    seen on (the search crops of one frame may box it differently, one narrow and one wide)."""

    sightings: list[tuple[Box, int]]

    @property
    def seen(self) -> int:
        """The LOST frame it was last seen on."""
        return self.sightings[-1][1]

    def add(self, box: Box, frame: int) -> None:
        """Seen in ``box`` on LOST frame ``frame`` (the latest so far)."""
        self.sightings.append((box, frame))
        kept = sorted({seen for _, seen in self.sightings})[-SIGHTING_FRAMES:]
        self.sightings = [sighting for sighting in self.sightings if sighting[1] in kept]

    def continued_by(self, box: Box, frame: int) -> bool:
        """Whether ``box`` on LOST frame ``frame`` is where this object has moved from one of its sightings."""
        return any(moved_to(seen_box, seen, box, frame) for seen_box, seen in self.sightings)


class ImpostorTracks:
    """The impostors of one LOST episode (module docstring)."""

    def __init__(self) -> None:
        self.tracks: list[Impostor] = []
        self.exit_sides: Sides | None = None  # None: the episode did not start with an exit
        self._frame_size = (0, 0)

    def reset(self) -> None:
        """Forget the impostors and the exit (tracking again, or a new target)."""
        self.tracks, self.exit_sides = [], None

    def left_view(self, box: Box, frame_size: tuple[int, int]) -> None:
        """The target's ``box`` left a frame of ``frame_size`` (height, width) across the edges it touches
        (``boxes.exit_sides``): watch from now on."""
        self.tracks, self.exit_sides, self._frame_size = [], exit_sides(box, frame_size), frame_size

    def claims(self, box: Box, score: float, frame: int) -> bool:
        """Whether ``box``, hit with network ``score`` on LOST frame ``frame``, is an impostor: it continues one
        (which then moves there), or the watch is on and it is a confident new one (``score`` at least
        :data:`SEED_SCORE`). A hit that touches the exit edges is none: the target comes back there."""
        self.tracks = [track for track in self.tracks if frame - track.seen <= MEMORY_FRAMES]
        if self.exit_sides is not None and exit_sides(box, self._frame_size) & self.exit_sides:
            return False
        for track in self.tracks:
            if track.continued_by(box, frame):
                track.add(box, frame)
                return True
        if self.exit_sides is not None and frame <= WATCH_FRAMES and score >= SEED_SCORE:
            self.tracks.append(Impostor([(box, frame)]))
            return True
        return False


def moved_to(seen_box: Box, seen: int, box: Box, frame: int) -> bool:
    """Whether ``box`` on LOST frame ``frame`` is where an object boxed ``seen_box`` on frame ``seen`` has moved: near
    (module docstring) and of its size and shape. The target passing beside a still impostor (a patch of background)
    is neither."""
    gap = min(max(frame - seen, 1), MAX_GAP)
    (x, y), (tx, ty) = centre(box), centre(seen_box)
    return (math.hypot(x - tx, y - ty) <= STEP * gap * box_side(seen_box)
            and similar_area(box, seen_box, MAX_SIZE_CHANGE) and aspect_change(box, seen_box) <= MAX_SIZE_CHANGE)
