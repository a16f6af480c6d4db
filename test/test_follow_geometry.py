"""Follow output geometry against hand-computed cases (pure functions, no ROS)."""

from __future__ import annotations

import math
from dataclasses import astuple

import pytest

from asymtrack_ros.ros.follow_geometry import Intrinsics, bearing, image_offset

PINHOLE = Intrinsics(fx=500.0, fy=500.0, cx=320.0, cy=240.0, width=640, height=480)


def centred_box(u: float, v: float, side: float = 20.0) -> tuple[float, float, float, float]:
    return u - side / 2, v - side / 2, side, side


def test_offset_is_zero_at_the_centre_and_one_at_the_borders() -> None:
    assert astuple(image_offset(centred_box(320, 240), 640, 480)) == pytest.approx((0.0, 0.0, 20 / 640, 20 / 480))
    right_top = image_offset((630.0, 0.0, 10.0, 20.0), 640, 480)
    assert (right_top.x, right_top.y) == pytest.approx((635 / 320 - 1, 10 / 240 - 1))
    assert image_offset((0.0, 0.0, 640.0, 480.0), 640, 480).width == 1.0


def test_bearing_on_the_optical_axis_is_straight_ahead() -> None:
    ahead = bearing(centred_box(320, 240), PINHOLE)
    assert ahead.ray == pytest.approx((0.0, 0.0, 1.0)) and (ahead.yaw, ahead.pitch) == pytest.approx((0.0, 0.0))


def test_bearing_45_degrees_right_and_up() -> None:
    right = bearing(centred_box(820, 240), PINHOLE)  # x_n = (820 - 320) / 500 = 1
    assert right.yaw == pytest.approx(math.pi / 4) and right.pitch == pytest.approx(0.0)
    assert right.ray == pytest.approx((1 / math.sqrt(2), 0.0, 1 / math.sqrt(2)))
    up = bearing(centred_box(320, -260), PINHOLE)  # y_n = -1: above the axis
    assert up.pitch == pytest.approx(math.pi / 4) and up.yaw == pytest.approx(0.0)
    corner = bearing(centred_box(820, -260), PINHOLE)  # yaw first, then pitch over the hypotenuse
    assert corner.yaw == pytest.approx(math.pi / 4) and corner.pitch == pytest.approx(math.atan(1 / math.sqrt(2)))


def test_principal_point_offset_moves_the_axis() -> None:
    shifted = Intrinsics(fx=400.0, fy=500.0, cx=300.0, cy=250.0, width=640, height=480)
    assert bearing(centred_box(300, 250), shifted).yaw == pytest.approx(0.0)
    half_right = bearing(centred_box(500, 250), shifted)  # x_n = 200 / 400 = 0.5
    assert half_right.yaw == pytest.approx(math.atan(0.5)) and half_right.pitch == pytest.approx(0.0)


def test_plumb_bob_distortion_is_removed() -> None:
    k1 = -0.2
    xn, yn = 0.4, -0.3
    r2 = xn * xn + yn * yn
    u, v = 500 * xn * (1 + k1 * r2) + 320, 500 * yn * (1 + k1 * r2) + 240  # where the lens images that ray
    camera = Intrinsics.from_camera_info([500, 0, 320, 0, 500, 240, 0, 0, 1], [k1, 0, 0, 0, 0], "plumb_bob", 640, 480)
    result = bearing(centred_box(u, v), camera)
    assert result.yaw == pytest.approx(math.atan(xn), abs=1e-6)
    assert result.pitch == pytest.approx(math.atan2(-yn, math.hypot(xn, 1)), abs=1e-6)


def test_camera_info_of_another_resolution_is_scaled() -> None:
    half = PINHOLE.scaled_to(320, 240)
    assert (half.fx, half.fy, half.cx, half.cy) == pytest.approx((250.0, 250.0, 159.75, 119.75))
    assert bearing(centred_box(159.75 + 250, 119.75), half).yaw == pytest.approx(math.pi / 4)


GOOD_K = [500, 0, 320, 0, 500, 240, 0, 0, 1]


@pytest.mark.parametrize("k,d,model", [([0] * 9, [], "plumb_bob"), (GOOD_K, [], "fisheye"),
                                       ([math.nan, 0, 320, 0, 500, 240, 0, 0, 1], [], "plumb_bob"),
                                       (GOOD_K, [0.1, 0.0, 0.0], "plumb_bob"), (GOOD_K, [math.inf] * 5, "plumb_bob")])
def test_unusable_camera_info_is_refused(k: list[float], d: list[float], model: str) -> None:
    with pytest.raises(ValueError):
        Intrinsics.from_camera_info(k, d, model, 640, 480)
