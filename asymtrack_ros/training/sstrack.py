"""SSTrack (IJCAI 2025, §3.2-3.3): success-aware sample scheduling and gradient scaling.

After each epoch, for bins ``b_1..b_r`` (easiest first):

* ``tau`` = mean IoU of the epoch's training samples; ``p_i`` = fraction of bin ``i``'s samples with IoU > tau.
* Each bin is a "general frame" of a two-state Markov chain (success, failure) with transition matrix
  ``T_i = [[p_i, 1 - p_i], [d p_i, 1 - d p_i]]`` (Eq. 1), ``pi_0 = (1, 0)``.
* Expected success ``S = (1/r) sum_k E[X_k]``, ``E[X_k] = pi_0 T_1 ... T_k (1, 0)^T``; the next sampling
  distribution is ``q_i = (dS/dp_i) / sum_j dS/dp_j``.
* ``d(e) = (e / E) ** (1 / order)`` (order 2), ``e`` the epoch about to run, ``E`` the number of epochs.

Reading notes. ``E[X_k]`` includes ``T_k``: with the paper's literal ``T_1 ... T_{k-1}`` the last bin would
never be sampled, whereas including it reproduces the paper's closed form ``dS/dp_i = sum_{m=i-1}^{r-1} c^m / r``
for ``p_i = c``. Under Eq. 1 that closed form is the ``d = 0`` limit and ``d = 1`` gives the uniform ``1/r``
(the text states the two limits the other way round); with ``d(e)`` rising from 0 to 1 this is what makes the
schedule easier-to-harder and makes a larger order introduce hard samples sooner, as the paper says.

Gradient scaling (§3.3): with the random sampler's bin distribution ``q^R`` and the scheduled ``q^I``,
``s_i = (q^R_i - q^I_i) / q^R_i``, pruning ratio ``P_i = max(s_i, 0)`` and each sample's loss is multiplied by
``Gamma_i = 1 / (1 - P_i)`` (so pruned bins keep their original objective; enhanced bins keep weight 1).
The first epoch, with no IoUs yet, samples from ``q^R``.

Several processes (DistributedDataParallel) each see a share of the epoch's samples: the scheduler's statistics
are sums and counts (IoU sum and sample count for ``tau``, per-bin successes and samples for ``p_i``), added up
over the processes by the ``reduce`` given to :meth:`SuccessAwareScheduler.update`, so every process sets the
same ``q`` as one process seeing every sample would.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Reduce = Callable[[np.ndarray], np.ndarray]  # element-wise sum over every process (float64 in, float64 out)


def _local(values: np.ndarray) -> np.ndarray:
    return values


def schedule_d(epoch: int, total_epochs: int, order: float = 2.0) -> float:
    """The schedule function ``d(e) = (e / E) ** (1 / order)``, clipped to [0, 1]."""
    return float(np.clip(epoch / total_epochs, 0.0, 1.0) ** (1.0 / order))


def transition_matrices(p: np.ndarray, d: float) -> np.ndarray:
    """(r, 2, 2) matrices of Eq. 1 for success probabilities ``p`` (r,)."""
    p = np.asarray(p, dtype=np.float64)
    return np.stack([np.stack([p, 1 - p], -1), np.stack([d * p, 1 - d * p], -1)], -2)


def expected_success(p: np.ndarray, d: float) -> float:
    """``S = (1/r) sum_k pi_0 T_1 ... T_k (1, 0)^T``."""
    state, total = np.array([1.0, 0.0]), 0.0
    for matrix in transition_matrices(p, d):
        state = state @ matrix
        total += state[0]
    return total / len(p)


def success_gradient(p: np.ndarray, d: float) -> np.ndarray:
    """``dS/dp_i`` for every bin, in closed form (``dT_i/dp_i = [[1, -1], [d, -d]]``)."""
    matrices = transition_matrices(p, d)
    r = len(matrices)
    derivative = np.array([[1.0, -1.0], [d, -d]])
    prefix = np.array([1.0, 0.0])  # pi_0 T_1 ... T_{i-1}
    gradient = np.zeros(r)
    for i in range(r):
        state = prefix @ derivative
        for k in range(i, r):
            if k > i:
                state = state @ matrices[k]
            gradient[i] += state[0]
        prefix = prefix @ matrices[i]
    return gradient / r


def bin_counts(ious: np.ndarray, bins: np.ndarray, num_bins: int, tau: float) -> np.ndarray:
    """(2, num_bins) float64: per bin, the samples with IoU > ``tau`` and all its samples."""
    ious, bins = np.asarray(ious, dtype=np.float64), np.asarray(bins, dtype=np.int64)
    successes = np.bincount(bins[ious > tau], minlength=num_bins)
    return np.stack([successes, np.bincount(bins, minlength=num_bins)]).astype(np.float64)


def success_rates(ious: np.ndarray, bins: np.ndarray, num_bins: int, tau: float, fallback: np.ndarray,
                  reduce: Reduce = _local) -> np.ndarray:
    """``p_i`` = fraction of bin ``i``'s samples with IoU > ``tau``; ``fallback[i]`` for bins without samples.

    ``reduce`` adds the per-bin counts of every process (identity: this process's samples only)."""
    successes, counts = reduce(bin_counts(ious, bins, num_bins, tau))
    rates = np.array(fallback, dtype=np.float64, copy=True)
    sampled = counts > 0
    rates[sampled] = successes[sampled] / counts[sampled]
    return rates


def scheduled_distribution(p: np.ndarray, d: float, available: np.ndarray) -> np.ndarray:
    """``q_i`` = normalised ``dS/dp_i`` over the available bins (the chain skips bins nothing can be drawn from)."""
    available = np.asarray(available, dtype=bool)
    gradient = success_gradient(np.asarray(p)[available], d)
    q = np.zeros(len(available))
    q[available] = gradient / gradient.sum() if gradient.sum() > 0 else 1.0 / available.sum()
    return q


def gradient_scales(q_random: np.ndarray, q_scheduled: np.ndarray) -> np.ndarray:
    """``Gamma_i = 1 / (1 - max((q^R_i - q^I_i) / q^R_i, 0))``; 1 where ``q^R_i`` is 0 or the bin is never drawn."""
    q_random, q_scheduled = np.asarray(q_random, dtype=np.float64), np.asarray(q_scheduled, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        pruning = np.clip((q_random - q_scheduled) / q_random, 0.0, None)
        scales = 1.0 / (1.0 - pruning)
    return np.where(np.isfinite(scales) & (q_scheduled > 0), scales, 1.0)


class SuccessAwareScheduler:
    """Holds ``q^I`` between epochs and updates it from the last epoch's training IoUs."""

    def __init__(self, q_random: np.ndarray, available: np.ndarray, total_epochs: int, order: float = 2.0) -> None:
        self.q_random = np.asarray(q_random, dtype=np.float64)
        self.available = np.asarray(available, dtype=bool)
        self.total_epochs, self.order = total_epochs, order
        self.distribution = self.q_random.copy()
        self.success = np.zeros(len(self.q_random))
        self.tau, self.d = float("nan"), float("nan")

    @property
    def scales(self) -> np.ndarray:
        """Per-bin loss scale ``Gamma`` for the current distribution."""
        return gradient_scales(self.q_random, self.distribution)

    def update(self, next_epoch: int, ious: np.ndarray, bins: np.ndarray, reduce: Reduce = _local) -> np.ndarray:
        """Set ``q^I`` for ``next_epoch`` from the finished epoch's per-sample IoUs and bins; return it.

        ``reduce`` sums the statistics over every process's samples (module docstring)."""
        ious = np.asarray(ious, dtype=np.float64)
        iou_sum, count = reduce(np.array([ious.sum(), len(ious)], dtype=np.float64))
        self.tau = float(iou_sum / count)
        self.success = success_rates(ious, bins, len(self.q_random), self.tau, self.success, reduce)
        self.d = schedule_d(next_epoch, self.total_epochs, self.order)
        self.distribution = scheduled_distribution(self.success, self.d, self.available)
        return self.distribution

    def state_dict(self) -> dict[str, list[float] | float]:
        """Plain floats and lists (loadable with ``torch.load(weights_only=True)``)."""
        return {
            "distribution": self.distribution.tolist(),
            "success": self.success.tolist(),
            "tau": self.tau,
            "d": self.d,
        }

    def load_state_dict(self, state: dict) -> None:
        self.distribution = np.asarray(state["distribution"], dtype=np.float64)
        self.success = np.asarray(state["success"], dtype=np.float64)
        self.tau, self.d = float(state["tau"]), float(state["d"])
