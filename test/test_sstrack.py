"""SSTrack scheduler, gradient scaling and interval sampler against the paper's equations on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asymtrack_ros.data.sampling import IntervalBins, PairSampler, partner_counts, partner_frames
from asymtrack_ros.sequences import make_sequence
from asymtrack_ros.training.sstrack import (
    SuccessAwareScheduler,
    expected_success,
    gradient_scales,
    schedule_d,
    scheduled_distribution,
    success_gradient,
    success_rates,
)


def test_schedule_function_of_order_two() -> None:
    assert schedule_d(0, 100) == 0.0
    assert schedule_d(25, 100) == pytest.approx(0.5)  # sqrt(1/4)
    assert schedule_d(100, 100) == 1.0
    assert schedule_d(150, 100) == 1.0
    assert schedule_d(25, 100, order=1) == pytest.approx(0.25)
    assert schedule_d(25, 100, order=3) > schedule_d(25, 100, order=2)  # larger order: harder samples sooner


def test_expected_success_by_hand() -> None:
    # pi_1 = (1, 0) T_1 = (0.8, 0.2); pi_2 = pi_1 T_2, success 0.8 * 0.5 + 0.2 * (0.5 * 0.5) = 0.45
    assert expected_success(np.array([0.8, 0.5]), d=0.5) == pytest.approx((0.8 + 0.45) / 2)


def test_gradient_matches_finite_differences() -> None:
    p, d, eps = np.array([0.9, 0.7, 0.55, 0.3, 0.2, 0.1]), 0.37, 1e-6
    numeric = [
        (expected_success(p + eps * unit, d) - expected_success(p - eps * unit, d)) / (2 * eps)
        for unit in np.eye(len(p))
    ]
    np.testing.assert_allclose(success_gradient(p, d), numeric, rtol=1e-6)


def test_success_gradient_is_the_papers_closed_form_at_d_0_and_uniform_at_d_1() -> None:
    r, c = 7, 0.6
    # d = 0 (failures absorb): dS/dp_i = sum_{m=i-1}^{r-1} c^m / r, the paper's closed form; easy bins first
    closed_form = [sum(c**m for m in range(i - 1, r)) / r for i in range(1, r + 1)]
    np.testing.assert_allclose(success_gradient(np.full(r, c), 0.0), closed_form)
    # d = 1 (memoryless): every bin weighs 1/r, whatever p
    np.testing.assert_allclose(success_gradient(np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.4]), 1.0), np.full(r, 1 / r))


def test_distribution_is_normalised_gradient_over_available_bins() -> None:
    p = np.array([0.9, 0.6, 0.5, 0.4])
    q = scheduled_distribution(p, 0.25, np.array([True, True, True, True]))
    gradient = success_gradient(p, 0.25)
    np.testing.assert_allclose(q, gradient / gradient.sum())
    assert np.all(np.diff(q) < 0)  # early in training: short intervals dominate
    partial = scheduled_distribution(p, 0.25, np.array([True, False, True, True]))
    assert partial[1] == 0.0
    np.testing.assert_allclose(
        partial[[0, 2, 3]], success_gradient(p[[0, 2, 3]], 0.25) / success_gradient(p[[0, 2, 3]], 0.25).sum()
    )


def test_success_rates_use_tau_and_keep_unsampled_bins() -> None:
    ious = np.array([0.9, 0.2, 0.6, 0.4, 0.8, 0.1])
    bins = np.array([0, 0, 1, 1, 1, 3])
    tau = ious.mean()  # 0.5
    rates = success_rates(ious, bins, 4, tau, fallback=np.array([0.0, 0.0, 0.33, 0.0]))
    np.testing.assert_allclose(rates, [0.5, 2 / 3, 0.33, 0.0])


def test_gradient_scales_of_pruned_bins() -> None:
    q_random = np.array([0.25, 0.25, 0.25, 0.25])
    q_scheduled = np.array([0.4, 0.3, 0.2, 0.1])
    # s = (qR - qI) / qR = (-0.6, -0.2, 0.2, 0.6); Gamma = 1 / (1 - max(s, 0))
    np.testing.assert_allclose(gradient_scales(q_random, q_scheduled), [1.0, 1.0, 1.25, 2.5])
    # Eq. 5: pruned bins recover the random sampler's objective: q^I * Gamma = q^R there
    scales = gradient_scales(q_random, q_scheduled)
    np.testing.assert_allclose((q_scheduled * scales)[2:], q_random[2:])
    np.testing.assert_allclose(gradient_scales(np.array([0.0, 1.0]), np.array([0.5, 0.0])), [1.0, 1.0])


def test_scheduler_update_and_state_round_trip(tmp_path) -> None:
    q_random = np.array([0.1, 0.3, 0.3, 0.3])
    scheduler = SuccessAwareScheduler(q_random, np.ones(4, bool), total_epochs=16)
    np.testing.assert_allclose(scheduler.distribution, q_random)  # first epoch: no IoUs yet
    np.testing.assert_allclose(scheduler.scales, 1.0)
    ious, bins = np.array([0.9, 0.7, 0.6, 0.2, 0.5, 0.1, 0.3, 0.1]), np.array([0, 0, 1, 1, 2, 2, 3, 3])
    q = scheduler.update(4, ious, bins)
    assert scheduler.tau == pytest.approx(ious.mean())
    assert scheduler.d == pytest.approx(0.5)
    expected_p = np.array([1.0, 0.5, 0.5, 0.0])  # IoU > 0.425 per bin
    np.testing.assert_allclose(scheduler.success, expected_p)
    gradient = success_gradient(expected_p, 0.5)
    np.testing.assert_allclose(q, gradient / gradient.sum())
    torch.save(scheduler.state_dict(), tmp_path / "state.pth")
    restored = SuccessAwareScheduler(q_random, np.ones(4, bool), total_epochs=16)
    restored.load_state_dict(torch.load(tmp_path / "state.pth", weights_only=True))
    np.testing.assert_allclose(restored.distribution, q)
    np.testing.assert_allclose(restored.scales, scheduler.scales)


def test_interval_bins_of_the_paper() -> None:
    bins = IntervalBins(max_interval=200, bin_width=30, still_bin=True)
    assert bins.video_bounds == [(0, 30), (30, 60), (60, 90), (90, 120), (120, 150), (150, 180), (180, 200)]
    assert bins.num_bins == 8
    assert (bins.bin_of(0), bins.bin_of(29), bins.bin_of(30), bins.bin_of(199)) == (1, 1, 2, 7)
    with pytest.raises(ValueError):
        bins.bin_of(200)


def _brute_force_partners(visible: np.ndarray, low: int, high: int) -> np.ndarray:
    t = np.arange(len(visible))
    return np.array([visible[i] * int(np.sum(visible & (np.abs(t - i) >= low) & (np.abs(t - i) < high))) for i in t])


def test_partner_counts_and_frames_match_brute_force() -> None:
    visible = np.random.default_rng(3).random(70) > 0.2
    for low, high in ((0, 30), (30, 60), (60, 90), (0, 200)):
        np.testing.assert_array_equal(partner_counts(visible, low, high), _brute_force_partners(visible, low, high))
        for template in np.flatnonzero(visible):
            frames = partner_frames(visible, int(template), low, high)
            assert len(frames) == partner_counts(visible, low, high)[template]
            assert np.all(visible[frames]) and np.all(
                (np.abs(frames - template) >= low) & (np.abs(frames - template) < high)
            )


def _video(name: str, length: int, absent: tuple[int, ...] = ()) -> object:
    boxes = np.tile([10.0, 10.0, 20.0, 20.0], (length, 1))
    boxes[list(absent)] = 0.0
    return make_sequence(name, [f"{name}/{i:08d}.jpg" for i in range(length)], boxes)


def test_sampler_draws_from_the_requested_bin_and_the_random_distribution_is_exact() -> None:
    videos = [_video("a", 50), _video("b", 130, absent=(5, 6, 7)), _video("c", 210)]
    bins = IntervalBins(200, 30, still_bin=True)
    sampler = PairSampler(videos, [], bins)
    assert sampler.available.tolist() == [True] * 8
    rng = np.random.default_rng(0)
    for bin_index in range(1, 8):
        for _ in range(50):
            pair = sampler.sample_bin(rng, bin_index)
            low, high = bins.video_bounds[bin_index - 1]
            assert pair.bin == bin_index and low <= abs(pair.search - pair.template) < high
            assert not videos[pair.sequence].absent[[pair.template, pair.search]].any()
    still = sampler.sample_bin(rng, 0)
    assert still.bin == 0 and still.template == still.search
    q_random = sampler.random_distribution(still_ratio=0.1)
    assert q_random.sum() == pytest.approx(1.0) and q_random[0] == pytest.approx(0.1)
    draws = np.bincount([sampler.sample_random(rng, 0.1).bin for _ in range(20000)], minlength=8) / 20000
    np.testing.assert_allclose(draws, q_random, atol=0.015)
    short = PairSampler([_video("a", 50)], [], bins)
    assert short.available.tolist() == [True, True, True, False, False, False, False, False]
