"""Training on several processes (``torchrun``): torch.distributed set-up and the few collectives the trainer needs.

``torchrun`` starts one process per device and sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`from_environment` joins the process group from them (NCCL on CUDA, gloo on CPU). Without
them (a plain ``asymtrack-train``) the context is a single process and every collective is the identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class DistributedContext:
    """This process's place among ``world_size`` processes (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        """True when several processes train together (a process group is joined)."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run directory (checkpoints, logs, plots)."""
        return self.rank == 0

    def all_reduce_sum(self, values: np.ndarray) -> np.ndarray:
        """Element-wise float64 sum of ``values`` over every process."""
        if not self.active:
            return np.asarray(values, dtype=np.float64)
        tensor = torch.as_tensor(np.asarray(values, dtype=np.float64), device=self._device())
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.cpu().numpy()

    def broadcast(self, value: T) -> T:
        """Rank 0's ``value`` (any picklable object) on every process."""
        if not self.active:
            return value
        holder: list[object] = [value]
        dist.broadcast_object_list(holder, src=0, device=self._device())
        return holder[0]  # type: ignore[return-value]

    def barrier(self) -> None:
        """Wait until every process got here."""
        if self.active:
            dist.barrier()

    def _device(self) -> torch.device:
        if dist.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


def from_environment(device: str = "auto") -> DistributedContext:
    """Join the process group ``torchrun`` describes in the environment; a single process without it.

    NCCL when ``device`` asks for CUDA (``auto``: when CUDA is available), gloo otherwise; on CUDA this process
    then uses device ``cuda:LOCAL_RANK``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device != "cpu" and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistributedContext(rank, world_size, local_rank)


def shutdown(context: DistributedContext) -> None:
    """Leave the process group (after training)."""
    if context.active and dist.is_initialized():
        dist.destroy_process_group()


def shard_indices(num_steps: int, batch_size: int, micro_batches: int, context: DistributedContext) -> list[int]:
    """This process's sample indices, in order, for ``num_steps`` optimiser steps of ``batch_size`` samples.

    Each step's batch is cut into ``world_size * micro_batches`` equal chunks; process ``r`` takes chunks
    ``r * micro_batches ... (r + 1) * micro_batches - 1``, one micro-batch each. One process with ``micro_batches``
    = N therefore sees the same chunks, in the same groups, as N processes with one micro-batch each.
    """
    chunks = context.world_size * micro_batches
    if batch_size % chunks:
        raise ValueError(f"optim.batch_size {batch_size} must be a multiple of processes x optim.micro_batches = "
                         f"{context.world_size} x {micro_batches}")
    chunk = batch_size // chunks
    first = context.rank * micro_batches
    return [step * batch_size + c * chunk + offset
            for step in range(num_steps) for c in range(first, first + micro_batches) for offset in range(chunk)]
