"""DyTrack training (Zhu et al., ``shared/papers/dytrack.txt``): target-aware self-distillation, the joint
objective and the two stages.

- Sec. III-C: the last exit's feature f_K teaches the earlier exits' f_k. An imitation attention G_k turns f_K
  into a spatial map Att_s and a channel vector Att_c that re-weight the student, f'_k = f_k * Att_s * Att_c, and
  Eq. (3) measures ``1 - cos(f'_k, f_K)``; Eq. (4) averages it over the K - 1 students. Training only: the
  attention modules are not part of the model or its checkpoint.
- Sec. III-D, Eq. (5)-(6): per exit ``5 L1 + 2 GIoU`` and ``5 (s_k - IoU_k)^2`` (IoU_k: the exit's own box
  against the truth), plus ``10 L_imit``.
- Sec. IV-A: stage 1 trains the backbone and the last branch, stage 2 all exits jointly (from stage 1's weights,
  ``run.init_weights``); backbone and the rest may take different learning rates.

Choices the paper leaves open: f_k is the box head's input (the decisioner's projected search tokens); G_k's
1x1 convolution gives spatial logits, Att_s is their sigmoid and Att_c the sigmoid of a linear projection of
f_K pooled with the softmax (over space) of the same logits; Eq. (3)'s cosine is over each sample's whole
flattened map (per-token cosines would cancel Att_s); the teacher is detached; the exits' losses are summed; in
stage 1 decisioners 1..K-1 still run (decisioner K recycles their output, Eq. 2) with frozen weights. A
target-absent pair (``sampling.negative_ratio``) trains each exit's corner maps flat and its score towards 0.
Stage 2 starts exits 1..K-1's heads from exit K's trained ones (``dytrack.exits_from_last``): from random
heads, early corner maps put the top-left corner below-right of the bottom-right one, GIoU has no gradient
towards a valid box and exits 1-2 stayed at IoU 0 in a short CPU run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from asymtrack_ros.models.dytrack import DyTrack, backbone_parameters
from asymtrack_ros.models.network import TrackerNetwork
from asymtrack_ros.training.config import DyTrackConfig, TrainConfig
from asymtrack_ros.training.losses import BoxLoss, LossTerms, iou_score_loss, tracking_objective

STAGES = (1, 2)

# (network output, target boxes, negative mask) -> per-sample terms
Objective = Callable[[Any, torch.Tensor, torch.Tensor], LossTerms]


def cosine_imitation_loss(
    student: torch.Tensor, teacher: torch.Tensor, spatial: torch.Tensor, channel: torch.Tensor
) -> torch.Tensor:
    """Eq. (3) per sample: ``1 - cos(f'_k, f_K)`` with ``f'_k = student * spatial * channel``, the cosine taken
    over each sample's flattened map. ``student``, ``teacher`` (B, C, H, W); ``spatial`` (B, 1, H, W);
    ``channel`` (B, C, 1, 1)."""
    weighted = student * spatial * channel
    return 1.0 - F.cosine_similarity(weighted.flatten(1), teacher.flatten(1), dim=1, eps=1e-8)


class ImitationAttention(nn.Module):
    """G_k (Sec. III-C): the teacher map f_K (B, C, H, W) -> Att_s (B, 1, H, W) and Att_c (B, C, 1, 1), in (0, 1).

    A 1x1 convolution gives spatial logits: Att_s = sigmoid(logits); Att_c = sigmoid(linear(sum over space of
    softmax_space(logits) * f_K)).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.spatial = nn.Conv2d(channels, 1, kernel_size=1)
        self.channel = nn.Linear(channels, channels)

    def forward(self, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.spatial(teacher)
        weights = logits.flatten(2).softmax(dim=-1)  # (B, 1, HW): softmax over the spatial dimension
        context = (teacher.flatten(2) * weights).sum(dim=-1)  # (B, C)
        return torch.sigmoid(logits), torch.sigmoid(self.channel(context))[..., None, None]


def imitation_loss(
    students: Sequence[torch.Tensor], teacher: torch.Tensor, attentions: Sequence[nn.Module]
) -> torch.Tensor:
    """Eq. (4) per sample: the mean over the students f_1..f_{K-1} of Eq. (3) against the teacher f_K, each
    re-weighted by its own imitation attention G_k of the teacher."""
    terms = [cosine_imitation_loss(student, teacher, *attention(teacher))
             for student, attention in zip(students, attentions, strict=True)]
    return torch.stack(terms).mean(dim=0)


class DyTrackTraining(nn.Module):
    """DyTrack's training forward for one stage (Sec. IV-A): every trained exit's answer and the imitation loss.

    Stage 1 freezes decisioners 1..K-1 (they still run: decisioner K recycles their output) and computes only
    exit K's box head; stage 2 trains all exits and holds the K - 1 imitation attentions.
    """

    def __init__(self, model: DyTrack, stage: int) -> None:
        super().__init__()
        if stage not in STAGES:
            raise ValueError(f"dytrack.stage must be 1 or 2, got {stage!r}")
        self.model, self.stage = model, stage
        last = model.num_exits
        self.trained_exits = (last,) if stage == 1 else tuple(range(1, last + 1))
        students = len(self.trained_exits) - 1
        self.attentions = nn.ModuleList(ImitationAttention(model.spec.head_channels) for _ in range(students))
        for exit in range(1, last):
            model.decisioner(exit).requires_grad_(stage == 2)

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict[str, Any]:
        """``exits``: per trained exit ``pred_boxes``, ``prob_tl``, ``prob_br``, ``iou`` (s_k); ``imitation``:
        Eq. (4) per sample (zeros in stage 1), the teacher detached."""
        model = self.model
        hidden, recycled = model.embed_search(search, model.encode_template(template)), None
        answers, features = [], []
        for exit in range(1, model.num_exits + 1):
            hidden, recycled, iou = model.segment(exit, hidden, recycled)
            if exit in self.trained_exits:
                feature = model.decisioner(exit).search_features(recycled)
                features.append(feature)
                answers.append({**model.decisioner(exit).locate_features(feature), "iou": iou})
        if self.attentions:
            imitation = imitation_loss(features[:-1], features[-1].detach(), list(self.attentions))
        else:
            imitation = torch.zeros(search.shape[0], device=search.device)
        return {"exits": answers, "imitation": imitation}

    def parameter_groups(self, backbone_lr_scale: float) -> list[dict[str, Any]]:
        """AdamW groups of the trainable parameters: the encoder at ``backbone_lr_scale`` x the learning rate,
        the rest (decisioners, heads, imitation attentions) at 1x (Sec. IV-A: 1e-5 vs 1e-4)."""
        backbone = {id(p) for p in backbone_parameters(self.model)}
        trainable = [p for p in self.parameters() if p.requires_grad]
        return [{"params": [p for p in trainable if id(p) in backbone], "lr_scale": backbone_lr_scale},
                {"params": [p for p in trainable if id(p) not in backbone], "lr_scale": 1.0}]


def dytrack_objective(
    output: dict[str, Any], target: torch.Tensor, negative: torch.Tensor, weights: DyTrackConfig,
    negative_weight: float = 1.0,
) -> LossTerms:
    """Eq. (6) per sample, summed over the trained exits: ``5 L1 + 2 GIoU + lambda_s (s_k - IoU_k)^2`` (a
    target-absent pair: ``negative_weight`` x flat-map loss + ``lambda_s s_k^2``), plus ``lambda_m L_imit``.

    ``box`` carries that total as ``total`` and the last exit's L1, GIoU and IoU (for the log and the scheduler).
    """
    exits = [tracking_objective(answer, target, negative, negative_weight) for answer in output["exits"]]
    per_sample = weights.imitation_weight * output["imitation"]
    for answer, terms in zip(output["exits"], exits, strict=True):
        iou = torch.where(negative, torch.zeros_like(terms.box.iou), terms.box.iou)
        per_sample = per_sample + terms.per_sample + weights.score_weight * iou_score_loss(answer["iou"], iou)
    last = exits[-1]
    return LossTerms(BoxLoss(per_sample, last.box.l1, last.box.giou, last.box.iou), last.flat, per_sample)


def start_exits_from_last(model: DyTrack) -> None:
    """Copy exit K's LayerNorm, IoU MLP, projection and box head into exits 1..K-1 (their adapters keep their
    own weights): stage 2's starting point when ``dytrack.exits_from_last`` is set."""
    last = model.decisioner(model.num_exits)
    for exit in range(1, model.num_exits):
        decisioner = model.decisioner(exit)
        for name in ("norm", "iou_head", "proj", "box_head"):
            getattr(decisioner, name).load_state_dict(getattr(last, name).state_dict())


@dataclass(frozen=True)
class TrainingSetup:
    """What the trainer runs: ``module`` (its forward; what DDP wraps), the optimizer's parameter groups, the
    objective on ``module``'s output, and ``extra``, training-only modules saved in the train state alone."""

    module: nn.Module
    groups: list[dict[str, Any]]
    objective: Objective
    extra: nn.Module | None


def training_setup(config: TrainConfig, model: TrackerNetwork) -> TrainingSetup:
    """DyTrack: :class:`DyTrackTraining` for ``config.dytrack.stage`` and :func:`dytrack_objective`; any other
    model: the model itself, one parameter group and :func:`tracking_objective`."""
    negative_weight = config.optim.negative_loss_weight
    if config.model != "dytrack":
        objective = partial(tracking_objective, negative_weight=negative_weight)
        return TrainingSetup(model, [{"params": list(model.parameters())}], objective, None)
    if not isinstance(model, DyTrack):
        raise TypeError(f"model 'dytrack' built a {type(model).__name__}")
    module = DyTrackTraining(model, config.dytrack.stage)
    objective = partial(dytrack_objective, weights=config.dytrack, negative_weight=negative_weight)
    return TrainingSetup(module, module.parameter_groups(config.dytrack.backbone_lr_scale), objective,
                         module.attentions)
