"""L2-regularised logistic regression by Newton's method, for the verification and confirmation heads."""

from __future__ import annotations

import numpy as np

NEWTON_STEPS = 50


def newton_logistic(design: np.ndarray, labels: np.ndarray, sample_weights: np.ndarray, penalty: np.ndarray,
                    iterations: int = NEWTON_STEPS) -> np.ndarray:
    """The coefficients over ``design``'s columns minimising the ``sample_weights``-weighted log loss plus
    ``penalty[i] / 2 * theta[i] ** 2`` (a bias is a column of ones, usually with penalty 0)."""
    theta = np.zeros(design.shape[1])
    regulariser = np.diag(np.broadcast_to(penalty, theta.shape).astype(np.float64))
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -60, 60)))
        gradient = design.T @ (sample_weights * (p - labels)) + regulariser @ theta
        hessian = (design * (sample_weights * p * (1 - p))[:, None]).T @ design + regulariser
        theta -= np.linalg.solve(hessian, gradient)
    return theta
