"""The training loop: planned pairs per epoch, ``5 L1 + 2 GIoU`` loss scaled per sample, AdamW, step LR decay.

DyTrack (``model: dytrack``) trains per ``dytrack.stage`` with its exits' joint loss and self-distillation
(:mod:`asymtrack_ros.training.distillation`); its logged ``l1``, ``giou`` and ``iou`` are the last exit's,
``loss`` the whole objective.

Run directory contents:

* ``checkpoint.pth``: ``{"net": state_dict}`` of the latest epoch (what the trackers and the export load);
  ``checkpoint_epochNNNN.pth`` every ``run.keep_every`` epochs.
* ``train_state.pth``: weights, optimizer, scheduler, epoch and pairs seen (DyTrack: also its imitation attentions,
  ``training_modules``, and ``stage``), all tensors and plain containers (``torch.load(weights_only=True)``); a
  run restarted with the same command resumes from it.
* ``scalars.csv`` (every ``log_every`` iterations), ``config.json`` and ``epochs.csv``, per epoch: losses, mean
  IoU, pairs/s, the samples per bin ``n_i``, the largest loss scale used, the success threshold ``tau`` and rates
  ``p_i`` measured on the epoch, and the ``d`` and ``q_i`` the scheduler set from them for the next epoch.
* ``loss.png``: the loss curve of ``scalars.csv`` and ``epochs.csv``, redrawn after each epoch.

Under ``torchrun`` (:mod:`asymtrack_ros.training.distributed`) every process plans the same epoch, takes its share
of each global batch of ``optim.batch_size`` pairs (``shard_indices``) and DistributedDataParallel averages the
gradients, so a step equals one process's step on the whole batch (BatchNorm statistics are per micro-batch:
synchronised on CUDA by SyncBatchNorm, per process on CPU, where one process with ``optim.micro_batches`` = the
number of processes reproduces them). The scheduler's statistics are summed over the processes. Rank 0 alone
reads and writes the run directory; the others get its resumed state by broadcast. The scalars and epoch rows
are rank 0's share of the samples; ``pairs_seen`` counts all.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset

from asymtrack_ros.checkpoint import load_weights
from asymtrack_ros.data.pairs import PairDataset
from asymtrack_ros.data.sampling import IntervalBins, PairIndex, PairSampler
from asymtrack_ros.devices import resolve_device
from asymtrack_ros.models.dytrack import DyTrack
from asymtrack_ros.models.factory import build_model, model_family
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.training.config import TrainConfig, to_dict
from asymtrack_ros.training.distillation import start_exits_from_last, training_setup
from asymtrack_ros.training.distributed import DistributedContext, shard_indices
from asymtrack_ros.training.loss_plot import plot_losses
from asymtrack_ros.training.losses import BoxLoss
from asymtrack_ros.training.sstrack import SuccessAwareScheduler

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pth"
TRAIN_STATE = "train_state.pth"
SCALARS_CSV = "scalars.csv"
EPOCHS_CSV = "epochs.csv"
LOSS_PLOT = "loss.png"
SCALAR_FIELDS = ("epoch", "iteration", "pairs_seen", "loss", "l1", "giou", "iou", "lr", "pairs_per_s", "elapsed_s")


@dataclass(frozen=True)
class EpochStats:
    """Means over an epoch's samples (``loss`` unscaled, ``scaled_loss`` with the per-sample scales)."""

    epoch: int
    loss: float
    scaled_loss: float
    l1: float
    giou: float
    iou: float
    pairs_per_s: float
    seconds: float
    flat_loss: float  # mean flat-map loss of the target-absent pairs (NaN without any)


class EpochMeter:
    """Running sums of an epoch's loss terms, and its per-sample IoUs and bins (for the scheduler)."""

    def __init__(self) -> None:
        self.sums = np.zeros(4)  # loss, scaled loss, l1, giou (target-visible pairs)
        self.flat_sum, self.negatives = 0.0, 0  # flat-map loss of target-absent pairs
        self._ious: list[np.ndarray] = []
        self._bins: list[np.ndarray] = []
        self.start = time.perf_counter()

    def add(self, terms: BoxLoss, weight: torch.Tensor, bins: np.ndarray, flat: torch.Tensor) -> None:
        """Box terms of the batch's target-visible pairs, flat-map losses of its target-absent ones."""
        per_sample = (terms.total, weight * terms.total, terms.l1, terms.giou)
        self.sums += [float(term.detach().sum()) for term in per_sample]
        self.flat_sum += float(flat.sum())
        self.negatives += len(flat)
        self._ious.append(terms.iou.cpu().numpy())
        self._bins.append(bins)

    @property
    def ious(self) -> np.ndarray:
        return np.concatenate(self._ious)

    @property
    def bins(self) -> np.ndarray:
        return np.concatenate(self._bins)

    def stats(self, epoch: int) -> EpochStats:
        count, seconds = len(self.ious), time.perf_counter() - self.start
        loss, scaled_loss, l1, giou = self.sums / max(count, 1)
        flat = self.flat_sum / self.negatives if self.negatives else math.nan
        pairs_per_s = (count + self.negatives) / seconds
        return EpochStats(epoch, loss, scaled_loss, l1, giou, float(self.ious.mean()), pairs_per_s, seconds, flat)


