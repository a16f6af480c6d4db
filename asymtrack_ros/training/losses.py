"""Per-sample losses: AsymTrack's (and STARK/OSTrack's) ``5 * L1 + 2 * GIoU`` on normalised corner boxes, for
target-absent pairs (our addition) a loss that flattens the corner maps, and DyTrack's IoU-score L2 (Sec. III-D).

:func:`tracking_objective` puts the first two together for a model with one answer (AsymTrack, HiT); DyTrack's
objective over its exits is in :mod:`asymtrack_ros.training.distillation`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

L1_WEIGHT = 5.0
GIOU_WEIGHT = 2.0


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """(cx, cy, w, h) -> (x1, y1, x2, y2) along the last dimension."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1)


def iou_and_giou(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row-wise IoU and generalised IoU of (N, 4) xyxy boxes (degenerate boxes give IoU 0, not NaN)."""
    pred_area = (pred[:, 2] - pred[:, 0]).clamp(min=0) * (pred[:, 3] - pred[:, 1]).clamp(min=0)
    target_area = (target[:, 2] - target[:, 0]).clamp(min=0) * (target[:, 3] - target[:, 1]).clamp(min=0)
    top_left = torch.maximum(pred[:, :2], target[:, :2])
    bottom_right = torch.minimum(pred[:, 2:], target[:, 2:])
    intersection = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    union = pred_area + target_area - intersection
    iou = intersection / union.clamp(min=1e-7)
    enclosing = (torch.maximum(pred[:, 2:], target[:, 2:]) - torch.minimum(pred[:, :2], target[:, :2])).prod(dim=1)
    giou = iou - (enclosing - union) / enclosing.clamp(min=1e-7)
    return iou, giou


@dataclass(frozen=True)
class BoxLoss:
    """Per-sample terms: ``total = 5 * l1 + 2 * giou_loss``, and the IoU (no gradient) for the scheduler."""

    total: torch.Tensor
    l1: torch.Tensor
    giou: torch.Tensor
    iou: torch.Tensor

    def select(self, mask: torch.Tensor) -> BoxLoss:
        """The terms of the samples where ``mask`` is true."""
        return BoxLoss(self.total[mask], self.l1[mask], self.giou[mask], self.iou[mask])


def box_loss(pred_cxcywh: torch.Tensor, target_cxcywh: torch.Tensor) -> BoxLoss:
    """Loss terms per sample of (N, 4) normalised (cx, cy, w, h) predictions against targets."""
    pred, target = cxcywh_to_xyxy(pred_cxcywh), cxcywh_to_xyxy(target_cxcywh)
    iou, giou = iou_and_giou(pred, target)
    l1 = (pred - target).abs().mean(dim=1)
    giou_loss = 1.0 - giou
    return BoxLoss(L1_WEIGHT * l1 + GIOU_WEIGHT * giou_loss, l1, giou_loss, iou.detach())


def flat_map_loss(prob_tl: torch.Tensor, prob_br: torch.Tensor) -> torch.Tensor:
    """KL(uniform || p) of (N, fs*fs) corner probability maps, mean of both corners, per sample.

    Zero when a map is uniform: for a search crop without the target it teaches the head to spread its mass,
    so the peak-mass confidence (``tracking/confidence.py``) falls when the target is gone.
    """
    cells = prob_tl.shape[-1]
    terms = [-torch.log(prob.clamp_min(1e-12)).mean(dim=-1) - math.log(cells) for prob in (prob_tl, prob_br)]
    return (terms[0] + terms[1]) / 2


@dataclass(frozen=True)
class LossTerms:
    """A batch's per-sample terms: ``box`` (what the epoch meter logs and the scheduler reads), the flat-map loss
    ``flat`` and ``per_sample``, the loss each sample adds before its scale."""

    box: BoxLoss
    flat: torch.Tensor
    per_sample: torch.Tensor


def tracking_objective(
    output: dict[str, torch.Tensor], target: torch.Tensor, negative: torch.Tensor, negative_weight: float
) -> LossTerms:
    """One answer's loss per sample: ``5 L1 + 2 GIoU`` where the target is visible, ``negative_weight`` times the
    flat-map loss where it is absent (``negative``)."""
    box = box_loss(output["pred_boxes"], target)
    flat = flat_map_loss(output["prob_tl"], output["prob_br"])
    return LossTerms(box, flat, torch.where(negative, negative_weight * flat, box.total))


def iou_score_loss(score: torch.Tensor, iou: torch.Tensor) -> torch.Tensor:
    """DyTrack's L_score (Sec. III-D, an L2 loss): ``(s_k - IoU_k)^2`` per sample for predicted scores (B, 1) or
    (B,) against the IoU (B,) of the exit's own box with the truth, taken as a constant target (detached)."""
    return (score.reshape(-1) - iou.detach()) ** 2
