"""The torch dataset of one epoch's planned pairs: frames -> jittered crops -> augmented, normalised tensors.

Every pair's randomness is a function of ``(seed, epoch, index)``, so an epoch is reproducible and a resumed run
sees the same pairs, whatever the number of loader workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from asymtrack_ros.data.augment import AugmentConfig, crop_around, jitter_box, photometric
from asymtrack_ros.data.sampling import PairIndex
from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.preprocessing import Normalizer

JITTER_TRIES = 10


@dataclass(frozen=True)
class AbsentFrame:
    """A frame of video ``video`` where the target is absent, and the last frame before it that shows it."""

    video: int
    frame: int
    last_visible: int


def absent_frames(videos: Sequence[TrackSequence]) -> list[AbsentFrame]:
    """Every frame whose target is out of view (``TrackSequence.away``) that follows a visible one, over ``videos``."""
    found = []
    for index, video in enumerate(videos):
        visible = np.flatnonzero(~video.absent)
        for frame in np.flatnonzero(video.away):
            visible_before = np.searchsorted(visible, frame)  # visible frames are sorted
            if visible_before:
                found.append(AbsentFrame(index, int(frame), int(visible[visible_before - 1])))
    return found


class PairDataset(Dataset):
    """Item ``k``: ``template`` (3, Ht, Wt), ``search`` (3, Hs, Ws), ``box`` (4,) normalised (cx, cy, w, h) in the
    search crop, ``bin``, ``weight`` (the sample's loss scale) and ``negative``.

    With ``negative_ratio`` > 0 that share of the items (drawn per item) replaces the planned pair by a
    target-absent one: the template from a visible frame of a video, the search crop from one of its absent
    frames around the target's last visible box (what a tracker sees once the target has left); ``box`` is
    then meaningless (zeros), ``negative`` true and ``weight`` 1.
    """

    def __init__(
        self,
        videos: Sequence[TrackSequence],
        stills: Sequence[TrackSequence],
        plan: Sequence[PairIndex],
        weights: np.ndarray,
        model_config: ModelConfig,
        augment: AugmentConfig,
        seed: int,
        epoch: int,
        negative_ratio: float = 0.0,
    ) -> None:
        self.videos, self.stills, self.plan, self.weights = videos, stills, plan, weights
        self.config, self.augment = model_config, augment
        self.seed, self.epoch = seed, epoch
        self.normalize = Normalizer(model_config.mean, model_config.std)
        self.negative_ratio = negative_ratio
        self.absent = absent_frames(videos) if negative_ratio > 0 else []

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.absent and rng.random() < self.negative_ratio:
            return self._negative_item(rng)
        pair = self.plan[index]
        sequence = (self.stills if pair.image_pool else self.videos)[pair.sequence]
        template_image = sequence.read_frame(pair.template)
        search_image = template_image if pair.search == pair.template else sequence.read_frame(pair.search)
        template_box, search_box = sequence.ground_truth[pair.template], sequence.ground_truth[pair.search]
        item = self._item(rng, template_image, template_box, search_image, search_box)
        return {**item, "bin": torch.tensor(pair.bin), "weight": torch.tensor(float(self.weights[index])),
                "negative": torch.tensor(False)}

    def _negative_item(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        absent = self.absent[rng.integers(len(self.absent))]
        video = self.videos[absent.video]
        template = int(rng.choice(np.flatnonzero(~video.absent)))
        item = self._item(rng, video.read_frame(template), video.ground_truth[template],
                          video.read_frame(absent.frame), video.ground_truth[absent.last_visible])
        return {**item, "box": torch.zeros(4), "bin": torch.tensor(0), "weight": torch.tensor(1.0),
                "negative": torch.tensor(True)}

    def _item(
        self, rng: np.random.Generator, template_image: np.ndarray, template_box: np.ndarray,
        search_image: np.ndarray, search_box: np.ndarray,
    ) -> dict[str, torch.Tensor]:
        """Jittered, augmented and normalised crops of a template and a search frame."""
        augment, config = self.augment, self.config
        template_crop, _ = self._crop(
            rng,
            template_image,
            template_box,
            augment.template_center_jitter,
            augment.template_scale_jitter,
            config.template_factor,
            config.template_size,
        )
        search_crop, box = self._crop(
            rng,
            search_image,
            search_box,
            augment.search_center_jitter,
            augment.search_scale_jitter,
            config.search_factor,
            config.search_size,
        )
        template_crop, search_crop, box = photometric(rng, template_crop, search_crop, box, augment)
        return {
            "template": torch.from_numpy(self.normalize(np.ascontiguousarray(template_crop))[0]),
            "search": torch.from_numpy(self.normalize(np.ascontiguousarray(search_crop))[0]),
            "box": torch.from_numpy(box.astype(np.float32)),
        }

    @staticmethod
    def _crop(
        rng: np.random.Generator,
        image: np.ndarray,
        box: np.ndarray,
        center_jitter: float,
        scale_jitter: float,
        factor: float,
        size: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Crop around a jittered box (retried; the plain box when no jitter gives a valid crop)."""
        for _ in range(JITTER_TRIES):
            jittered = jitter_box(rng, box, center_jitter, scale_jitter)
            try:
                return crop_around(image, jittered, box, factor, size)
            except ValueError:
                continue
        return crop_around(image, box, box, factor, size)
