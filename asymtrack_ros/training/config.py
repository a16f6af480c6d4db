"""Training configuration: nested dataclasses read from YAML or JSON, with ``section.key=value`` overrides."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from asymtrack_ros.data.augment import AugmentConfig
from asymtrack_ros.data.datasets import SourceConfig
from asymtrack_ros.data.generator import GeneratorConfig


@dataclass(frozen=True)
class GenerateConfig:
    """A generated dataset made on first use (when its ``list.txt`` is missing) and read as GOT-10k."""

    path: str
    num_sequences: int = 200
    split: str = "train"
    seed: int = 0
    workers: int = 0  # 0: every core
    assets: str | None = None  # asset cache; None: the default cache
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)


@dataclass(frozen=True)
class SamplingConfig:
    """``mode``: ``sstrack`` (interval-based sampler + success-aware scheduler) or ``random``."""

    mode: str = "sstrack"
    max_interval: int = 200
    bin_width: int = 30
    still_bin: bool = True
    still_ratio: float = 0.1  # share of still pairs under the random sampler (q^R of the still bin)
    schedule_order: float = 2.0
    gradient_scaling: bool = True
    # share of pairs whose search crop is a frame where the target is absent (crop around its last visible box);
    # they train the corner maps to stay flat there (``losses.flat_map_loss``). 0: none (the papers' training).
    negative_ratio: float = 0.0


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with a step decay of ``lr_drop_factor`` at ``lr_drop_fraction`` of the epochs (HiT/AsymTrack)."""

    lr: float = 4e-4
    weight_decay: float = 1e-4
    batch_size: int = 16
    epochs: int = 60
    pairs_per_epoch: int = 2000
    lr_drop_fraction: float = 0.8
    lr_drop_factor: float = 0.1
    grad_clip_norm: float = 0.1
    negative_loss_weight: float = 1.0  # weight of flat_map_loss on target-absent pairs
    # gradient accumulation: each optimiser step's batch_size pairs run as this many equal micro-batches per process
    micro_batches: int = 1


@dataclass(frozen=True)
class RunConfig:
    """Where and how: run directory, device (``cpu``, ``cuda[:N]``, ``auto``), threads, loader workers, seed.

    ``init_weights``: a checkpoint (ours or the authors') a new run starts from (fine-tuning; the optimizer and
    schedule start fresh). Ignored once the run directory has its own state to resume.
    """

    run_dir: str = "runs/train"
    init_weights: str = ""
    device: str = "auto"
    threads: int = 0  # 0: torch's default
    workers: int = 0
    seed: int = 0
    log_every: int = 10  # iterations between progress lines / CSV rows
    keep_every: int = 0  # also keep checkpoint_epochNNNN.pth every N epochs (0: only the latest)


@dataclass(frozen=True)
class DyTrackConfig:
    """DyTrack's recipe (read only when ``model`` is ``dytrack``; ``training/distillation.py``).

    ``stage`` (Sec. IV-A): 1 trains the backbone and the last exit's branch (the other decisioners run frozen, their
    box heads not at all); 2 trains every exit jointly with target-aware self-distillation (Sec. III-C). Loss
    weights lambda_s, lambda_m of Eq. (6); ``backbone_lr_scale``: the encoder's learning rate relative to
    ``optim.lr`` (the paper: 1e-5 vs 1e-4, i.e. 0.1, from a pretrained ViT). ``exits_from_last``: a stage-2
    run that starts from ``run.init_weights`` first copies the last exit's LayerNorm, IoU MLP, projection and
    box head into exits 1..K-1 (:func:`~asymtrack_ros.training.distillation.start_exits_from_last`).
    """

    stage: int = 1
    score_weight: float = 5.0
    imitation_weight: float = 10.0
    backbone_lr_scale: float = 1.0
    exits_from_last: bool = True


@dataclass(frozen=True)
class TrainConfig:
    model: str = "asymtrack"
    variant: str = "tiny"
    sources: tuple[SourceConfig, ...] = ()
    generate: GenerateConfig | None = None
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    dytrack: DyTrackConfig = field(default_factory=DyTrackConfig)


def load_config(path: Path | str, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML/JSON config file and apply ``section.key=value`` overrides (values parsed as YAML)."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    for override in overrides:
        key, equals, value = override.partition("=")
        if not equals:
            raise ValueError(f"override {override!r} is not key=value")
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _parse_value(value)
    return from_dict(TrainConfig, raw)


def _parse_value(text: str) -> Any:
    """JSON when it parses (``1e-3`` is a number there, a string in YAML 1.1), else YAML."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return yaml.safe_load(text)


def from_dict(cls: type, data: Any) -> Any:
    """Build dataclass ``cls`` from nested dicts/lists, rejecting unknown keys."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}; expected some of {sorted(known)}")
    return cls(**{key: _convert(hints[key], value) for key, value in data.items()})


def _convert(hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _convert(next(arg for arg in args if arg is not type(None)), value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    if origin is tuple:
        return tuple(_convert(args[0], v) for v in value)
    if hint is float and isinstance(value, int | str):
        return float(value)  # YAML 1.1 reads 1e-3 as a string
    return value


def to_dict(config: TrainConfig) -> dict[str, Any]:
    """Plain nested dict (JSON-serialisable) of a config."""
    return json.loads(json.dumps(dataclasses.asdict(config)))
