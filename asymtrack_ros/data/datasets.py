"""Training sources: video datasets (GOT-10k, LaSOT, TrackingNet, generated) and still images (COCO).

Videos are :class:`~asymtrack_ros.sequences.TrackSequence` objects (GOT-10k and LaSOT through
:func:`~asymtrack_ros.dataset_layouts.load_dataset`); a still image is a one-frame ``TrackSequence`` per
annotated object, so both pools share the frame reader.

Layouts beyond those of :mod:`asymtrack_ros.dataset_layouts`:

* ``trackingnet``: ``TRAIN_<k>/frames/<seq>/<n>.jpg`` and ``TRAIN_<k>/anno/<seq>.txt`` under the root (or the
  root is one ``TRAIN_<k>`` chunk).
* ``coco``: an instances JSON (``annotations``) and its image folder; crowd boxes and boxes smaller than
  ``min_size`` pixels a side are skipped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asymtrack_ros.dataset_layouts import DatasetError, load_dataset
from asymtrack_ros.sequences import TrackSequence, make_sequence, read_boxes

logger = logging.getLogger(__name__)

VIDEO_FORMATS = ("got10k", "lasot", "trackingnet")
FORMATS = (*VIDEO_FORMATS, "coco")


@dataclass(frozen=True)
class SourceConfig:
    """One training source: ``format`` in ``FORMATS``, its root, and for COCO the annotation file."""

    format: str
    path: str
    annotations: str | None = None
    max_sequences: int | None = None
    min_size: float = 10.0


def load_source(source: SourceConfig) -> tuple[list[TrackSequence], list[TrackSequence]]:
    """(videos, still images) of one source."""
    if source.format in ("got10k", "lasot"):
        return load_dataset(source.path, source.format, source.max_sequences), []
    if source.format == "trackingnet":
        return load_trackingnet(Path(source.path), source.max_sequences), []
    if source.format == "coco":
        if not source.annotations:
            raise DatasetError("a coco source needs 'annotations' (the instances JSON file)")
        return [], load_coco(Path(source.annotations), Path(source.path), source.min_size, source.max_sequences)
    raise DatasetError(f"unknown training source format {source.format!r}; expected one of {FORMATS}")


def load_sources(sources: list[SourceConfig]) -> tuple[list[TrackSequence], list[TrackSequence]]:
    """All videos and all still images of ``sources``."""
    videos: list[TrackSequence] = []
    stills: list[TrackSequence] = []
    for source in sources:
        source_videos, source_stills = load_source(source)
        logger.info(
            "%s %s: %d videos, %d still images", source.format, source.path, len(source_videos), len(source_stills)
        )
        videos += source_videos
        stills += source_stills
    if not videos and not stills:
        raise DatasetError("the training sources hold no usable sequence")
    return videos, stills


def load_trackingnet(root: Path, max_sequences: int | None = None) -> list[TrackSequence]:
    """TrackingNet training chunks (frames named by their integer index)."""
    chunks = sorted(root.glob("TRAIN_*")) or [root]
    sequences: list[TrackSequence] = []
    for annotation in (a for chunk in chunks for a in sorted((chunk / "anno").glob("*.txt"))):
        if max_sequences is not None and len(sequences) >= max_sequences:
            break
        frame_dir = annotation.parent.parent / "frames" / annotation.stem
        frames = sorted(frame_dir.glob("*.jpg"), key=lambda path: int(path.stem))
        try:
            sequences.append(make_sequence(annotation.stem, frames, read_boxes(annotation)))
        except (OSError, ValueError) as error:
            logger.warning("skipping trackingnet sequence %s: %s", annotation, error)
    if not sequences:
        raise DatasetError(f"no usable trackingnet sequence under {root}")
    return sequences


def load_coco(
    annotations: Path, images: Path, min_size: float = 10.0, max_objects: int | None = None
) -> list[TrackSequence]:
    """One single-frame sequence per non-crowd COCO object of at least ``min_size`` px a side."""
    content = json.loads(annotations.read_text())
    files = {image["id"]: images / image["file_name"] for image in content["images"]}
    stills = []
    for entry in content["annotations"]:
        box = np.asarray(entry["bbox"], dtype=np.float64).reshape(1, 4)
        if entry.get("iscrowd") or min(box[0, 2:]) < min_size:
            continue
        stills.append(make_sequence(f"coco_{entry['id']}", [files[entry["image_id"]]], box))
        if max_objects is not None and len(stills) >= max_objects:
            break
    if not stills:
        raise DatasetError(f"no usable object in {annotations}")
    return stills
