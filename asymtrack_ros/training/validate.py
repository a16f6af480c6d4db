"""Held-out pair IoU: the mean IoU of a model on fixed, seeded pairs of a dataset (per interval bin).

The pairs are drawn and cropped exactly as in training (random sampler, same jitter and augmentation), so the
number is directly comparable to the training IoU, and cheap enough to compare checkpoints or an untrained model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from asymtrack_ros.data.augment import AugmentConfig
from asymtrack_ros.data.pairs import PairDataset
from asymtrack_ros.data.sampling import IntervalBins, PairSampler
from asymtrack_ros.models.network import TrackerNetwork
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.training.losses import box_loss

VALIDATION_EPOCH = 10**6  # seeds the augmentation apart from any training epoch


def pair_ious(
    model: TrackerNetwork,
    videos: Sequence[TrackSequence],
    num_pairs: int = 512,
    seed: int = 0,
    bins: IntervalBins | None = None,
    batch_size: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """(IoU, bin) per pair for ``num_pairs`` seeded random-sampler pairs of ``videos`` (model in eval mode)."""
    sampler = PairSampler(videos, [], bins or IntervalBins())
    rng = np.random.default_rng([seed, 2])
    plan = [sampler.sample_random(rng, still_ratio=0.0) for _ in range(num_pairs)]
    dataset = PairDataset(videos, [], plan, np.ones(num_pairs), model.config, AugmentConfig(), seed, VALIDATION_EPOCH)
    device = next(model.parameters()).device
    model.eval()
    ious = []
    with torch.inference_mode():
        for batch in DataLoader(dataset, batch_size=batch_size):
            prediction = model(batch["template"].to(device), batch["search"].to(device))["pred_boxes"]
            ious.append(box_loss(prediction, batch["box"].to(device)).iou.cpu().numpy())
    return np.concatenate(ious), np.array([pair.bin for pair in plan])
