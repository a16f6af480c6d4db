"""Training on two processes (DistributedDataParallel, gloo on CPU, 127.0.0.1 only) against one process.

Two ranks with a share of each global batch must end with identical weights, equal (within float tolerance) to
one process that runs the same global batch as two micro-batches (the same BatchNorm groups: on CPU each rank
normalises its own share), with the SSTrack statistics summed over the ranks, only rank 0 writing the run
directory, and resumable. The weights are compared after one step: AdamW divides each gradient by its own
running magnitude, so elements whose gradient is at float-noise level (e.g. biases before a softmax) take
steps of random sign, and two equal runs drift apart by about the learning rate within a few steps.
"""

from __future__ import annotations

import csv
import os
import socket
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.sequences import TrackSequence, make_sequence
from asymtrack_ros.training.config import OptimConfig, RunConfig, SamplingConfig, TrainConfig
from asymtrack_ros.training.distributed import DistributedContext, from_environment, shard_indices, shutdown
from asymtrack_ros.training.sstrack import SuccessAwareScheduler
from asymtrack_ros.training.trainer import CHECKPOINT, EPOCHS_CSV, TRAIN_STATE, Trainer

WORLD = 2
# per-sample IoUs and bins of an epoch, for the scheduler; rank r gets every WORLD-th sample from r
IOUS, BINS = np.array([0.9, 0.7, 0.6, 0.2, 0.5, 0.1, 0.3, 0.1, 0.8, 0.4]), np.array([0, 0, 1, 1, 2, 2, 3, 3, 1, 2])
pytestmark = pytest.mark.slow


def write_videos(root: Path, count: int = 2) -> list[TrackSequence]:
    """Generated sequences as PNG frames (the trainer reads frames from files)."""
    videos = []
    for index in range(count):
        frames, boxes = generated_sequence(num_frames=24, height=96, width=128, seed=10 + index, period=48)
        folder = root / f"video{index}"
        folder.mkdir(parents=True)
        paths = []
        for number, frame in enumerate(frames):
            paths.append(folder / f"{number:04d}.png")
            cv2.imwrite(str(paths[-1]), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        videos.append(make_sequence(f"video{index}", paths, boxes))
    return videos


def train_config(run_dir: Path, epochs: int = 1, micro_batches: int = 1, threads: int = 1) -> TrainConfig:
    """One step of AsymTrack-T per epoch on CPU (threads=0 in this test process: leave its thread count alone)."""
    return TrainConfig(
        sampling=SamplingConfig(max_interval=20, bin_width=10),
        optim=OptimConfig(batch_size=4, pairs_per_epoch=4, epochs=epochs, lr=1e-3, micro_batches=micro_batches),
        run=RunConfig(run_dir=str(run_dir), device="cpu", threads=threads, workers=0, log_every=1),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rank_main(rank: int, port: int, config: TrainConfig, videos: list[TrackSequence], out: str) -> None:
    """One torchrun-like process: environment as torchrun sets it, then the trainer."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(WORLD), GLOO_SOCKET_IFNAME="lo")
    context = from_environment("cpu")
    try:
        scheduler = SuccessAwareScheduler(np.full(4, 0.25), np.ones(4, bool), total_epochs=4)
        scheduler.update(2, IOUS[rank::WORLD], BINS[rank::WORLD], context.all_reduce_sum)
        torch.save(scheduler.state_dict(), Path(out) / f"scheduler{rank}.pt")
        trainer = Trainer(config, videos, [], context)
        trainer.fit()
        torch.save({name: value.detach() for name, value in trainer.model.named_parameters()},
                   Path(out) / f"rank{rank}.pt")
    finally:
        shutdown(context)


def run_two_ranks(config: TrainConfig, videos: list[TrackSequence], out: Path) -> list[dict[str, torch.Tensor]]:
    out.mkdir(parents=True, exist_ok=True)
    mp.spawn(_rank_main, args=(free_port(), config, videos, str(out)), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD)]


def epoch_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / EPOCHS_CSV).open() as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[TrackSequence]:
    return write_videos(tmp_path_factory.mktemp("videos"))


def test_shards_split_each_global_batch_like_micro_batches_of_one_process() -> None:
    two_ranks = [shard_indices(2, 8, 1, DistributedContext(rank, 2)) for rank in range(2)]
    assert two_ranks == [[0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]]
    assert shard_indices(2, 8, 2, DistributedContext()) == list(range(16))
    with pytest.raises(ValueError, match="multiple of processes"):
        shard_indices(1, 6, 2, DistributedContext(0, 2))


def test_two_ranks_train_like_one_process_at_the_same_global_batch(tmp_path: Path, videos) -> None:
    ranks = run_two_ranks(train_config(tmp_path / "ddp", epochs=2), videos, tmp_path / "weights")
    assert ranks[0].keys() == ranks[1].keys()
    assert all(torch.equal(ranks[0][name], ranks[1][name]) for name in ranks[0])
    assert torch.load(tmp_path / "ddp" / TRAIN_STATE, weights_only=True)["pairs_seen"] == 8
    assert len(epoch_rows(tmp_path / "ddp")) == 2  # rank 0 alone logs


def test_the_scheduler_statistics_are_summed_over_the_ranks(tmp_path: Path, videos) -> None:
    run_two_ranks(train_config(tmp_path / "ddp"), videos, tmp_path / "weights")
    single = SuccessAwareScheduler(np.full(4, 0.25), np.ones(4, bool), total_epochs=4)
    single.update(2, IOUS, BINS)
    for rank in range(WORLD):
        state = torch.load(tmp_path / "weights" / f"scheduler{rank}.pt", weights_only=True)
        assert state["tau"] == pytest.approx(single.tau)
        np.testing.assert_allclose(state["success"], single.success)
        np.testing.assert_allclose(state["distribution"], single.distribution)


def test_one_step_on_two_ranks_equals_one_process_with_two_micro_batches(tmp_path: Path, videos) -> None:
    ranks = run_two_ranks(train_config(tmp_path / "ddp"), videos, tmp_path / "weights")

    single = Trainer(train_config(tmp_path / "single", micro_batches=WORLD, threads=0), videos, [])
    single.fit()
    start = Trainer(train_config(tmp_path / "untrained", threads=0), videos, []).model.state_dict()
    moved = max(float((ranks[0][name] - start[name]).abs().max()) for name in ranks[0])
    assert moved > 5e-4  # the step moved the weights by about the learning rate (1e-3)
    for name, value in single.model.named_parameters():
        torch.testing.assert_close(ranks[0][name], value.detach(), atol=1e-4, rtol=0)


def test_a_two_rank_run_resumes_from_rank_0s_checkpoint(tmp_path: Path, videos) -> None:
    run_dir = tmp_path / "ddp"
    run_two_ranks(train_config(run_dir), videos, tmp_path / "first")
    assert (run_dir / CHECKPOINT).is_file() and not list(run_dir.glob("*.tmp"))
    ranks = run_two_ranks(train_config(run_dir, epochs=2), videos, tmp_path / "resumed")
    assert all(torch.equal(ranks[0][name], ranks[1][name]) for name in ranks[0])
    rows = epoch_rows(run_dir)
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert torch.load(run_dir / TRAIN_STATE, weights_only=True)["epoch"] == 2

    uninterrupted = run_two_ranks(train_config(tmp_path / "straight", epochs=2), videos, tmp_path / "straight_w")
    # the step after resuming: AdamW's float-noise elements (module docstring) move by up to 2 x lr either way
    for name, value in uninterrupted[0].items():
        torch.testing.assert_close(ranks[0][name], value, atol=2.5e-3, rtol=0)
