"""Smooth per-frame parameter tracks: Catmull-Rom splines through random waypoints."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def catmull_rom(times: np.ndarray, values: np.ndarray, num_frames: int) -> np.ndarray:
    """Interpolate ``values`` (K, D) at increasing ``times`` (K,) to frames ``0..num_frames-1`` (C1-smooth)."""
    frames = np.arange(num_frames, dtype=np.float64)
    padded_t = np.concatenate(([2 * times[0] - times[1]], times, [2 * times[-1] - times[-2]]))
    padded_v = np.concatenate(([2 * values[0] - values[1]], values, [2 * values[-1] - values[-2]]))
    tangents = (padded_v[2:] - padded_v[:-2]) / (padded_t[2:] - padded_t[:-2])[:, None]
    segment = np.clip(np.searchsorted(times, frames, side="right") - 1, 0, len(times) - 2)
    t0, t1 = times[segment], times[segment + 1]
    span = (t1 - t0)[:, None]
    u = ((frames - t0) / (t1 - t0))[:, None]
    h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
    h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
    return (
        h00 * values[segment]
        + h10 * span * tangents[segment]
        + h01 * values[segment + 1]
        + h11 * span * tangents[segment + 1]
    )


def waypoint_times(rng: np.random.Generator, num_frames: int, spacing: tuple[float, float]) -> np.ndarray:
    """Waypoint frame times from 0 past the last frame, ``spacing`` frames apart (uniformly drawn)."""
    times = [0.0]
    while times[-1] < num_frames - 1:
        times.append(times[-1] + rng.uniform(*spacing))
    return np.asarray(times)


def random_walk_track(
    rng: np.random.Generator,
    num_frames: int,
    low: npt.ArrayLike,
    high: npt.ArrayLike,
    max_step: npt.ArrayLike,
    spacing: tuple[float, float] = (15, 50),
    start: npt.ArrayLike | None = None,
) -> np.ndarray:
    """A (num_frames, D) smooth track whose waypoints random-walk inside ``[low, high]``.

    Consecutive waypoints differ by at most ``max_step`` per dimension, which bounds the speed.
    """
    lower, upper, step = (np.asarray(v, dtype=np.float64) for v in (low, high, max_step))
    times = waypoint_times(rng, num_frames, spacing)
    points = [rng.uniform(lower, upper) if start is None else np.asarray(start, dtype=np.float64)]
    for _ in times[1:]:
        points.append(np.clip(points[-1] + rng.uniform(-step, step), lower, upper))
    return catmull_rom(times, np.asarray(points), num_frames)


def crossing_offsets(
    num_frames: int, center_frame: float, duration: float, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """(num_frames, 2) offsets easing from ``start`` to ``end`` over ``duration`` frames centred on ``center_frame``."""
    u = np.clip((np.arange(num_frames) - center_frame) / duration + 0.5, 0.0, 1.0)[:, None]
    smooth = u * u * (3 - 2 * u)
    return start + (end - start) * smooth