class Trainer:
    """Trains one model on video and still-image sources as ``config`` says; resumes from its run directory."""

    def __init__(self, config: TrainConfig, videos: Sequence[TrackSequence], stills: Sequence[TrackSequence],
                 context: DistributedContext | None = None) -> None:
        self.config = config
        self.context = context or DistributedContext()
        self.run_dir = Path(config.run.run_dir)
        self.device = resolve_device(config.run.device)
        if self.device.type == "cuda" and self.context.active:
            self.device = torch.device("cuda", self.context.local_rank)
        if config.run.threads:
            torch.set_num_threads(config.run.threads)
        self.videos, self.stills = list(videos), list(stills)
        torch.manual_seed(config.run.seed)  # the same initial weights on every process and every run
        self.model = build_model(config.model, config.variant).to(self.device).train()
        if self.context.active and self.device.type == "cuda":
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        setup = training_setup(config, self.model)
        self.module, self.objective, self.training_modules = setup.module, setup.objective, setup.extra
        self.optimizer = torch.optim.AdamW(setup.groups, lr=config.optim.lr, weight_decay=config.optim.weight_decay)
        sampling = config.sampling
        if sampling.mode not in ("sstrack", "random"):
            raise ValueError(f"sampling.mode must be 'sstrack' or 'random', got {sampling.mode!r}")
        self.sampler = PairSampler(
            self.videos, self.stills, IntervalBins(sampling.max_interval, sampling.bin_width, sampling.still_bin)
        )
        self.scheduler = SuccessAwareScheduler(
            self.sampler.random_distribution(sampling.still_ratio),
            self.sampler.available,
            config.optim.epochs,
            sampling.schedule_order,
        )
        self.epoch, self.pairs_seen = 0, 0
        self._resume()
        self.network: torch.nn.Module = self.module
        if self.context.active:  # wraps after resuming: DDP starts every process from rank 0's weights
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            # some outputs (e.g. the score branch) take no part in the loss: their parameters get no gradient
            self.network = DistributedDataParallel(self.module, device_ids=device_ids, find_unused_parameters=True)

    def learning_rate(self, epoch: int) -> float:
        optim = self.config.optim
        drop = epoch >= round(optim.lr_drop_fraction * optim.epochs)
        return optim.lr * (optim.lr_drop_factor if drop else 1.0)

    def plan_epoch(self, epoch: int) -> tuple[list[PairIndex], np.ndarray]:
        """The epoch's pairs (a whole number of batches) and their loss scales."""
        optim, sampling = self.config.optim, self.config.sampling
        count = optim.pairs_per_epoch // optim.batch_size * optim.batch_size
        rng = np.random.default_rng([self.config.run.seed, epoch, 1])
        if sampling.mode == "random":
            plan = [self.sampler.sample_random(rng, sampling.still_ratio) for _ in range(count)]
            return plan, np.ones(count)
        q = self.scheduler.distribution
        plan = [self.sampler.sample_bin(rng, int(b)) for b in rng.choice(len(q), size=count, p=q)]
        scales = self.scheduler.scales if sampling.gradient_scaling else np.ones(len(q))
        return plan, scales[[pair.bin for pair in plan]]

    def fit(self) -> list[EpochStats]:
        """Train the remaining epochs, checkpointing after each."""
        main = self.context.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(to_dict(self.config), indent=1))
        history = []
        while self.epoch < self.config.optim.epochs:
            history.append(self.train_epoch(self.epoch))
            self.epoch += 1
            if main:
                self.save()
                plot_losses(self.run_dir / SCALARS_CSV, self.run_dir / EPOCHS_CSV, self.run_dir / LOSS_PLOT)
            self.context.barrier()
        return history

    def train_epoch(self, epoch: int) -> EpochStats:
        """One epoch; afterwards the scheduler sets the next epoch's distribution from its IoUs."""
        config = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(epoch) * group.get("lr_scale", 1.0)
        plan, weights = self.plan_epoch(epoch)
        dataset = PairDataset(
            self.videos, self.stills, plan, weights, self.model.config, config.augment, config.run.seed, epoch,
            config.sampling.negative_ratio,
        )
        micro_batches = config.optim.micro_batches
        steps = len(plan) // config.optim.batch_size
        shard = shard_indices(steps, config.optim.batch_size, micro_batches, self.context)
        loader = DataLoader(
            Subset(dataset, shard),
            batch_size=config.optim.batch_size // (self.context.world_size * micro_batches),
            num_workers=config.run.workers,
            pin_memory=self.device.type == "cuda",
        )
        self.network.train()
        meter, pending, iteration = EpochMeter(), [], 0
        for batch in loader:
            pending.append(batch)
            if len(pending) < micro_batches:
                continue
            for micro_batch, (terms, flat) in zip(pending, self._step(pending), strict=True):
                positive = ~micro_batch["negative"]
                meter.add(terms.select(positive.to(self.device)), micro_batch["weight"][positive].to(self.device),
                          micro_batch["bin"][positive].numpy(), flat)
            self.pairs_seen += config.optim.batch_size
            iteration, pending = iteration + 1, []
            if self.context.is_main and (iteration % config.run.log_every == 0 or iteration == steps):
                self._log_progress(epoch, iteration, steps, meter)
        stats = meter.stats(epoch)
        scales = self.scheduler.scales
        if config.sampling.mode == "sstrack":
            self.scheduler.update(epoch + 1, meter.ious, meter.bins, self.context.all_reduce_sum)
        if self.context.is_main:
            self._log_epoch(stats, meter.bins, scales)
        return stats

    def _step(self, micro_batches: list[dict[str, torch.Tensor]]) -> list[tuple[BoxLoss, torch.Tensor]]:
        """One optimiser step over this process's micro-batches of a global batch (gradients averaged over them
        and, by DDP, over the processes); per micro-batch, the box terms of every sample and the flat-map loss of
        the negative ones."""
        self.optimizer.zero_grad(set_to_none=True)
        outputs = []
        for position, batch in enumerate(micro_batches):
            with self._gradient_sync(position == len(micro_batches) - 1):
                terms, flat, loss = self._loss(batch)
                (loss / len(micro_batches)).backward()
            outputs.append((terms, flat))
        if self.config.optim.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.config.optim.grad_clip_norm)
        self.optimizer.step()
        return outputs

    def _gradient_sync(self, last: bool) -> AbstractContextManager[None]:
        """DDP averages the gradients over the processes only on a step's last micro-batch."""
        if last or not isinstance(self.network, DistributedDataParallel):
            return nullcontext()
        return self.network.no_sync()

    def _loss(self, batch: dict[str, torch.Tensor]) -> tuple[BoxLoss, torch.Tensor, torch.Tensor]:
        """Box terms, flat-map losses of the negative pairs (detached) and the batch's scaled mean loss."""
        template, search = batch["template"].to(self.device), batch["search"].to(self.device)
        target, weight = batch["box"].to(self.device), batch["weight"].to(self.device)
        negative = batch["negative"].to(self.device)
        terms = self.objective(self.network(template, search), target, negative)
        return terms.box, terms.flat[negative].detach(), (weight * terms.per_sample).mean()

    def _log_progress(self, epoch: int, iteration: int, iterations: int, meter: EpochMeter) -> None:
        current = meter.stats(epoch)
        lr = self.optimizer.param_groups[-1]["lr"]
        eta = (iterations - iteration) * self.config.optim.batch_size / current.pairs_per_s
        bar = "#" * (20 * iteration // iterations)
        line = (
            f"epoch {epoch + 1}/{self.config.optim.epochs} [{bar:<20}] {iteration}/{iterations} "
            f"loss {current.loss:.4f} l1 {current.l1:.4f} giou {current.giou:.4f} iou {current.iou:.3f} "
            f"flat {current.flat_loss:.3f} {current.pairs_per_s:.1f} pairs/s eta {eta:.0f}s"
        )
        end = "\r" if sys.stderr.isatty() and iteration < iterations else "\n"
        print(line, end=end, file=sys.stderr, flush=True)
        row = [
            epoch,
            iteration,
            self.pairs_seen,
            current.loss,
            current.l1,
            current.giou,
            current.iou,
            lr,
            current.pairs_per_s,
            current.seconds,
        ]
        _append_csv(self.run_dir / SCALARS_CSV, SCALAR_FIELDS, row)

    def _log_epoch(self, stats: EpochStats, bins: np.ndarray, scales: np.ndarray) -> None:
        counts = np.bincount(bins, minlength=len(scales))
        scheduler = self.scheduler
        fields = [
            "epoch",
            "pairs_seen",
            "loss",
            "scaled_loss",
            "l1",
            "giou",
            "iou",
            "pairs_per_s",
            "seconds",
            "lr",
            "tau",
            "d",
            "max_scale",
            "flat_loss",
        ]
        fields += [f"n_{i}" for i in range(len(scales))]
        fields += [f"q_{i}" for i in range(len(scales))] + [f"p_{i}" for i in range(len(scales))]
        row = [
            stats.epoch,
            self.pairs_seen,
            stats.loss,
            stats.scaled_loss,
            stats.l1,
            stats.giou,
            stats.iou,
            stats.pairs_per_s,
            stats.seconds,
            self.optimizer.param_groups[-1]["lr"],
            scheduler.tau,
            scheduler.d,
            float(scales.max()),
            stats.flat_loss,
            *counts.tolist(),
            *scheduler.distribution.tolist(),
            *scheduler.success.tolist(),
        ]
        _append_csv(self.run_dir / EPOCHS_CSV, fields, row)
        logger.info(
            "epoch %d done: loss %.4f, mean IoU %.3f, %.1f pairs/s; next q %s",
            stats.epoch + 1,
            stats.loss,
            stats.iou,
            stats.pairs_per_s,
            np.round(scheduler.distribution, 3).tolist(),
        )

    def save(self) -> None:
        """Write ``train_state.pth`` and ``checkpoint.pth`` (each atomically)."""
        net = {key: value.detach().cpu() for key, value in self.model.state_dict().items()}
        state = {
            "net": net,
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "pairs_seen": self.pairs_seen,
            "scheduler": self.scheduler.state_dict(),
        }
        if self.training_modules is not None:
            state["training_modules"] = self.training_modules.state_dict()
            state["stage"] = self.config.dytrack.stage
        _atomic_save(state, self.run_dir / TRAIN_STATE)
        _atomic_save({"net": net}, self.run_dir / CHECKPOINT)
        keep = self.config.run.keep_every
        if keep and self.epoch % keep == 0:
            _atomic_save({"net": net}, self.run_dir / f"checkpoint_epoch{self.epoch:04d}.pth")

    def _resume(self) -> None:
        """Rank 0 reads the run directory's state (or ``init_weights``); every process gets it from rank 0."""
        path = self.run_dir / TRAIN_STATE
        state = None
        if self.context.is_main and path.is_file():
            state = torch.load(path, map_location="cpu", weights_only=True)
        elif self.context.is_main and self.config.run.init_weights:
            checkpoint_filter = model_family(self.config.model).checkpoint_filter
            load_weights(self.model, self.config.run.init_weights, checkpoint_filter)
            logger.info("starting from the weights of %s", self.config.run.init_weights)
            dytrack = self.config.dytrack
            if isinstance(self.model, DyTrack) and dytrack.stage == 2 and dytrack.exits_from_last:
                start_exits_from_last(self.model)
                logger.info("exits 1-%d start from exit %d's heads", self.model.num_exits - 1, self.model.num_exits)
        state = self.context.broadcast(state)  # init_weights reach the others when DDP wraps the model
        if state is None:
            return
        stage, wanted = state.get("stage", self.config.dytrack.stage), self.config.dytrack.stage
        if self.training_modules is not None and stage != wanted:
            raise ValueError(f"{path} is a stage-{stage} run: stage {wanted} needs a run directory of its own "
                             "(with run.init_weights set to the earlier stage's checkpoint.pth)")
        self.model.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.training_modules is not None and "training_modules" in state:
            self.training_modules.load_state_dict(state["training_modules"])
        self.epoch, self.pairs_seen = int(state["epoch"]), int(state["pairs_seen"])
        logger.info("resuming %s after epoch %d (%d pairs seen)", self.run_dir, self.epoch, self.pairs_seen)


def _atomic_save(content: dict, path: Path) -> None:
    temporary = path.with_suffix(".tmp")
    torch.save(content, temporary)
    os.replace(temporary, path)


def _append_csv(path: Path, fields: Sequence[str], row: list) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(fields)
        writer.writerow([f"{v:.6g}" if isinstance(v, float) and math.isfinite(v) else v for v in row])
