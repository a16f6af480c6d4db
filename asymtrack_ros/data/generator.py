"""Synthetic tracking sequences with exact ground truth, written in the GOT-10k layout.

Each sequence composites a target sprite (a region of a real photo under a random shape mask) over a real
background: a photo panned and zoomed by a moving camera, or a real video played under camera motion. The
target moves smoothly and changes scale, aspect and rotation; illumination drifts; motion blur follows the
screen velocity; look-alike distractors (the target's texture, recoloured, or with ``same_kind_distractors`` other
objects of its kind) move around it; occluders pass in front of it, partially and fully; optionally it leaves the
view and comes back.

Output per sequence ``<name>/``: ``00000001.jpg ...``, ``groundtruth.txt`` (``x,y,w,h``: the exact extent of
the whole target clipped to the frame; ``0,0,0,0`` when it is out of view), ``absence.label`` (1: nothing of the
target visible), ``cover.label`` (GOT-10k visible-ratio classes 0..8), ``meta.json`` (seed, sources, events, and
``distractor_boxes``: per frame, the clipped boxes of the look-alikes in view, the hard negatives of the
verification head's fit).
The dataset root gets ``list.txt`` and ``sources.json`` (package, version and path of every image used).

Everything is a function of ``(split, seed, index)``; the ``heldout`` split draws only held-out assets.
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from asymtrack_ros.data.assets import SPLITS, Asset, AssetLibrary, load_library, read_image
from asymtrack_ros.data.motion import crossing_offsets, random_walk_track
from asymtrack_ros.data.render import (
    SHAPES,
    Placed,
    Pose,
    Sprite,
    composite,
    line_kernel,
    make_sprite,
    overlap,
    place,
    pose_matrix,
    recolor,
    screen_extent,
)

SPLIT_SALT = {"train": 101, "heldout": 202}
LEAVE_VIEW_MODES = ("random", "always", "never")
FIRST_CLEAR_FRAMES = 10  # no occlusion or exit before this frame: the first frame shows the whole target
FULLY_VISIBLE = 0.98  # visible fractions above this are resampling error, not occlusion


@dataclass(frozen=True)
class GeneratorConfig:
    """Ranges the sequences are drawn from (sizes in pixels, probabilities per sequence)."""

    frame_size: tuple[int, int] = (640, 480)  # width, height
    num_frames: tuple[int, int] = (120, 320)
    target_size: tuple[float, float] = (24.0, 120.0)  # sqrt(area) at the start
    max_speed: tuple[float, float] = (0.5, 6.0)  # px per frame, per sequence
    video_background_prob: float = 0.35
    rotation_prob: float = 0.35
    distractor_prob: float = 0.6
    max_distractors: int = 3
    occlusion_prob: float = 0.6
    max_occluders: int = 2
    leave_view_prob: float = 0.15
    illumination_gradient_prob: float = 0.4
    jpeg_quality: tuple[int, int] = (85, 95)
    object_target_prob: float = 0.5  # target from the object stamps (role "target"), when the library has them
    # the share of look-alikes that are another stamp of the target's kind (its folder: another bird for a bird)
    # instead of a recoloured copy; drawn from a child of the sequence's random stream, so the rest of a scene stays
    # as it is without them (0: recoloured copies only)
    same_kind_distractors: float = 0.0


@dataclass
class Actor:
    """A sprite with per-frame tracks: centre (N, 2), size (N,), aspect (N,), angle (N,), gain (N,)."""

    sprite: Sprite
    center: np.ndarray
    size: np.ndarray
    aspect: np.ndarray
    angle: np.ndarray
    gain: np.ndarray

    def pose(self, t: int) -> Pose:
        return Pose(self.center[t], float(self.size[t]), float(self.aspect[t]), float(self.angle[t]))

    def velocity(self, t: int) -> np.ndarray:
        return self.center[t] - self.center[max(t - 1, 0)]


@dataclass
class Scene:
    """Everything needed to render one sequence frame by frame."""

    num_frames: int
    frame_size: tuple[int, int]
    background: Background
    target: Actor
    distractors: list[Actor]
    occluders: list[Actor]
    illumination: np.ndarray  # (N, 3): global log-gain, gradient amplitude, gradient angle
    exposure: float
    noise_sigma: float
    noise_seed: int
    jpeg_quality: int
    sources: list[Asset]
    events: dict[str, list] = field(default_factory=dict)


class Background:
    """A photo or a video under a moving camera (centre, zoom and roll tracks in world pixels)."""

    def __init__(self, asset: Asset, library: AssetLibrary, camera: np.ndarray, world_scale: float, rate: float):
        self.asset, self.library, self.camera, self.rate = asset, library, camera, rate
        self.world_scale = world_scale
        self._capture: cv2.VideoCapture | None = None
        self._position = -1
        self._frame: np.ndarray | None = None

    def world_frame(self, t: int) -> np.ndarray:
        """The world image at frame ``t`` (float32 RGB): the photo, or the video frame at ``rate * t``."""
        if self.asset.kind == "image":
            if self._frame is None:
                self._frame = self._resize(_cached_image(str(self.library.absolute(self.asset)))[..., :3])
            return self._frame
        wanted = int(self.rate * t)
        if self._capture is None:
            self._capture = cv2.VideoCapture(str(self.library.absolute(self.asset)))
        while self._position < wanted:
            ok, image = self._capture.read()
            if not ok:
                break
            self._position += 1
            self._frame = self._resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        if self._frame is None:
            raise RuntimeError(f"no frame could be read from {self.library.absolute(self.asset)}")
        return self._frame

    def _resize(self, image: np.ndarray) -> np.ndarray:
        size = (round(image.shape[1] * self.world_scale), round(image.shape[0] * self.world_scale))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)

    def render(self, t: int, frame_size: tuple[int, int], exposure: float) -> np.ndarray:
        """Screen image at frame ``t`` with camera motion blur."""
        width, height = frame_size
        matrix = self.camera_matrix(t, frame_size)
        image = cv2.warpAffine(self.world_frame(t), matrix, (width, height), borderMode=cv2.BORDER_REFLECT101)
        previous = self.camera_matrix(max(t - 1, 0), frame_size)
        center = np.array([width / 2, height / 2])
        inverse = cv2.invertAffineTransform(matrix)
        world_point = inverse[:, :2] @ center + inverse[:, 2]
        kernel = line_kernel(center - (previous[:, :2] @ world_point + previous[:, 2]), exposure)
        return image if kernel is None else cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT101)

    def camera_matrix(self, t: int, frame_size: tuple[int, int]) -> np.ndarray:
        """World -> screen affine matrix at frame ``t``."""
        cx, cy, log_zoom, roll = self.camera[t]
        width, height = frame_size
        return cv2.getRotationMatrix2D((cx, cy), roll, math.exp(log_zoom)) + np.array(
            [[0, 0, width / 2 - cx], [0, 0, height / 2 - cy]]
        )

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()


@functools.lru_cache(maxsize=128)
def _cached_image(path: str) -> np.ndarray:
    return read_image(Path(path))


def sequence_rng(split: str, seed: int, index: int) -> np.random.Generator:
    """The random generator of sequence ``index`` of ``split`` under ``seed``."""
    return np.random.default_rng([SPLIT_SALT[split], seed, index])


def build_scene(
    library: AssetLibrary, split: str, rng: np.random.Generator, config: GeneratorConfig, leave_view: bool
) -> Scene:
    """Draw every random choice of one sequence."""
    images, videos = library.select("image", split), library.select("video", split)
    num_frames = int(rng.integers(config.num_frames[0], config.num_frames[1] + 1))
    use_video = bool(videos) and rng.random() < config.video_background_prob
    backgrounds = [asset for asset in images if asset.role != "target"]
    background_asset = videos[rng.integers(len(videos))] if use_video else backgrounds[rng.integers(len(backgrounds))]
    background = _background(library, background_asset, rng, num_frames, config)
    objects = [asset for asset in images if asset.role == "target"]
    targets = objects if objects and rng.random() < config.object_target_prob else backgrounds
    target_asset = targets[rng.integers(len(targets))]
    target_sprite = _sprite(library, target_asset, rng)
    size0 = rng.uniform(*config.target_size)
    target = _target_actor(rng, target_sprite, size0, num_frames, config, leave_view)
    sources = [background_asset, target_asset]
    events: dict[str, list] = {"leave_view": [], "occlusion": []}
    distractors = []
    if rng.random() < config.distractor_prob:
        kin = same_kind(objects, target_asset) if config.same_kind_distractors > 0 else []
        kind_rng = rng.spawn(1)[0] if kin else None
        for _ in range(int(rng.integers(1, config.max_distractors + 1))):
            # the gains are drawn either way, so the sequence's own stream stays as without look-alikes of the kind
            sprite = recolor(target_sprite, rng.uniform(0.75, 1.25, 3).astype(np.float32))
            if kind_rng is not None and kind_rng.random() < config.same_kind_distractors:
                other = kin[kind_rng.integers(len(kin))]
                sprite = _sprite(library, other, kind_rng)
                sources.append(other)
            distractors.append(_wandering_actor(rng, sprite, size0 * rng.uniform(0.7, 1.3), num_frames, config))
    occluders = []
    if rng.random() < config.occlusion_prob:
        for _ in range(int(rng.integers(1, config.max_occluders + 1))):
            asset = images[rng.integers(len(images))]
            sources.append(asset)
            occluder, window = _occluder_actor(rng, _sprite(library, asset, rng), target, num_frames)
            occluders.append(occluder)
            events["occlusion"].append(window)
    illumination = np.column_stack(
        [
            random_walk_track(rng, num_frames, [-0.35], [0.35], [0.12], start=[0.0]),
            random_walk_track(rng, num_frames, [-0.25], [0.25], [0.1])
            * (rng.random() < config.illumination_gradient_prob),
            random_walk_track(rng, num_frames, [-np.pi], [np.pi], [0.5]),
        ]
    )
    return Scene(
        num_frames,
        config.frame_size,
        background,
        target,
        distractors,
        occluders,
        illumination,
        exposure=rng.uniform(0.3, 1.0),
        noise_sigma=rng.uniform(0.0, 4.0),
        noise_seed=int(rng.integers(2**30)),
        jpeg_quality=int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1)),
        sources=sources,
        events=events,
    )


def same_kind(objects: list[Asset], target: Asset) -> list[Asset]:
    """The other object stamps (role "target") of ``target``'s folder, its kind; none for a target that is no
    stamp."""
    if target.role != "target":
        return []
    folder = Path(target.path).parent
    return [asset for asset in objects if asset != target and Path(asset.path).parent == folder]


def _sprite(library: AssetLibrary, asset: Asset, rng: np.random.Generator) -> Sprite:
    image = _cached_image(str(library.absolute(asset)))
    return make_sprite(rng, image, aspect=math.exp(rng.uniform(-0.8, 0.8)), shape=SHAPES[rng.integers(len(SHAPES))])


def _background(
    library: AssetLibrary, asset: Asset, rng: np.random.Generator, num_frames: int, config: GeneratorConfig
) -> Background:
    width, height = config.frame_size
    if asset.kind == "video":
        capture = cv2.VideoCapture(str(library.absolute(asset)))
        length = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        source_size = (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        capture.release()
        rate = min(rng.uniform(0.5, 1.0), (length - 1) / max(num_frames - 1, 1))
        room = rng.uniform(1.1, 1.4)
    else:
        image = _cached_image(str(library.absolute(asset)))
        source_size, rate = (image.shape[1], image.shape[0]), 0.0
        room = rng.uniform(1.3, 2.2)
    world_scale = room * max(width / source_size[0], height / source_size[1])
    world_w, world_h = source_size[0] * world_scale, source_size[1] * world_scale
    half = np.array([width / 2, height / 2])
    low, high = np.minimum(half, [world_w / 2, world_h / 2]), np.maximum([world_w, world_h] - half, half)
    speed = rng.uniform(0.0, 4.0)
    center = random_walk_track(rng, num_frames, low, high, [speed * 30, speed * 30])
    log_zoom = random_walk_track(rng, num_frames, [-0.1], [0.25], [0.08])
    roll = random_walk_track(rng, num_frames, [-4.0], [4.0], [2.0]) * (rng.random() < 0.3)
    return Background(asset, library, np.column_stack([center, log_zoom, roll]), world_scale, rate)


def _pose_tracks(
    rng: np.random.Generator, num_frames: int, size0: float, rotate: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = size0 * np.exp(random_walk_track(rng, num_frames, [-0.5], [0.5], [0.2], start=[0.0])[:, 0])
    aspect = np.exp(random_walk_track(rng, num_frames, [-0.3], [0.3], [0.12], start=[0.0])[:, 0])
    spread = rng.choice([45.0, 180.0]) if rotate else 4.0
    angle = random_walk_track(rng, num_frames, [-spread], [spread], [spread / 3])[:, 0]
    return size, aspect, angle


def _target_actor(
    rng: np.random.Generator, sprite: Sprite, size0: float, num_frames: int, config: GeneratorConfig, leave_view: bool
) -> Actor:
    width, height = config.frame_size
    size, aspect, angle = _pose_tracks(rng, num_frames, size0, rng.random() < config.rotation_prob)
    margin = np.array([1.5 * size0, 1.5 * size0])  # the whole target is in view at the start
    low, high = margin, np.array([width, height]) - margin
    step = rng.uniform(*config.max_speed) * 30
    center = random_walk_track(rng, num_frames, low, high, [step, step])
    if leave_view:
        center = _leave_and_return(rng, center, size, config.frame_size)
    gain = np.exp(random_walk_track(rng, num_frames, [-0.3], [0.3], [0.1], start=[0.0])[:, 0])
    return Actor(sprite, center, size, aspect, angle, gain)


def _leave_and_return(
    rng: np.random.Generator, center: np.ndarray, size: np.ndarray, frame_size: tuple[int, int]
) -> np.ndarray:
    """Push the centre track out through the nearest border for a while (smoothly), then back."""
    num_frames = len(center)
    duration = rng.uniform(0.15, 0.3) * num_frames
    middle = rng.uniform(FIRST_CLEAR_FRAMES + duration, num_frames - duration * 0.75)
    width, height = frame_size
    t_mid = int(middle)
    x, y = center[t_mid]
    distances = {(-1, 0): x, (1, 0): width - x, (0, -1): y, (0, 1): height - y}
    direction = np.array(min(distances, key=distances.__getitem__), dtype=np.float64)
    reach = (
        min(distances.values()) + 2.0 * float(size.max()) + 20
    )  # beyond the border by more than a rotated half-diagonal
    push = crossing_offsets(num_frames, middle - duration / 2, duration / 2, np.zeros(2), direction * reach)
    back = crossing_offsets(num_frames, middle + duration / 2, duration / 2, np.zeros(2), direction * reach)
    return center + push - back


def _wandering_actor(
    rng: np.random.Generator, sprite: Sprite, size0: float, num_frames: int, config: GeneratorConfig
) -> Actor:
    width, height = config.frame_size
    size, aspect, angle = _pose_tracks(rng, num_frames, size0, rng.random() < config.rotation_prob)
    step = rng.uniform(*config.max_speed) * 30
    center = random_walk_track(rng, num_frames, [0, 0], [width, height], [step, step])
    return Actor(sprite, center, size, aspect, angle, np.ones(num_frames))


def _occluder_actor(
    rng: np.random.Generator, sprite: Sprite, target: Actor, num_frames: int
) -> tuple[Actor, list[float]]:
    """An occluder that passes over the target once (following it), sized 0.6..2x the target."""
    size_factor = rng.uniform(0.6, 2.0)
    size = target.size * size_factor
    aspect = np.full(num_frames, math.exp(rng.uniform(-0.5, 0.5)))
    angle = np.full(num_frames, rng.uniform(-30, 30))
    duration = rng.uniform(20, 70)
    center_frame = rng.uniform(FIRST_CLEAR_FRAMES + duration, max(FIRST_CLEAR_FRAMES + duration + 1, num_frames - 5))
    heading = rng.uniform(0, 2 * np.pi)
    reach = 1.2 * (1 + size_factor) * float(target.size.max())
    direction = np.array([math.cos(heading), math.sin(heading)]) * reach
    offsets = crossing_offsets(num_frames, center_frame, duration, -direction, direction)
    actor = Actor(sprite, target.center + offsets, size, aspect, angle, np.ones(num_frames))
    return actor, [round(center_frame - duration / 2, 1), round(center_frame + duration / 2, 1)]


@dataclass(frozen=True)
class FrameLabel:
    """Ground truth of one frame: clipped box (x, y, w, h) or None, the visible fraction of the target, and the
    clipped boxes of the look-alike distractors in view (drawn under the target and the occluders)."""

    box: tuple[float, float, float, float] | None
    visible: float
    distractors: tuple[tuple[float, float, float, float], ...] = ()


def render_frame(scene: Scene, t: int) -> tuple[np.ndarray, FrameLabel]:
    """Frame ``t`` as uint8 RGB and its label."""
    width, height = scene.frame_size
    frame = scene.background.render(t, scene.frame_size, scene.exposure)
    distractors = []
    for actor in scene.distractors:
        if _draw(frame, actor, t, scene.exposure) is not None:
            extent = screen_extent(actor.sprite, pose_matrix(actor.sprite, actor.pose(t)))
            box = _clipped_box(extent, width, height)
            if box is not None:
                distractors.append(box)
    matrix = pose_matrix(scene.target.sprite, scene.target.pose(t))
    placed_target = place(scene.target.sprite, matrix, (height, width))
    visibility = None if placed_target is None else placed_target.rgba[..., 3].copy()
    if placed_target is not None:
        composite(frame, placed_target, float(scene.target.gain[t]), _kernel(scene.target, t, scene.exposure))
    for actor in scene.occluders:
        drawn = _draw(frame, actor, t, scene.exposure)
        if drawn is not None and placed_target is not None and visibility is not None:
            hit = overlap(placed_target, *drawn)
            if hit is not None:
                rows, cols, alpha = hit
                visibility[rows, cols] *= 1.0 - alpha
    frame = _illuminate(frame, scene.illumination[t])
    if scene.noise_sigma > 0:
        noise = np.empty_like(frame)
        cv2.setRNGSeed(scene.noise_seed + t)
        # cv2's stubs type mean/stddev as arrays only; OpenCV takes scalars (cv::Scalar) here too.
        cv2.randn(noise, 0.0, scene.noise_sigma)  # type: ignore[call-overload]
        frame += noise
    total_area = scene.target.sprite.area * abs(np.linalg.det(matrix[:, :2]))
    visible = 0.0 if visibility is None else float(min(1.0, visibility.sum() / total_area))
    return np.clip(frame, 0, 255).astype(np.uint8), FrameLabel(
        _clipped_box(screen_extent(scene.target.sprite, matrix), width, height), visible, tuple(distractors)
    )


def _kernel(actor: Actor, t: int, exposure: float) -> np.ndarray | None:
    return line_kernel(actor.velocity(t), exposure)


def _draw(frame: np.ndarray, actor: Actor, t: int, exposure: float) -> tuple[Placed, np.ndarray] | None:
    kernel = _kernel(actor, t, exposure)
    margin = 0 if kernel is None else kernel.shape[0] // 2 + 1
    placed = place(actor.sprite, pose_matrix(actor.sprite, actor.pose(t)), frame.shape[:2], margin)
    if placed is None:
        return None
    return placed, composite(frame, placed, float(actor.gain[t]), kernel)


def _illuminate(frame: np.ndarray, illumination: np.ndarray) -> np.ndarray:
    log_gain, amplitude, angle = illumination
    height, width = frame.shape[:2]
    if amplitude == 0:
        return frame * math.exp(log_gain)
    xs = (np.arange(width, dtype=np.float32) / width - 0.5) * math.cos(angle)
    ys = (np.arange(height, dtype=np.float32) / height - 0.5) * math.sin(angle)
    gain = np.exp(log_gain + 2 * amplitude * (ys[:, None] + xs[None, :]))
    return frame * gain[..., None]


def _clipped_box(extent: np.ndarray, width: int, height: int) -> tuple[float, float, float, float] | None:
    x1, y1 = max(extent[0], 0.0), max(extent[1], 0.0)
    x2, y2 = min(extent[2], float(width)), min(extent[3], float(height))
    return None if x2 <= x1 or y2 <= y1 else (x1, y1, x2 - x1, y2 - y1)


def cover_class(visible: float) -> int:
    """GOT-10k ``cover.label`` class of a visible fraction: 0 none, 1..7 by 15 % steps, 8 fully visible."""
    if visible <= 0.0:
        return 0
    if visible >= FULLY_VISIBLE:
        return 8
    return min(7, 1 + int(visible / 0.15))


def generate_sequence(
    out_dir: Path | str,
    library: AssetLibrary,
    split: str,
    seed: int,
    index: int,
    config: GeneratorConfig | None = None,
    leave_view: str = "random",
) -> Path:
    """Render sequence ``index`` into ``out_dir/<name>`` and return that directory."""
    config = config or GeneratorConfig()
    if leave_view not in LEAVE_VIEW_MODES:
        raise ValueError(f"leave_view must be one of {LEAVE_VIEW_MODES}, got {leave_view!r}")
    rng = sequence_rng(split, seed, index)
    leaves = leave_view == "always" or (leave_view == "random" and rng.random() < config.leave_view_prob)
    scene = build_scene(library, split, rng, config, leaves)
    directory = Path(out_dir) / sequence_name(split, seed, index)
    directory.mkdir(parents=True, exist_ok=True)
    rows, absence, cover, distractors = [], [], [], []
    try:
        for t in range(scene.num_frames):
            image, label = render_frame(scene, t)
            path = directory / f"{t + 1:08d}.jpg"
            cv2.imwrite(
                str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, scene.jpeg_quality]
            )
            box = label.box if label.visible > 0 and label.box is not None else (0.0, 0.0, 0.0, 0.0)
            rows.append(",".join(f"{value:.4f}" for value in box))
            absence.append(str(int(label.visible <= 0)))
            cover.append(str(cover_class(label.visible)))
            distractors.append([[round(value, 2) for value in box] for box in label.distractors])
    finally:
        scene.background.close()
    if leaves:
        scene.events["leave_view"] = [i for i, flag in enumerate(absence) if flag == "1"]
    (directory / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    (directory / "absence.label").write_text("\n".join(absence) + "\n")
    (directory / "cover.label").write_text("\n".join(cover) + "\n")
    meta = {
        "split": split,
        "seed": seed,
        "index": index,
        "num_frames": scene.num_frames,
        "config": asdict(config),
        "leaves_view": leaves,
        "events": scene.events,
        "distractor_boxes": distractors,
        "sources": [asdict(asset) for asset in scene.sources],
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=1))
    return directory


def sequence_name(split: str, seed: int, index: int) -> str:
    return f"synth_{split}_s{seed}_{index:05d}"


def _generate_task(task: tuple) -> str:
    out_dir, library_root, split, seed, index, config, leave_view = task
    if (Path(out_dir) / sequence_name(split, seed, index) / "meta.json").is_file():
        return sequence_name(split, seed, index)  # done by an earlier, interrupted run
    return generate_sequence(out_dir, load_library(library_root), split, seed, index, config, leave_view).name


def generate_dataset(
    out_dir: Path | str,
    library: AssetLibrary,
    num_sequences: int,
    split: str = "train",
    seed: int = 0,
    config: GeneratorConfig | None = None,
    workers: int | None = None,
    leave_view: str = "random",
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Generate ``num_sequences`` sequences in parallel (resumable), then write ``list.txt`` and ``sources.json``.

    ``progress`` is called with each sequence's name as soon as it is written.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = config or GeneratorConfig()
    tasks = [(str(out_dir), str(library.root), split, seed, i, config, leave_view) for i in range(num_sequences)]
    workers = workers or multiprocessing.cpu_count()
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            names = sorted(_reported(pool.imap_unordered(_generate_task, tasks), progress))
    else:
        names = sorted(_reported(map(_generate_task, tasks), progress))
    (out_dir / "list.txt").write_text("\n".join(names) + "\n")
    write_sources(out_dir, names)
    return names


def _reported(names: Iterable[str], progress: Callable[[str], None] | None) -> Iterator[str]:
    for name in names:
        if progress is not None:
            progress(name)
        yield name


def write_sources(out_dir: Path, names: list[str]) -> None:
    """``sources.json``: every asset used (package, version, path inside the package) and which sequences use it."""
    used: dict[str, dict] = {}
    for name in names:
        for source in json.loads((out_dir / name / "meta.json").read_text())["sources"]:
            entry = used.setdefault(source["path"], {**source, "sequences": []})
            if name not in entry["sequences"]:
                entry["sequences"].append(name)
    (out_dir / "sources.json").write_text(json.dumps(sorted(used.values(), key=lambda e: e["path"]), indent=1))
