"""Annotated tracking sequences (:class:`TrackSequence`) and the ground-truth files they are read from.

Shared by evaluation, training data, benchmarks and the demo; the dataset directory layouts that produce
them are in :mod:`asymtrack_ros.dataset_layouts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

_SEPARATORS = re.compile(r"[,\s]+")


@dataclass(frozen=True, eq=False)
class TrackSequence:
    """One annotated video: frame paths, (N, 4) float64 ground truth (NaN rows where absent), absent mask (frames
    without a box), and ``unknown``: the absent frames whose target is in view but not boxed (None: none known)."""

    name: str
    frames: tuple[Path, ...]
    ground_truth: np.ndarray
    absent: np.ndarray
    unknown: np.ndarray | None = field(default=None, kw_only=True)

    def __len__(self) -> int:
        return len(self.frames)

    @cached_property
    def away(self) -> np.ndarray:
        """Frames where the target is out of view: ``absent`` less the ``unknown`` ones (computed once: callers
        read it frame by frame)."""
        return self.absent if self.unknown is None else self.absent & ~self.unknown

    @property
    def init_frame(self) -> int:
        """Index of the first frame whose target is present (where one-pass evaluation initialises)."""
        return int(np.flatnonzero(~self.absent)[0])

    def read_frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an HxWx3 uint8 RGB array."""
        return read_rgb(self.frames[index])


def read_rgb(path: Path | str) -> np.ndarray:
    """The image file at ``path`` as an HxWx3 uint8 RGB array (OSError when OpenCV cannot read it)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_boxes(path: Path) -> np.ndarray:
    """(N, 4) float64 boxes of a ground-truth file (comma, tab or space separated; ``NaN`` allowed)."""
    rows = [_SEPARATORS.split(line.strip()) for line in path.read_text().splitlines() if line.strip()]
    if any(len(row) != 4 for row in rows):
        raise ValueError(f"{path}: every row needs 4 values (x, y, w, h)")
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def read_numbers(path: Path) -> np.ndarray:
    """Every number of a flag or label file, whether on one line or one per line."""
    return np.array(_SEPARATORS.split(path.read_text().strip()), dtype=np.float64)


def make_sequence(
    name: str, frames: Iterable[Path], boxes: np.ndarray, absent_flags: Iterable[np.ndarray] = (),
    flags_mark_every_absence: bool = False,
) -> TrackSequence:
    """Check lengths and build a :class:`TrackSequence`; frames with invalid boxes or a set flag are absent.

    ``flags_mark_every_absence``: the flags name every frame without the target, so an invalid box on an unflagged
    frame is ``unknown`` (the target in view, its box not known) rather than an absence.
    """
    frames = tuple(frames)
    if len(frames) != len(boxes):
        raise ValueError(f"{len(frames)} frames but {len(boxes)} ground-truth rows")
    unboxed = ~(np.isfinite(boxes).all(axis=1) & (boxes[:, 2:] > 0).all(axis=1))
    flagged = np.zeros(len(frames), dtype=bool)
    for flags in absent_flags:
        if len(flags) != len(frames):
            raise ValueError(f"{len(frames)} frames but {len(flags)} absence flags")
        flagged |= flags
    absent = unboxed | flagged
    if absent.all():
        raise ValueError("the target is absent in every frame")
    ground_truth = boxes.copy()
    ground_truth[absent] = np.nan
    return TrackSequence(name, frames, ground_truth, absent,
                         unknown=unboxed & ~flagged if flags_mark_every_absence else None)
