"""Synthetic sequence generator: layout, exact boxes, determinism, splits, leaving the view, asset bookkeeping.

The tests build a small hermetic asset library (procedural textures plus a short generated video), so they
need no registry; one test checks the real cache when a session has fetched it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from asymtrack_ros.data.assets import (
    DEFAULT_CACHE,
    SOURCES_JSON,
    Asset,
    AssetLibrary,
    asset_group,
    assign_splits,
    fetch_assets,
    load_library,
    procedural_texture,
)
from asymtrack_ros.data.generator import (
    GeneratorConfig,
    build_scene,
    cover_class,
    generate_dataset,
    generate_sequence,
    render_frame,
    same_kind,
    sequence_rng,
)
from asymtrack_ros.data.render import Pose, make_sprite, place, pose_matrix, screen_extent
from asymtrack_ros.dataset_layouts import load_dataset

SMALL = GeneratorConfig(frame_size=(160, 120), num_frames=(40, 50), target_size=(16.0, 28.0), max_speed=(0.5, 3.0))


def _write_video(path: Path, rng: np.random.Generator, frames: int = 30) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 72))
    texture = procedural_texture(rng, (72, 200))
    for t in range(frames):
        writer.write(np.ascontiguousarray(texture[:, 2 * t : 2 * t + 96]))
    writer.release()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> AssetLibrary:
    """Ten procedural images and two videos, split by group as the real cache is."""
    root = tmp_path_factory.mktemp("assets")
    rng = np.random.default_rng(0)
    assets = []
    for i in range(10):
        name = f"texture_{i}.png"
        cv2.imwrite(str(root / name), procedural_texture(rng, (96, 128)))
        assets.append(Asset(name, "image", "procedural", "1", name, f"texture{i}x", ""))
    for i in range(2):
        name = f"clip_{i}.avi"
        _write_video(root / name, rng)
        assets.append(Asset(name, "video", "procedural", "1", name, f"clip{i}x", ""))
    library = AssetLibrary(root, tuple(assign_splits(assets)))
    (root / SOURCES_JSON).write_text(json.dumps([a.__dict__ for a in library.assets]))
    return library


def test_splits_keep_groups_together_and_hold_some_out() -> None:
    assert asset_group("aloeL") == asset_group("aloeR") == "aloe"
    assert asset_group("Megamind") == asset_group("Megamind_bugy")
    assert asset_group("basketball1") == asset_group("basketball2")
    assert asset_group("left") == asset_group("right")
    assets = [
        Asset(f"{n}.jpg", "image", "p", "1", n, asset_group(n), "") for n in ("aloeL", "aloeR", "a", "b", "c", "d")
    ]
    split = {a.path: a.split for a in assign_splits(assets)}
    assert split["aloeL.jpg"] == split["aloeR.jpg"]
    assert sorted(set(split.values())) == ["heldout", "train"]


def test_generated_dataset_has_got10k_layout_consistent_labels_and_loads_back(
    library: AssetLibrary, tmp_path: Path
) -> None:
    reported: list[str] = []
    names = generate_dataset(tmp_path, library, 3, "train", seed=1, config=SMALL, workers=2, progress=reported.append)
    assert (tmp_path / "list.txt").read_text().split() == names == sorted(reported)
    sequences = load_dataset(tmp_path, "got10k")
    assert [s.name for s in sequences] == names
    for sequence in sequences:
        directory = tmp_path / sequence.name
        assert 40 <= len(sequence) <= 50
        assert sequence.frames[0].name == "00000001.jpg"
        assert sequence.read_frame(0).shape == (120, 160, 3)
        absence = np.loadtxt(directory / "absence.label", dtype=int)
        cover = np.loadtxt(directory / "cover.label", dtype=int)
        np.testing.assert_array_equal(absence == 1, cover == 0)
        np.testing.assert_array_equal(sequence.absent, absence == 1)
        assert not sequence.absent[0] and cover[0] == 8  # the first frame shows the whole target
        boxes = sequence.ground_truth[~sequence.absent]
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 0] + boxes[:, 2] <= 160 + 1e-6)
        assert np.all(boxes[:, 1] + boxes[:, 3] <= 120 + 1e-6)
    sources = json.loads((tmp_path / SOURCES_JSON).read_text())
    assert sources and all({"package", "version", "source_path", "sequences"} <= set(entry) for entry in sources)


def test_seeded_and_heldout_uses_only_heldout_assets(library: AssetLibrary, tmp_path: Path) -> None:
    first = generate_sequence(tmp_path / "a", library, "train", seed=5, index=0, config=SMALL)
    again = generate_sequence(tmp_path / "b", library, "train", seed=5, index=0, config=SMALL)
    other = generate_sequence(tmp_path / "c", library, "train", seed=6, index=0, config=SMALL)
    truth = (first / "groundtruth.txt").read_text()
    assert truth == (again / "groundtruth.txt").read_text()
    assert truth != (other / "groundtruth.txt").read_text()
    heldout = {a.path for a in library.assets if a.split == "heldout"}
    for index in range(3):
        directory = generate_sequence(tmp_path / "h", library, "heldout", seed=0, index=index, config=SMALL)
        used = {source["path"] for source in json.loads((directory / "meta.json").read_text())["sources"]}
        assert used <= heldout


def test_target_leaves_the_view_and_returns(library: AssetLibrary, tmp_path: Path) -> None:
    config = replace(SMALL, num_frames=(80, 80), occlusion_prob=0.0)
    directory = generate_sequence(tmp_path, library, "train", seed=0, index=2, config=config, leave_view="always")
    absent = np.loadtxt(directory / "absence.label", dtype=int) == 1
    gone = np.flatnonzero(absent)
    assert len(gone) >= 3 and not absent[0]
    assert not absent[gone[-1] + 1 :].all() and (~absent[gone[-1] + 1 :]).any()  # back in view afterwards
    meta = json.loads((directory / "meta.json").read_text())
    assert meta["leaves_view"] and meta["events"]["leave_view"] == gone.tolist()
    boxes = np.loadtxt(directory / "groundtruth.txt", delimiter=",")
    assert np.all(boxes[absent] == 0)


def test_look_alike_boxes_are_recorded_where_the_look_alikes_are_drawn(library: AssetLibrary, tmp_path: Path) -> None:
    config = replace(SMALL, num_frames=(30, 30), distractor_prob=1.0, occlusion_prob=0.0, video_background_prob=0.0)
    directory = generate_sequence(tmp_path, library, "train", seed=0, index=5, config=config, leave_view="never")
    recorded = json.loads((directory / "meta.json").read_text())["distractor_boxes"]
    assert len(recorded) == 30 and sum(map(len, recorded)) >= 30
    scene = build_scene(library, "train", sequence_rng("train", 0, 5), config, leave_view=False)
    without = replace(scene, distractors=[])
    for t in (0, 15, 29):
        changed = np.abs(render_frame(scene, t)[0].astype(int) - render_frame(without, t)[0]).max(axis=2) > 2
        inside = np.zeros_like(changed)
        for x, y, w, h in recorded[t]:
            assert min(x, y) >= 0 and x + w <= 160.01 and y + h <= 120.01
            inside[max(int(y) - 3, 0) : int(y + h) + 4, max(int(x) - 3, 0) : int(x + w) + 4] = True  # blur margin
            assert changed[int(y) : int(y + h) + 1, int(x) : int(x + w) + 1].any(), "a recorded box shows nothing"
        assert not (changed & ~inside).any(), "a look-alike drawn outside its recorded box"


def test_box_is_the_exact_extent_of_the_drawn_sprite() -> None:
    rng = np.random.default_rng(4)
    sprite = make_sprite(rng, procedural_texture(rng, (100, 140)), aspect=1.6, shape="ellipse")
    for angle in (0.0, 17.0, 90.0, 133.0):
        matrix = pose_matrix(sprite, Pose(np.array([80.0, 60.0]), 40.0, 1.3, angle))
        placed = place(sprite, matrix, (120, 160))
        rows, cols = np.nonzero(placed.rgba[..., 3] > 0.5)
        drawn = np.array(
            [cols.min() + placed.x0, rows.min() + placed.y0, cols.max() + placed.x0 + 1, rows.max() + placed.y0 + 1]
        )
        np.testing.assert_allclose(screen_extent(sprite, matrix), drawn, atol=1.0)


def test_visible_fractions_map_to_got10k_cover_classes_0_to_8() -> None:
    assert [cover_class(v) for v in (0.0, 0.01, 0.15, 0.5, 0.95, 1.0)] == [0, 1, 2, 4, 7, 8]


def test_procedural_fallback_without_registries(tmp_path: Path) -> None:
    library = fetch_assets(tmp_path, allow_download=False)
    assert library.procedural and library.select("image", "train") and library.select("image", "heldout")
    assert load_library(tmp_path).assets == library.assets  # idempotent: the cache is reused


@pytest.mark.skipif(not (DEFAULT_CACHE / SOURCES_JSON).is_file(), reason=f"no fetched asset cache at {DEFAULT_CACHE}")
def test_real_asset_cache_records_packages_and_disjoint_splits() -> None:
    library = load_library(DEFAULT_CACHE)
    assert {a.package for a in library.assets} >= {"opencv-doc", "scikit-image"}
    for kind in ("image", "video"):
        train, heldout = library.select(kind, "train"), library.select(kind, "heldout")
        assert train and heldout
        assert not {a.group for a in train} & {a.group for a in heldout}
    assert all(library.absolute(a).is_file() for a in library.assets)


def test_object_stamps_are_targets_never_backgrounds(library: AssetLibrary, tmp_path: Path) -> None:
    images = library.select("image", "train")
    stamps = [replace(asset, role="target", group=f"stamp{i}") for i, asset in enumerate(images)]
    photos = [replace(asset, role="any", group=f"photo{i}") for i, asset in enumerate(stamps[:2])]
    mixed = AssetLibrary(library.root, (*photos, *stamps))
    config = replace(SMALL, video_background_prob=0.0, object_target_prob=1.0, occlusion_prob=0.0)
    for index in range(4):
        generate_sequence(tmp_path, mixed, "train", seed=3, index=index, config=config)
    for meta_path in tmp_path.glob("*/meta.json"):
        background, target = json.loads(meta_path.read_text())["sources"][:2]
        assert background["role"] == "any" and target["role"] == "target"


def test_same_kind_look_alikes_are_other_stamps_of_the_target_folder_and_the_rest_of_the_scene_stays(
    library: AssetLibrary, tmp_path: Path
) -> None:
    """``same_kind_distractors``: the look-alikes become other stamps of the target's folder (its kind), drawn from a
    child random stream: the target, the background and the look-alikes' sizes and paths stay as without them."""
    stamps = []
    for i, asset in enumerate(library.select("image", "train")):
        path = Path("stamps", "birds" if i % 2 else "fish", asset.path)
        (tmp_path / path.parent).mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes((library.root / asset.path).read_bytes())
        stamps.append(replace(asset, path=str(path), role="target", group=f"stamp{i}"))
    photo = library.select("image", "train")[0]
    (tmp_path / photo.path).write_bytes((library.root / photo.path).read_bytes())
    kinds = AssetLibrary(tmp_path, (replace(photo, group="photo"), *stamps))
    config = replace(SMALL, video_background_prob=0.0, object_target_prob=1.0, occlusion_prob=0.0,
                     distractor_prob=1.0)
    for index in range(4):
        copies = build_scene(kinds, "train", sequence_rng("train", 5, index), config, leave_view=False)
        others = build_scene(kinds, "train", sequence_rng("train", 5, index),
                             replace(config, same_kind_distractors=1.0), leave_view=False)
        target = others.sources[1]
        assert copies.sources == others.sources[:2] and np.array_equal(copies.target.center, others.target.center)
        assert [d.center.tolist() for d in copies.distractors] == [d.center.tolist() for d in others.distractors]
        kin = others.sources[2:]
        assert len(kin) == len(others.distractors) >= 1
        assert all(Path(a.path).parent == Path(target.path).parent and a != target for a in kin)
        assert all(not np.array_equal(c.sprite.rgba, o.sprite.rgba)
                   for c, o in zip(copies.distractors, others.distractors, strict=True))
    assert same_kind(list(stamps), replace(stamps[0], role="any")) == [], "a photo target has no kind"
