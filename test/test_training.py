"""Training pipeline: losses, crops, config, source loaders, and a short real run that lowers the loss and resumes."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from training_fixtures import epoch_losses, generated_config

from asymtrack_ros.checkpoint import load_weights, read_checkpoint
from asymtrack_ros.data.augment import AugmentConfig, crop_around, jitter_box
from asymtrack_ros.data.datasets import SourceConfig, load_source
from asymtrack_ros.data.pairs import PairDataset, absent_frames
from asymtrack_ros.data.sampling import IntervalBins, PairIndex
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.models.factory import build_model
from asymtrack_ros.sequences import make_sequence
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.preprocessing import map_box_back
from asymtrack_ros.training import loss_plot
from asymtrack_ros.training import trainer as trainer_module
from asymtrack_ros.training.cli import main
from asymtrack_ros.training.config import TrainConfig, load_config
from asymtrack_ros.training.losses import box_loss, flat_map_loss
from asymtrack_ros.training.trainer import CHECKPOINT, EPOCHS_CSV, LOSS_PLOT, SCALARS_CSV, TRAIN_STATE, Trainer
from asymtrack_ros.training.validate import pair_ious

ROOT = Path(__file__).resolve().parents[1]


def test_box_loss_is_zero_for_a_perfect_box_and_matches_hand_computed_l1_and_giou_terms() -> None:
    target = torch.tensor([[0.5, 0.5, 0.2, 0.4]])
    perfect = box_loss(target.clone(), target)
    assert perfect.total.item() == pytest.approx(0.0, abs=1e-6) and perfect.iou.item() == pytest.approx(1.0)
    # shifted right by its width: IoU 0, enclosing box twice the union -> GIoU -0.5, loss 1.5; L1 = 0.2 on x1, x2
    shifted = box_loss(torch.tensor([[0.7, 0.5, 0.2, 0.4]]), target)
    assert shifted.iou.item() == pytest.approx(0.0, abs=1e-6)
    assert shifted.giou.item() == pytest.approx(1.0)  # touching boxes: enclosing area equals the union
    assert shifted.l1.item() == pytest.approx(0.1)
    assert shifted.total.item() == pytest.approx(5 * 0.1 + 2 * 1.0)
    apart = box_loss(torch.tensor([[0.9, 0.5, 0.2, 0.4]]), target)
    assert apart.giou.item() == pytest.approx(1 + (0.24 - 0.16) / 0.24)  # gap of one width: enclosing 0.6 x 0.4


def test_flat_map_loss_is_zero_for_uniform_maps_and_grows_with_a_peak() -> None:
    uniform = torch.full((2, 256), 1 / 256)
    assert torch.allclose(flat_map_loss(uniform, uniform), torch.zeros(2), atol=1e-6)
    logits = torch.zeros(1, 256, requires_grad=True)
    peaked = torch.softmax(logits + 8 * torch.nn.functional.one_hot(torch.tensor([5]), 256), dim=-1)
    loss = flat_map_loss(peaked, torch.full((1, 256), 1 / 256))
    assert loss.item() > 1.0
    loss.sum().backward()
    assert logits.grad[0, 5] > 0  # descending the loss lowers the peak


def _frames_with_absence(tmp_path: Path) -> list:
    """One 6-frame video (distinct grey levels per frame) whose target is absent in frames 3 and 4."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(6):
        path = tmp_path / f"{index}.png"
        cv2.imwrite(str(path), np.full((120, 160, 3), 40 * index, np.uint8))
        paths.append(path)
    boxes = np.array([[60.0 + 5 * i, 40.0, 20.0, 20.0] for i in range(6)])
    return [make_sequence("v", paths, boxes, [np.array([0, 0, 0, 1, 1, 0], bool)])]


def test_negative_pairs_crop_an_absent_frame_around_the_last_visible_box(tmp_path: Path) -> None:
    videos = _frames_with_absence(tmp_path)
    assert [(a.frame, a.last_visible) for a in absent_frames(videos)] == [(3, 2), (4, 2)]
    plan = [PairIndex(False, 0, 0, 1, 1)] * 8
    still = AugmentConfig(search_center_jitter=0, search_scale_jitter=0, grayscale_prob=0, flip_prob=0,
                          brightness_jitter=0)
    config = build_model("asymtrack", "tiny").config

    def items(ratio: float) -> list[dict]:
        dataset = PairDataset(videos, [], plan, np.full(8, 2.0), config, still, seed=0, epoch=0, negative_ratio=ratio)
        return [dataset[k] for k in range(len(dataset))]

    positives = items(0.0)
    assert not any(item["negative"] for item in positives) and all(item["weight"] == 2.0 for item in positives)
    negatives = items(1.0)
    assert all(item["negative"] and item["weight"] == 1.0 for item in negatives)
    # the search crop shows frame 3 or 4 (grey 120 or 160 before normalisation), never a visible frame
    levels = {round(float(item["search"][0, 128, 128] * config.std[0] + config.mean[0]) * 255) for item in negatives}
    assert levels <= {120, 160} and levels


