"""Confidence of a corner-head prediction.

AsymTrack and HiT have no score head. Our score is the geometric mean, over the two corners, of
the probability mass the corner softmax puts in the 3x3 cell neighbourhood of its peak:

    score = sqrt(mass_tl * mass_br),  mass = sum of p over the (2r+1)^2 cells around argmax p

It lies in [0, 1], is deterministic, is 1 when each corner distribution is concentrated at one
location and falls towards 9/(fs*fs) when the map is flat (the network cannot localise the target).
The neighbourhood (rather than the single peak) keeps a confident prediction that falls between
two cells from looking uncertain.
"""

from __future__ import annotations

import numpy as np


def peak_mass(prob: np.ndarray, feat_size: int, radius: int = 1) -> np.ndarray:
    """Probability within ``radius`` cells of the peak, for (B, fs*fs) probability maps -> (B,)."""
    maps = prob.reshape(-1, feat_size, feat_size)
    padded = np.pad(maps, ((0, 0), (radius, radius), (radius, radius)))
    masses = np.empty(maps.shape[0], dtype=np.float64)
    for i, single in enumerate(maps):
        row, col = np.unravel_index(int(np.argmax(single)), single.shape)
        masses[i] = padded[i, row : row + 2 * radius + 1, col : col + 2 * radius + 1].sum(dtype=np.float64)
    return masses


def corner_confidence(prob_tl: np.ndarray, prob_br: np.ndarray, feat_size: int) -> float:
    """Score in [0, 1] of the first sample's corner maps (see module docstring)."""
    mass = np.sqrt(peak_mass(prob_tl, feat_size)[0] * peak_mass(prob_br, feat_size)[0])
    return float(np.clip(mass, 0.0, 1.0))
