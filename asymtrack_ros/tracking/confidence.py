"""Confidence of a corner-head prediction.

AsymTrack and HiT have no score head. Our score is the geometric mean, over the two corners, of
the probability mass the corner softmax puts in the 3x3 cell neighbourhood of its peak:

    score = sqrt(mass_tl * mass_br),  mass = sum of p over the (2r+1)^2 cells around argmax p

It lies in [0, 1], is deterministic, is 1 when each corner distribution is concentrated at one
location and falls towards 9/(fs*fs) when the map is flat (the network cannot localise the target).
The neighbourhood (rather than the single peak) keeps a confident prediction that falls between
two cells from looking uncertain. :class:`ScoreCalibration` turns it into a probability for one model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ScoreCalibration:
    """Maps a model's raw score to the probability that its box is on the target (Platt scaling).

    ``calibrated = sigmoid(slope * logit(raw) + intercept)``; the identity (slope 1, intercept 0) is the
    default. A model directory's ``model.json`` may carry fitted values (``score_calibration``), fitted with
    ``python -m asymtrack_ros.evaluation.score_calibration`` on frames labelled by ground truth.
    """

    slope: float = 1.0
    intercept: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.slope) and math.isfinite(self.intercept) and self.slope > 0):
            raise ValueError(f"score calibration needs a finite slope > 0 and a finite intercept, got {self}")

    def __call__(self, raw: float) -> float:
        if self == IDENTITY:
            return raw
        return float(1.0 / (1.0 + math.exp(-(self.slope * _logit(raw) + self.intercept))))

    @classmethod
    def fit(cls, raw_scores: np.ndarray, on_target: np.ndarray, iterations: int = 50) -> ScoreCalibration:
        """Logistic regression of ``on_target`` (bool) on ``logit(raw_scores)`` by Newton's method."""
        labels = np.asarray(on_target, dtype=np.float64)
        if labels.min() == labels.max():
            raise ValueError("calibration needs frames on and off the target")
        features = np.column_stack([np.vectorize(_logit)(np.asarray(raw_scores, np.float64)), np.ones(len(labels))])
        weights = np.zeros(2)  # Newton from the origin (p = 0.5 everywhere) converges for logistic regression
        for _ in range(iterations):
            prob = 1.0 / (1.0 + np.exp(-features @ weights))
            hessian = features.T @ (features * (prob * (1.0 - prob))[:, None]) + 1e-6 * np.eye(2)
            weights -= np.linalg.solve(hessian, features.T @ (prob - labels))
        return cls(float(weights[0]), float(weights[1]))


IDENTITY = ScoreCalibration()
LOGIT_CLIP = 1e-4


def _logit(value: float) -> float:
    clipped = min(max(value, LOGIT_CLIP), 1.0 - LOGIT_CLIP)
    return math.log(clipped / (1.0 - clipped))
