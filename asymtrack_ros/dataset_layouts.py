"""Dataset loaders for the GOT-10k, LaSOT, OTB-100 and UAV123 directory layouts (evaluation, training, demo).

Layouts, relative to the dataset directory given:

* ``got10k``: ``<seq>/00000001.jpg ...``, ``<seq>/groundtruth.txt``, optional ``absence.label`` (1 = absent; with
  it, a NaN box on a frame it does not flag is unknown: the target in view, its box not known, neither scored nor
  counted as an absence) and ``cover.label`` (0 = fully occluded, counted absent as in the GOT-10k toolkit).
* ``lasot``: ``<category>/<seq>/img/*.jpg`` (or ``<seq>/img`` when given one category), ``groundtruth.txt``,
  ``full_occlusion.txt`` and ``out_of_view.txt`` (0/1 flags; either one marks the target absent).
* ``otb``: ``<seq>/img/0001.jpg ...`` with ``groundtruth_rect.txt``, or ``groundtruth_rect.<k>.txt`` per target
  (sequences ``<seq>-<k>``, as in the OTB toolkit).
* ``uav123``: ``data_seq/UAV123/<seq>/*.jpg`` with ``anno/UAV123/<seq>.txt`` (NaN rows: target absent).

Box files hold one ``x, y, w, h`` row per frame separated by commas, tabs or spaces. A sequence whose files
disagree (frame and annotation counts differ, unparsable rows, target never visible) is skipped with a warning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asymtrack_ros.boxes import Box
from asymtrack_ros.sequences import TrackSequence, make_sequence, read_boxes, read_numbers

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class DatasetError(ValueError):
    """The dataset directory is missing, of an unknown layout, or holds no usable sequence."""


def _frame_paths(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ValueError(f"frame directory {directory} missing")
    return sorted(path for path in directory.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)


def _discover_got10k(root: Path) -> list[Path]:
    return sorted(path for path in root.glob("*/groundtruth.txt") if not (path.parent / "img").is_dir())


def _load_got10k(annotation: Path) -> TrackSequence:
    directory = annotation.parent
    flags = []
    absence_file = directory / "absence.label"
    if absence_file.is_file():
        flags.append(read_numbers(absence_file) != 0)
    if (directory / "cover.label").is_file():
        flags.append(read_numbers(directory / "cover.label") == 0)
    return make_sequence(directory.name, _frame_paths(directory), read_boxes(annotation), flags,
                         flags_mark_every_absence=absence_file.is_file())


def _discover_lasot(root: Path) -> list[Path]:
    annotations = [*root.glob("*/*/groundtruth.txt"), *root.glob("*/groundtruth.txt")]
    return sorted(path for path in annotations if (path.parent / "img").is_dir())


def _load_lasot(annotation: Path) -> TrackSequence:
    directory = annotation.parent
    flags = [read_numbers(directory / name) != 0 for name in ("full_occlusion.txt", "out_of_view.txt")]
    return make_sequence(directory.name, _frame_paths(directory / "img"), read_boxes(annotation), flags)


def _discover_otb(root: Path) -> list[Path]:
    return sorted(path for path in root.glob("*/groundtruth_rect*.txt") if (path.parent / "img").is_dir())


def _load_otb(annotation: Path) -> TrackSequence:
    directory = annotation.parent
    target = annotation.name.removeprefix("groundtruth_rect").removesuffix(".txt").strip(".")
    name = f"{directory.name}-{target}" if target else directory.name
    return make_sequence(name, _frame_paths(directory / "img"), read_boxes(annotation))


def _discover_uav123(root: Path) -> list[Path]:
    return sorted((root / "anno" / "UAV123").glob("*.txt")) if (root / "data_seq" / "UAV123").is_dir() else []


def _load_uav123(annotation: Path) -> TrackSequence:
    frames = _frame_paths(annotation.parents[2] / "data_seq" / "UAV123" / annotation.stem)
    return make_sequence(annotation.stem, frames, read_boxes(annotation))


@dataclass(frozen=True)
class _Layout:
    discover: Callable[[Path], list[Path]]  # annotation files under the dataset root, one per sequence
    load: Callable[[Path], TrackSequence]  # annotation file -> sequence


# In auto-detection order: the first layout that finds an annotation file wins.
_LAYOUTS = {
    "uav123": _Layout(_discover_uav123, _load_uav123),
    "otb": _Layout(_discover_otb, _load_otb),
    "lasot": _Layout(_discover_lasot, _load_lasot),
    "got10k": _Layout(_discover_got10k, _load_got10k),
}
FORMATS = tuple(_LAYOUTS)


def detect_format(root: Path | str) -> str:
    """The layout of the dataset directory ``root`` (one of ``FORMATS``)."""
    root = _existing_dir(root)
    for fmt, layout in _LAYOUTS.items():
        if layout.discover(root):
            return fmt
    raise DatasetError(f"{root} matches none of the dataset layouts {', '.join(FORMATS)}")


def load_dataset(
    root: Path | str, fmt: str = "auto", max_sequences: int | None = None, skip_sequences: int = 0
) -> list[TrackSequence]:
    """The sequences of dataset directory ``root`` in name order: the first ``skip_sequences`` left out,
    then at most ``max_sequences`` of them."""
    root = _existing_dir(root)
    if fmt == "auto":
        fmt = detect_format(root)
    if fmt not in _LAYOUTS:
        raise DatasetError(f"unknown dataset format {fmt!r}; expected auto or one of {', '.join(FORMATS)}")
    layout = _LAYOUTS[fmt]
    sequences: list[TrackSequence] = []
    for annotation in layout.discover(root)[skip_sequences:]:
        if max_sequences is not None and len(sequences) >= max_sequences:
            break
        try:
            sequences.append(layout.load(annotation))
        except (OSError, ValueError) as error:
            logger.warning("skipping %s sequence %s: %s", fmt, annotation, error)
    if not sequences:
        raise DatasetError(f"no usable {fmt} sequence under {root}")
    return sequences


def _existing_dir(root: Path | str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset directory {root} does not exist")
    return root


def lookalike_boxes(sequence: TrackSequence) -> list[list[Box]]:
    """Per frame, the look-alike distractors' boxes that the generator recorded (``meta.json``
    ``"distractor_boxes"``; none for other datasets). ValueError when they are malformed."""
    meta = sequence.frames[0].parent / "meta.json"
    loaded = json.loads(meta.read_text()) if meta.is_file() else None
    recorded = loaded.get("distractor_boxes") if isinstance(loaded, dict) else None
    if not isinstance(recorded, list) or len(recorded) != len(sequence):
        return [[] for _ in range(len(sequence))]
    try:
        return [[(float(x), float(y), float(w), float(h)) for x, y, w, h in boxes] for boxes in recorded]
    except (TypeError, ValueError) as error:
        raise ValueError(f"{meta}: distractor_boxes must list [x, y, w, h] boxes per frame ({error})") from error
