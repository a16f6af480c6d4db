"""Contact sheets of annotated sequences: every ``step``-th frame with its box and index, as one PNG grid.

They are how a person checks a ground truth that no one drew by hand: absent frames are labelled ``absent``,
unknown ones (NaN box, target present) ``unknown``; with ``zoom`` each tile is a crop around the box (or the
last known box), which small, far targets need.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from asymtrack_ros.boxes import as_box, centre

TILE_WIDTH = 192
COLUMNS = 8
_GREEN, _YELLOW, _RED = (0, 255, 0), (0, 255, 255), (0, 0, 255)


def _crop_window(box: np.ndarray, image_size: tuple[int, int], zoom: float) -> tuple[int, int, int, int]:
    """A window of ``zoom`` box heights around ``box``, 4:3 landscape, shifted inside the image."""
    width, height = image_size
    window_h = min(max(zoom * box[3], 48.0), height)
    window_w = min(window_h * 4 / 3, width)
    cx, cy = centre(as_box(box))
    x0 = int(np.clip(cx - window_w / 2, 0, width - window_w))
    y0 = int(np.clip(cy - window_h / 2, 0, height - window_h))
    return x0, y0, int(window_w), int(window_h)


def render_tile(
    frame: np.ndarray, box: np.ndarray, label: str, anchor: np.ndarray | None, zoom: float | None
) -> np.ndarray:
    """One BGR tile: ``frame`` (BGR) with ``box`` drawn (skipped when NaN), cropped around ``anchor`` when
    ``zoom`` is given, scaled to :data:`TILE_WIDTH` wide, ``label`` written in the corner."""
    height, width = frame.shape[:2]
    x0, y0, crop_w, crop_h = 0, 0, width, height
    if zoom is not None and anchor is not None:
        x0, y0, crop_w, crop_h = _crop_window(anchor, (width, height), zoom)
    scale = TILE_WIDTH / crop_w
    tile = cv2.resize(frame[y0:y0 + crop_h, x0:x0 + crop_w], (TILE_WIDTH, max(1, round(crop_h * scale))))
    if np.isfinite(box).all():
        top_left = (round((box[0] - x0) * scale), round((box[1] - y0) * scale))
        bottom_right = (round((box[0] + box[2] - x0) * scale), round((box[1] + box[3] - y0) * scale))
        cv2.rectangle(tile, top_left, bottom_right, _GREEN, 1)
    colour = _YELLOW if label.isdigit() else _RED
    cv2.putText(tile, label, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3)
    cv2.putText(tile, label, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    return tile


def frame_label(index: int, box: np.ndarray, absent: bool) -> str:
    """``"17"``, ``"17 absent"`` or ``"17 unknown"`` (NaN box, target present)."""
    if absent:
        return f"{index} absent"
    return str(index) if np.isfinite(box).all() else f"{index} unknown"


def contact_sheet(
    read_frame: Callable[[int], np.ndarray], boxes: np.ndarray, absent: np.ndarray, step: int = 10,
    zoom: float | None = None,
) -> np.ndarray:
    """A BGR grid of every ``step``-th frame (``read_frame(i)`` gives frame ``i`` as BGR) with its box."""
    tiles = []
    anchor: np.ndarray | None = None
    for index in range(0, len(boxes), step):
        known = np.flatnonzero(np.isfinite(boxes[: index + 1]).all(axis=1))
        if len(known):
            anchor = boxes[known[-1]]
        tiles.append(render_tile(read_frame(index), boxes[index], frame_label(index, boxes[index], bool(absent[index])),
                                 anchor, zoom))
    tile_h = max(tile.shape[0] for tile in tiles)
    tiles = [cv2.copyMakeBorder(t, 0, tile_h - t.shape[0], 0, 0, cv2.BORDER_CONSTANT) for t in tiles]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % COLUMNS)
    rows = [np.hstack(tiles[start:start + COLUMNS]) for start in range(0, len(tiles), COLUMNS)]
    return np.vstack(rows)


def write_contact_sheet(path: Path, sheet: np.ndarray) -> None:
    """Write ``sheet`` (BGR) as PNG, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), sheet):
        raise OSError(f"cannot write contact sheet {path}")
