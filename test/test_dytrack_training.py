"""DyTrack training (paper Sec. III-C, III-D, IV-A): imitation and IoU-score losses by hand, the two stages'
trainable parts, and a short real run of each stage that lowers the loss and writes a loadable checkpoint."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from training_fixtures import epoch_losses, generated_config

from asymtrack_ros.checkpoint import load_weights, read_checkpoint
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.models.dytrack import DyTrack, backbone_params
from asymtrack_ros.models.factory import build_model
from asymtrack_ros.training.cli import main
from asymtrack_ros.training.config import DyTrackConfig, load_config
from asymtrack_ros.training.distillation import (
    DyTrackTraining,
    ImitationAttention,
    cosine_imitation_loss,
    dytrack_objective,
    imitation_loss,
    start_exits_from_last,
)
from asymtrack_ros.training.losses import box_loss, flat_map_loss, iou_score_loss
from asymtrack_ros.training.trainer import CHECKPOINT, TRAIN_STATE, Trainer

torch.set_num_threads(1)


def test_cosine_imitation_loss_matches_hand_computed_values_under_spatial_and_channel_maps() -> None:
    # C = 2 channels, 1 x 2 positions: the teacher is (1, 0) at position 0 and (0, 1) at position 1
    teacher = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    student = torch.ones(1, 2, 1, 2)
    everywhere, both = torch.ones(1, 1, 1, 2), torch.ones(1, 2, 1, 1)
    # unweighted: student (1, 1, 1, 1) vs teacher (1, 0, 0, 1) flattened: cos = 2 / (2 * sqrt 2)
    assert cosine_imitation_loss(student, teacher, everywhere, both).item() == pytest.approx(1 - 1 / math.sqrt(2))
    # Att_s keeps position 0 only: f' = (1, 0, 1, 0), cos = 1 / (sqrt 2 * sqrt 2) = 0.5
    position_0 = torch.tensor([[[[1.0, 0.0]]]])
    assert cosine_imitation_loss(student, teacher, position_0, both).item() == pytest.approx(0.5)
    # and Att_c keeps channel 0 only: f' = (1, 0, 0, 0), cos = 1 / sqrt 2
    channel_0 = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1)
    assert cosine_imitation_loss(student, teacher, position_0, channel_0).item() == pytest.approx(
        1 - 1 / math.sqrt(2))
    # the teacher imitated exactly: 0, whatever the (positive) scale of the maps
    assert cosine_imitation_loss(teacher, teacher, 3 * everywhere, both).item() == pytest.approx(0.0, abs=1e-6)


def test_imitation_loss_averages_the_students_and_trains_them_not_the_detached_teacher() -> None:
    torch.manual_seed(0)
    attentions = [ImitationAttention(4), ImitationAttention(4)]
    source = torch.randn(2, 4, 3, 3, requires_grad=True)
    teacher = (2 * source).detach()
    students = [torch.randn(2, 4, 3, 3, requires_grad=True) for _ in attentions]
    spatial, channel = attentions[0](teacher)
    assert spatial.shape == (2, 1, 3, 3) and channel.shape == (2, 4, 1, 1)
    assert bool(((spatial > 0) & (spatial < 1)).all() and ((channel > 0) & (channel < 1)).all())
    loss = imitation_loss(students, teacher, attentions)
    each = [cosine_imitation_loss(s, teacher, *a(teacher)) for s, a in zip(students, attentions, strict=True)]
    torch.testing.assert_close(loss, (each[0] + each[1]) / 2)  # Eq. (4): mean over the K - 1 students
    loss.sum().backward()
    assert source.grad is None and all(s.grad is not None and s.grad.abs().sum() > 0 for s in students)
    assert all(p.grad is not None for a in attentions for p in a.parameters())


def test_iou_score_loss_is_the_squared_gap_to_the_iou_of_the_exits_box_with_the_truth() -> None:
    target = torch.tensor([[0.5, 0.5, 0.2, 0.4]])
    # shifted right by half its width: intersection 0.1 x 0.4 = 0.04, union 0.08 + 0.08 - 0.04 = 0.12: IoU 1/3
    box = torch.tensor([[0.6, 0.5, 0.2, 0.4]], requires_grad=True)
    iou = box_loss(box, target).iou
    assert iou.item() == pytest.approx(1 / 3)
    score = torch.tensor([[0.5]], requires_grad=True)
    loss = iou_score_loss(score, iou)
    assert loss.shape == (1,) and loss.item() == pytest.approx((0.5 - 1 / 3) ** 2)
    loss.sum().backward()
    assert score.grad is not None and score.grad.item() == pytest.approx(2 * (0.5 - 1 / 3))
    assert box.grad is None  # the IoU is a target, not a path for gradients into the box


def test_dytrack_objective_is_eq6_summed_over_the_exits() -> None:
    target = torch.tensor([[0.5, 0.5, 0.2, 0.4], [0.5, 0.5, 0.2, 0.4]])
    negative = torch.tensor([False, True])
    maps = torch.softmax(torch.arange(16.0).repeat(2, 1), dim=-1)
    exits = [{"pred_boxes": target + shift, "prob_tl": maps, "prob_br": maps, "iou": torch.tensor([[0.6], [0.2]])}
             for shift in (0.1, 0.0)]
    output = {"exits": exits, "imitation": torch.tensor([0.3, 0.1])}
    terms = dytrack_objective(output, target, negative, DyTrackConfig(), negative_weight=0.5)
    boxes = [box_loss(answer["pred_boxes"], target) for answer in exits]
    flat = flat_map_loss(maps, maps)
    visible = sum(b.total[0] + 5 * (0.6 - b.iou[0]) ** 2 for b in boxes) + 10 * 0.3
    absent = 2 * (0.5 * flat[1] + 5 * 0.2**2) + 10 * 0.1  # target absent: flat maps, score towards 0
    torch.testing.assert_close(terms.per_sample, torch.stack([visible, absent]))
    torch.testing.assert_close(terms.box.total, terms.per_sample)
    torch.testing.assert_close(terms.box.iou, boxes[-1].iou)  # the log and the scheduler read the last exit


def _model() -> DyTrack:
    torch.manual_seed(0)
    model = build_model("dytrack", "tiny")
    assert isinstance(model, DyTrack)
    return model


def test_stage_1_trains_the_backbone_and_the_last_branch_and_stage_2_every_exit() -> None:
    model = _model()
    first = DyTrackTraining(model, stage=1)
    assert first.trained_exits == (3,) and len(first.attentions) == 0
    assert not any(p.requires_grad for k in (1, 2) for p in model.decisioner(k).parameters())
    backbone, rest = first.parameter_groups(0.1)
    assert backbone["lr_scale"] == 0.1 and sum(p.numel() for p in backbone["params"]) == backbone_params(model)
    assert {id(p) for p in rest["params"]} == {id(p) for p in model.decisioner(3).parameters()}
    second = DyTrackTraining(model, stage=2)
    assert second.trained_exits == (1, 2, 3) and len(second.attentions) == 2
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="stage"):
        DyTrackTraining(model, stage=3)


def test_stage_2_imitation_reaches_the_students_but_not_the_teacher_branch() -> None:
    training = DyTrackTraining(_model(), stage=2).train()
    generator = torch.Generator().manual_seed(1)
    template, search = (torch.randn(2, 3, size, size, generator=generator) for size in (128, 256))
    output = training(template, search)
    assert len(output["exits"]) == 3 and output["imitation"].shape == (2,)
    output["imitation"].sum().backward()
    teacher_head = training.model.decisioner(3).proj.weight
    assert teacher_head.grad is None or not teacher_head.grad.any()
    assert training.model.decisioner(1).proj.weight.grad.abs().sum() > 0


def test_start_exits_from_last_copies_the_heads_and_keeps_the_adapters() -> None:
    model = _model()
    adapter = {k: v.clone() for k, v in model.decisioner(1).adapter.state_dict().items()}
    last = model.decisioner(3)
    assert not torch.equal(model.decisioner(1).box_head.state_dict()["conv1_tl.0.weight"],
                           last.box_head.state_dict()["conv1_tl.0.weight"])
    start_exits_from_last(model)
    for exit in (1, 2):
        decisioner = model.decisioner(exit)
        for name in ("norm", "iou_head", "proj", "box_head"):
            copied, source = getattr(decisioner, name).state_dict(), getattr(last, name).state_dict()
            assert all(torch.equal(copied[key], source[key]) for key in source), (exit, name)
    assert all(torch.equal(value, model.decisioner(1).adapter.state_dict()[key]) for key, value in adapter.items())
    model.decisioner(1).proj.weight.data.add_(1.0)  # copies, not shared tensors
    assert not torch.equal(model.decisioner(1).proj.weight, last.proj.weight)


def test_a_stage_2_run_from_init_weights_starts_exits_1_2_from_exit_3(stage_runs: StageRuns, tmp_path: Path) -> None:
    init = f"run.init_weights={stage_runs.stage1 / CHECKPOINT}"
    for warm in (True, False):
        overrides = [*stage_runs.settings, f"run.run_dir={tmp_path / str(warm)}", "dytrack.stage=2", init,
                     f"dytrack.exits_from_last={str(warm).lower()}"]
        trainer = Trainer(load_config(stage_runs.config, overrides), [], [])
        model = trainer.model
        assert isinstance(model, DyTrack)
        same = torch.equal(model.decisioner(1).proj.weight, model.decisioner(3).proj.weight)
        assert same is warm


@dataclass(frozen=True)
class StageRuns:
    """Stage 1 (2 epochs of 8 pairs) and stage 2 from its checkpoint (the same, random exit 1-2 heads) on a tiny
    generated dataset."""

    config: Path
    settings: list[str]  # the --set overrides both stages share
    data: Path
    stage1: Path
    stage2: Path


@pytest.fixture(scope="module")
def stage_runs(tmp_path_factory: pytest.TempPathFactory) -> StageRuns:
    tmp_path = tmp_path_factory.mktemp("dytrack_runs")
    config_path = generated_config(tmp_path, num_sequences=2, num_frames=(30, 40), model="dytrack")
    settings = ["optim.pairs_per_epoch=8", "optim.batch_size=4", "optim.lr=1e-3", "optim.epochs=2",
                "sampling.max_interval=30", "sampling.bin_width=10", "run.log_every=1", "run.device=cpu",
                "run.threads=2"]
    args = [str(config_path), *(argument for setting in settings for argument in ("--set", setting))]
    stage1, stage2 = tmp_path / "stage1", tmp_path / "stage2"
    assert main([*args, "--run-dir", str(stage1), "--set", "dytrack.stage=1"]) == 0
    init = f"run.init_weights={stage1 / CHECKPOINT}"
    # random exit 1-2 heads: 16 pairs lower that loss reliably; the default warm start has its own test
    stage2_args = ["--set", "dytrack.stage=2", "--set", init, "--set", "dytrack.exits_from_last=false"]
    assert main([*args, "--run-dir", str(stage2), *stage2_args]) == 0
    return StageRuns(config_path, settings, tmp_path / "data", stage1, stage2)


@pytest.mark.slow
def test_each_stage_lowers_the_loss_and_writes_a_checkpoint_that_loads_into_dytrack(stage_runs: StageRuns) -> None:
    for run_dir in (stage_runs.stage1, stage_runs.stage2):
        losses = epoch_losses(run_dir)
        assert len(losses) == 2 and losses[1] < losses[0], (run_dir.name, losses)
        model = build_model("dytrack", "tiny")
        assert read_checkpoint(run_dir / CHECKPOINT).keys() == model.state_dict().keys()  # no attention modules
        load_weights(model, run_dir / CHECKPOINT)


@pytest.mark.slow
def test_stage_2_resumes_with_its_imitation_attentions(stage_runs: StageRuns, tmp_path: Path) -> None:
    state = torch.load(stage_runs.stage2 / TRAIN_STATE, weights_only=True)
    attentions = state["training_modules"]
    assert {key.split(".")[0] for key in attentions} == {"0", "1"} and state["epoch"] == 2
    assert torch.load(stage_runs.stage1 / TRAIN_STATE, weights_only=True)["training_modules"] == {}
    resumed = tmp_path / "resumed"
    shutil.copytree(stage_runs.stage2, resumed)
    overrides = [*stage_runs.settings, f"run.run_dir={resumed}", "dytrack.stage=2", "optim.epochs=3"]  # a rerun
    trainer = Trainer(load_config(stage_runs.config, overrides), load_dataset(stage_runs.data, "got10k"), [])
    assert trainer.epoch == 2 and trainer.training_modules is not None
    for key, value in trainer.training_modules.state_dict().items():
        assert torch.equal(value, attentions[key])
    assert trainer.pairs_seen == 16 and len(trainer.optimizer.state) > 0
    with pytest.raises(ValueError, match="stage-2 run"):  # another stage's run directory is not resumed
        Trainer(load_config(stage_runs.config, [*overrides, "dytrack.stage=1"]), [], [])