def test_an_epoch_with_negative_pairs_trains_both_losses(tmp_path: Path) -> None:
    videos = _frames_with_absence(tmp_path / "frames")
    overrides = [f"run.run_dir={tmp_path / 'run'}", "optim.pairs_per_epoch=8", "optim.batch_size=4",
                 "sampling.negative_ratio=0.5", "sampling.max_interval=4", "sampling.bin_width=2", "run.threads=1"]
    config = load_config(ROOT / "config/train_asymtrack_tiny_synthetic.yaml", overrides)
    (tmp_path / "run").mkdir()
    stats = Trainer(config, videos, []).train_epoch(0)
    assert np.isfinite(stats.flat_loss) and stats.flat_loss > 0 and np.isfinite(stats.loss)
    with (tmp_path / "run" / EPOCHS_CSV).open() as handle:
        assert float(next(csv.DictReader(handle))["flat_loss"]) == pytest.approx(stats.flat_loss)


def test_every_epoch_redraws_the_loss_plot(tmp_path: Path, monkeypatch) -> None:
    videos = _frames_with_absence(tmp_path / "frames")
    overrides = [f"run.run_dir={tmp_path / 'run'}", "optim.pairs_per_epoch=4", "optim.batch_size=2", "optim.epochs=2",
                 "sampling.negative_ratio=0.5", "sampling.max_interval=4", "sampling.bin_width=2", "run.threads=1",
                 "run.log_every=1"]
    config = load_config(ROOT / "config/train_asymtrack_tiny_synthetic.yaml", overrides)
    plotted = []
    monkeypatch.setattr(trainer_module, "plot_losses", lambda *paths: plotted.append(loss_plot.plot_losses(*paths)))
    Trainer(config, videos, []).fit()
    run = tmp_path / "run"
    assert plotted == [True, True]
    assert (run / LOSS_PLOT).read_bytes().startswith(b"\x89PNG") and not list(run.glob(".*"))
    steps = loss_plot.read_columns(run / SCALARS_CSV, ("pairs_seen", "loss", "column of a later version"))
    assert steps["pairs_seen"].tolist() == [2, 4, 6, 8] and np.isfinite(steps["loss"]).all()
    assert np.isnan(steps["column of a later version"]).all()


