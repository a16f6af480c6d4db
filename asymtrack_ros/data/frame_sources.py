"""In-memory frame sequences to benchmark and compare trackers on: a video file, the reference Megamind frames,
or the generated test scene."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from asymtrack_ros.boxes import Box, as_box
from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.reference import reference_dir

MEGAMIND_FRAMES = "megamind_rgb_frames.npz"
MEGAMIND_INIT_BOX = (200.0, 130.0, 145.0, 190.0)  # the reference runs' init box (woman's face, video frame 1)


@dataclass(frozen=True)
class FrameSequence:
    """RGB uint8 frames (N, H, W, 3) and the box to initialise on frame 0."""

    name: str
    frames: np.ndarray
    init_box: Box


def video_sequence(path: str | Path, max_frames: int, init_box: tuple[float, ...] | None = None) -> FrameSequence:
    """Up to ``max_frames`` decoded frames; ``init_box`` defaults to a centred box of a fifth of the frame."""
    capture = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    while len(frames) < max_frames:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    if len(frames) < 2:
        raise ValueError(f"video {path} gave {len(frames)} frames (need at least 2)")
    height, width = frames[0].shape[:2]
    box = init_box or (0.4 * width, 0.4 * height, 0.2 * width, 0.2 * height)
    return FrameSequence(f"video {Path(path).name}", np.stack(frames), as_box(box))


def reference_sequence(max_frames: int) -> FrameSequence | None:
    """The reference Megamind frames (video frames 1..40), or None when the reference data is absent."""
    path = reference_dir() / MEGAMIND_FRAMES
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        frames = data["frames"][:max_frames]
    return FrameSequence(f"reference Megamind ({path})", frames, MEGAMIND_INIT_BOX)


def synthetic_sequence(num_frames: int, seed: int) -> FrameSequence:
    """The generated sequence (textured object over textured background), seeded."""
    frames, boxes = generated_sequence(num_frames=num_frames, seed=seed)
    return FrameSequence(f"generated (seed {seed})", frames, as_box(boxes[0]))


def select_sequence(
    source: str, max_frames: int, seed: int = 0, video: str | Path | None = None,
    init_box: tuple[float, ...] | None = None,
) -> FrameSequence:
    """``video`` if given; else ``source``: reference, generated, or auto (reference when present)."""
    if video is not None:
        return video_sequence(video, max_frames, init_box)
    if source in ("auto", "reference"):
        sequence = reference_sequence(max_frames)
        if sequence is not None:
            return sequence
        if source == "reference":
            raise ValueError(f"reference frames {reference_dir() / MEGAMIND_FRAMES} absent")
    return synthetic_sequence(max_frames, seed)
