"""The loss curve of a training run, drawn from the CSV files the trainer appends to."""

from __future__ import annotations

import csv
import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def read_columns(path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named columns of a CSV file as float arrays; NaN where a column or cell is missing (older runs)."""
    rows = []
    if path.is_file():
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    return {name: np.array([float(row.get(name) or "nan") for row in rows]) for name in names}


def plot_losses(steps_csv: Path, epochs_csv: Path, out: Path) -> bool:
    """Write ``out`` (PNG) against pairs seen: the loss logged every ``log_every`` steps (the running mean over
    the epoch so far) and each epoch's mean loss (and flat-map loss of target-absent pairs, when there are some).

    Returns False, after one warning, when matplotlib (the ``eval`` extra) is missing.
    """
    if not _have_matplotlib():
        return False
    from matplotlib.figure import Figure  # renders with Agg, no display needed

    steps = read_columns(steps_csv, ("pairs_seen", "loss"))
    epochs = read_columns(epochs_csv, ("epoch", "pairs_seen", "loss", "flat_loss"))
    figure = Figure(figsize=(6.4, 4.0))
    axes = figure.add_subplot()
    running = "loss, running mean over the epoch"
    axes.plot(steps["pairs_seen"], steps["loss"], color="C0", alpha=0.5, linewidth=1, label=running)
    axes.plot(epochs["pairs_seen"], epochs["loss"], "o-", color="C1", label="loss, epoch mean")
    if np.isfinite(epochs["flat_loss"]).any():
        axes.plot(epochs["pairs_seen"], epochs["flat_loss"], "s--", color="C2", label="flat-map loss, epoch mean")
    axes.set(title=f"{out.parent.name}: {len(epochs['epoch'])} epochs", xlabel="pairs seen", ylabel="loss")
    axes.grid(True)
    axes.legend()
    temporary = out.with_name(f".{out.name}")
    figure.savefig(temporary, format="png", dpi=100, bbox_inches="tight")
    temporary.replace(out)
    return True


@functools.cache
def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        logger.warning("matplotlib is not installed (the eval extra): no loss plot")
        return False
    return True