def test_the_loss_plot_is_skipped_without_matplotlib(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    monkeypatch.setattr(loss_plot, "_have_matplotlib", loss_plot._have_matplotlib.__wrapped__)
    assert not loss_plot.plot_losses(tmp_path / "s.csv", tmp_path / "e.csv", tmp_path / LOSS_PLOT)
    assert not (tmp_path / LOSS_PLOT).exists()


def test_search_box_inverts_the_trackers_map_back() -> None:
    rng = np.random.default_rng(0)
    image = np.zeros((240, 320, 3), np.uint8)
    box = np.array([100.0, 80.0, 40.0, 30.0])
    for _ in range(5):
        jittered = jitter_box(rng, box, center_jitter=3.0, scale_jitter=0.25)
        crop, in_crop = crop_around(image, jittered, box, factor=4.0, output_size=256)
        assert crop.shape == (256, 256, 3)
        resize_factor = 256 / np.ceil(np.sqrt(jittered[2] * jittered[3]) * 4.0)
        mapped = map_box_back(in_crop.astype(np.float32), tuple(jittered), 256, resize_factor)
        np.testing.assert_allclose(mapped, box, atol=1e-3)


def test_tiny_synthetic_config_defaults_load_and_set_overrides_apply() -> None:
    config = load_config(
        ROOT / "config/train_asymtrack_tiny_synthetic.yaml", ["sampling.mode=random", "optim.epochs=3"]
    )
    assert (config.model, config.variant, config.sampling.mode, config.optim.epochs) == (
        "asymtrack",
        "tiny",
        "random",
        3,
    )
    assert (
        config.sampling.max_interval == 200 and config.sampling.bin_width == 30 and config.sampling.schedule_order == 2
    )
    assert config.optim.lr == pytest.approx(4e-4) and config.generate.generator.num_frames == (120, 320)


def test_unknown_config_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("optim: {learning_rate: 1.0}\n")
    with pytest.raises(ValueError, match="learning_rate"):
        load_config(path)


def test_coco_source_keeps_only_large_non_crowd_annotations_as_stills(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((40, 60, 3), np.uint8))
    annotations = {
        "images": [{"id": 1, "file_name": "a.jpg"}],
        "annotations": [
            {"id": 7, "image_id": 1, "bbox": [5, 6, 20, 15], "iscrowd": 0},
            {"id": 8, "image_id": 1, "bbox": [5, 6, 3, 15], "iscrowd": 0},  # too small
            {"id": 9, "image_id": 1, "bbox": [5, 6, 20, 15], "iscrowd": 1},
        ],
    }
    (tmp_path / "instances.json").write_text(json.dumps(annotations))
    videos, stills = load_source(SourceConfig("coco", str(tmp_path), annotations=str(tmp_path / "instances.json")))
    assert videos == [] and [s.name for s in stills] == ["coco_7"]
    np.testing.assert_array_equal(stills[0].ground_truth, [[5, 6, 20, 15]])


def test_trackingnet_source_orders_frames_numerically_and_reads_the_boxes(tmp_path: Path) -> None:
    chunk = tmp_path / "tn" / "TRAIN_0"
    (chunk / "frames" / "seq").mkdir(parents=True)
    (chunk / "anno").mkdir()
    for i in range(11):
        cv2.imwrite(str(chunk / "frames" / "seq" / f"{i}.jpg"), np.zeros((20, 20, 3), np.uint8))
    (chunk / "anno" / "seq.txt").write_text("\n".join(f"{i},1,5,5" for i in range(11)))
    videos, _ = load_source(SourceConfig("trackingnet", str(tmp_path / "tn")))
    assert [f.name for f in videos[0].frames][:3] == ["0.jpg", "1.jpg", "2.jpg"] and videos[0].frames[
        -1
    ].name == "10.jpg"
    assert videos[0].ground_truth[10, 0] == 10


@dataclass(frozen=True)
class ShortRun:
    """A finished 5-epoch CPU run on a small generated dataset, shared by the tests below (read it, don't write)."""

    data: Path
    run_dir: Path
    args: list[str]  # the command line that made it; append --run-dir / --set to vary it
    losses: list[float]  # per-epoch losses of the 5 epochs


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> ShortRun:
    tmp_path = tmp_path_factory.mktemp("short_run")
    config_path = generated_config(tmp_path, num_sequences=3, num_frames=(40, 50))
    run_dir = tmp_path / "run"
    args = [
        str(config_path),
        "--run-dir",
        str(run_dir),
        "--device",
        "cpu",
        "--threads",
        "2",
        "--set",
        "optim.pairs_per_epoch=16",
        "--set",
        "optim.batch_size=8",
        "--set",
        "optim.lr=1e-3",
        "--set",
        "sampling.max_interval=40",
        "--set",
        "sampling.bin_width=10",
        "--set",
        "run.log_every=1",
    ]
    assert main([*args, "--set", "optim.epochs=5"]) == 0
    return ShortRun(tmp_path / "data", run_dir, args, epoch_losses(run_dir))


@pytest.fixture(scope="module")
def resumed_run(short_run: ShortRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the short run, rerun with the same command and 6 epochs: it should continue, not start over."""
    run_dir = tmp_path_factory.mktemp("resumed") / "run"
    shutil.copytree(short_run.run_dir, run_dir)
    assert main([*short_run.args, "--run-dir", str(run_dir), "--set", "optim.epochs=6"]) == 0
    return run_dir


def test_short_run_lowers_the_loss_over_its_five_epochs(short_run: ShortRun) -> None:
    losses = short_run.losses
    assert len(losses) == 5 and losses[-1] < losses[0]


def test_short_run_draws_the_loss_plot(short_run: ShortRun) -> None:
    assert (short_run.run_dir / LOSS_PLOT).stat().st_size > 0


def test_short_run_train_state_records_the_last_epoch_pairs_seen_and_schedule(short_run: ShortRun) -> None:
    state = torch.load(short_run.run_dir / TRAIN_STATE, weights_only=True)
    assert state["epoch"] == 5 and state["pairs_seen"] == 80 and len(state["scheduler"]["distribution"]) == 5


def test_short_run_checkpoint_holds_only_the_net_and_loads_into_the_model(short_run: ShortRun) -> None:
    assert set(torch.load(short_run.run_dir / CHECKPOINT, weights_only=True)) == {"net"}
    load_weights(build_model("asymtrack", "tiny"), short_run.run_dir / CHECKPOINT)


def test_trained_model_pair_ious_lie_in_0_1_with_valid_bins_and_repeat_exactly(short_run: ShortRun) -> None:
    model = build_model("asymtrack", "tiny")
    load_weights(model, short_run.run_dir / CHECKPOINT)
    videos = load_dataset(short_run.data, "got10k")
    ious, bins = pair_ious(model, videos, num_pairs=8, bins=IntervalBins(40, 10))
    assert ious.shape == bins.shape == (8,) and np.all((ious >= 0) & (ious <= 1)) and np.all((bins >= 1) & (bins <= 4))
    np.testing.assert_array_equal(pair_ious(model, videos, num_pairs=8, bins=IntervalBins(40, 10))[0], ious)


def test_torch_tracker_loads_the_trained_checkpoint_and_returns_a_box(short_run: ShortRun) -> None:
    tracker = create_tracker("torch", "asymtrack", "tiny", weights=str(short_run.run_dir / CHECKPOINT))
    frame = np.zeros((144, 192, 3), np.uint8)
    tracker.initialize(frame, (60.0, 50.0, 30.0, 20.0))
    assert len(tracker.track(frame).box) == 4


def test_rerun_with_more_epochs_resumes_after_the_last_epoch_instead_of_starting_over(resumed_run: Path) -> None:
    # same command with more epochs: continues from epoch 5 instead of starting over
    assert len(epoch_losses(resumed_run)) == 6
    assert torch.load(resumed_run / TRAIN_STATE, weights_only=True)["pairs_seen"] == 96
    assert sum(1 for _ in (resumed_run / SCALARS_CSV).open()) == 1 + 6 * 2


def test_resumed_run_checkpoint_has_exactly_the_model_state_dict_keys(resumed_run: Path) -> None:
    assert read_checkpoint(resumed_run / CHECKPOINT).keys() == build_model("asymtrack", "tiny").state_dict().keys()


def test_new_run_from_init_weights_starts_below_the_first_loss_of_training_from_scratch(
    short_run: ShortRun, resumed_run: Path, tmp_path: Path
) -> None:
    # a new run fine-tunes from those weights: epoch 1 starts at the loss epoch 6 ended with, not from scratch
    tuned_dir, init = tmp_path / "tuned", f"run.init_weights={resumed_run / CHECKPOINT}"
    assert main([*short_run.args, "--run-dir", str(tuned_dir), "--set", "optim.epochs=1", "--set", init]) == 0
    assert epoch_losses(tuned_dir)[0] < short_run.losses[0]


def _plan_inputs(run_dir: Path) -> tuple[TrainConfig, list]:
    """The tiny synthetic config and one 90-frame video, for planning epochs."""
    boxes = np.tile([10.0, 10.0, 20.0, 20.0], (90, 1))
    videos = [make_sequence("v", [f"{i}.jpg" for i in range(90)], boxes)]
    return load_config(ROOT / "config/train_asymtrack_tiny_synthetic.yaml", [f"run.run_dir={run_dir}"]), videos


def test_sstrack_epoch_plan_draws_only_scheduled_bins_weighted_by_their_scales(tmp_path: Path) -> None:
    config, videos = _plan_inputs(tmp_path)
    trainer = Trainer(config, videos, [])
    trainer.scheduler.distribution = np.array([0.5, 0.3, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0])
    plan, weights = trainer.plan_epoch(0)
    assert len(plan) == 2000 and {pair.bin for pair in plan} <= {0, 1, 2}
    np.testing.assert_allclose(weights, trainer.scheduler.scales[[pair.bin for pair in plan]])


def test_random_epoch_plan_covers_every_bin_with_unit_weights(tmp_path: Path) -> None:
    config, videos = _plan_inputs(tmp_path)
    random_trainer = Trainer(replace(config, sampling=replace(config.sampling, mode="random")), videos, [])
    plan, weights = random_trainer.plan_epoch(0)
    assert np.all(weights == 1.0) and {pair.bin for pair in plan} == {0, 1, 2, 3}
