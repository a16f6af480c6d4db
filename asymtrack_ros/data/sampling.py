"""Template/search pair sampling: SSTrack's interval-based sampler and the plain random sampler.

Interval bins (SSTrack §3.2, §4.1): ``[0, M)`` is cut into ``r = ceil(M / m)`` bins ``[l_i, u_i)`` with
``l_i = m i`` and ``u_i = min(m (i + 1), M)``; an extra still bin ``[0, 1)`` (bin 0 here) holds still-image pairs
(template and search from the same image, e.g. COCO; without image datasets, single video frames).

A pair from video bin ``[l, u)``: a video uniformly among those that can produce the bin, the template at a
visible ``t_z`` that has a visible partner, the search at a visible
``t_x ∈ [max(t_z - u + 1, 0), max(t_z - l + 1, 0)) ∪ [min(t_z + l, L), min(t_z + u, L))``, both uniformly.
The random sampler is the same draw over the single range ``[0, M)`` (plus still pairs at ``still_ratio``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asymtrack_ros.sequences import TrackSequence


@dataclass(frozen=True)
class IntervalBins:
    """The bins: index 0 is the still bin (when enabled), then the video bins in increasing interval."""

    max_interval: int = 200
    bin_width: int = 30
    still_bin: bool = True

    @property
    def video_bounds(self) -> list[tuple[int, int]]:
        count = math.ceil(self.max_interval / self.bin_width)
        return [(self.bin_width * i, min(self.bin_width * (i + 1), self.max_interval)) for i in range(count)]

    @property
    def num_bins(self) -> int:
        return len(self.video_bounds) + int(self.still_bin)

    def bin_of(self, interval: int) -> int:
        """Video bin of an interval ``|t_x - t_z|`` in ``[0, M)``."""
        if not 0 <= interval < self.max_interval:
            raise ValueError(f"interval {interval} outside [0, {self.max_interval})")
        return interval // self.bin_width + int(self.still_bin)


@dataclass(frozen=True)
class PairIndex:
    """One sampled pair: pool (``image_pool``: the still images, else the videos), sequence, frames, bin."""

    image_pool: bool
    sequence: int
    template: int
    search: int
    bin: int


class PairSampler:
    """Draws pairs from video sequences and still images (sequences of one frame) by interval bin."""

    def __init__(self, videos: Sequence[TrackSequence], stills: Sequence[TrackSequence], bins: IntervalBins) -> None:
        self.videos, self.stills, self.bins = list(videos), list(stills), bins
        self.visible = [~video.absent for video in self.videos]
        self.still_visible = [np.flatnonzero(~still.absent) for still in self.stills]
        ranges = [*self.bins.video_bounds, (0, self.bins.max_interval)]
        # partner_counts[r][s][t]: visible search frames for template t of video s at an interval in ranges[r]
        self.partner_counts = [[partner_counts(v, low, high) for v in self.visible] for low, high in ranges]
        self.eligible = [np.flatnonzero([c.any() for c in counts]) for counts in self.partner_counts]
        self.still_frames = [(i, f) for i, frames in enumerate(self.still_visible) for f in frames]
        if not self.still_frames:  # no image dataset: still pairs come from single visible video frames
            self.still_frames = [(-1 - s, f) for s, v in enumerate(self.visible) for f in np.flatnonzero(v)]

    @property
    def available(self) -> np.ndarray:
        """Bool per bin: whether any pair can be drawn from it."""
        video = [len(e) > 0 for e in self.eligible[:-1]]
        return np.array(([len(self.still_frames) > 0] if self.bins.still_bin else []) + video)

    def sample_bin(self, rng: np.random.Generator, bin_index: int) -> PairIndex:
        """A pair whose interval lies in bin ``bin_index`` (SSTrack's interval-based sampler)."""
        if self.bins.still_bin and bin_index == 0:
            return self._sample_still(rng)
        video_bin = bin_index - int(self.bins.still_bin)
        low, high = self.bins.video_bounds[video_bin]
        return self._sample_range(rng, video_bin, low, high)

    def sample_random(self, rng: np.random.Generator, still_ratio: float) -> PairIndex:
        """A pair of the plain random sampler: a still pair with ``still_ratio``, else an interval in ``[0, M)``."""
        if self.bins.still_bin and rng.random() < still_ratio:
            return self._sample_still(rng)
        return self._sample_range(rng, len(self.bins.video_bounds), 0, self.bins.max_interval)

    def random_distribution(self, still_ratio: float) -> np.ndarray:
        """The exact bin distribution ``q^R`` of :meth:`sample_random` on these sequences."""
        total_counts = self.partner_counts[-1]
        video = np.zeros(len(self.bins.video_bounds))
        for s in self.eligible[-1]:
            valid = total_counts[s] > 0
            per_bin = np.stack([counts[s][valid] for counts in self.partner_counts[:-1]])
            video += (per_bin / total_counts[s][valid]).mean(axis=1)
        video /= max(len(self.eligible[-1]), 1)
        if not self.bins.still_bin:
            return video
        return np.concatenate([[still_ratio], (1 - still_ratio) * video])

    def _sample_still(self, rng: np.random.Generator) -> PairIndex:
        source, frame = self.still_frames[rng.integers(len(self.still_frames))]
        if source >= 0:
            return PairIndex(True, source, int(frame), int(frame), 0)
        return PairIndex(False, -1 - source, int(frame), int(frame), 0)

    def _sample_range(self, rng: np.random.Generator, range_index: int, low: int, high: int) -> PairIndex:
        eligible = self.eligible[range_index]
        if not len(eligible):
            raise ValueError(f"no video has a visible pair at an interval in [{low}, {high})")
        sequence = int(eligible[rng.integers(len(eligible))])
        templates = np.flatnonzero(self.partner_counts[range_index][sequence])
        template = int(templates[rng.integers(len(templates))])
        candidates = partner_frames(self.visible[sequence], template, low, high)
        search = int(candidates[rng.integers(len(candidates))])
        return PairIndex(False, sequence, template, search, self.bins.bin_of(abs(search - template)))


def partner_counts(visible: np.ndarray, low: int, high: int) -> np.ndarray:
    """For each frame t: 0 if t is not visible, else the number of visible frames at ``|t' - t|`` in ``[low, high)``."""
    length = len(visible)
    prefix = np.concatenate([[0], np.cumsum(visible)])
    t = np.arange(length)
    forward = prefix[np.minimum(t + high, length)] - prefix[np.minimum(t + low, length)]
    backward = prefix[np.maximum(t - low + 1, 0)] - prefix[np.maximum(t - high + 1, 0)]
    counted_twice = visible if low == 0 else np.zeros(length, bool)  # t itself is in both ranges when low is 0
    return np.where(visible, forward + backward - counted_twice, 0)


def partner_frames(visible: np.ndarray, template: int, low: int, high: int) -> np.ndarray:
    """Visible frames t' with ``|t' - template|`` in ``[low, high)``."""
    length = len(visible)
    backward = np.arange(max(template - high + 1, 0), max(template - low + 1, 0))
    forward = np.arange(min(template + low, length), min(template + high, length))
    candidates = np.union1d(backward, forward)
    return candidates[visible[candidates]]
