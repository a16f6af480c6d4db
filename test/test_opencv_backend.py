"""The OpenCV baseline backend behind the Tracker interface."""

from __future__ import annotations

import numpy as np
import pytest

from asymtrack_ros.boxes import iou
from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.opencv_backend import available_algorithms, default_algorithm


@pytest.fixture(scope="module")
def sequence() -> tuple[np.ndarray, np.ndarray]:
    return generated_sequence(num_frames=30, seed=3)


def mean_iou(boxes: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(iou(boxes, truth)))


def test_contrib_build_has_csrt_and_kcf() -> None:
    assert {"csrt", "kcf", "mil"} <= set(available_algorithms()) and default_algorithm() == "csrt"


@pytest.mark.parametrize("algorithm", ["csrt", "kcf", "mil"])
def test_opencv_tracker_follows_the_generated_object_without_score_and_times_each_step(
    algorithm: str, sequence
) -> None:
    frames, truth = sequence
    tracker = create_tracker("opencv", algorithm=algorithm, threads=1)
    tracker.initialize(frames[0], tuple(truth[0]))
    results = [tracker.track(frame) for frame in frames[1:]]
    assert mean_iou(np.array([r.box for r in results]), truth[1:]) > 0.5
    assert all(r.score is None for r in results)
    assert all(r.inference_ms > 0 and r.preprocess_ms > 0 for r in results)
    info = tracker.device_info
    assert (info.backend, info.device, tracker.variant) == ("opencv", "cpu", algorithm)


class RecordingTracker:
    """Stands in for a cv2 tracker: records the images it gets, reports a fixed box or a loss."""

    def __init__(self, located: bool) -> None:
        self.located, self.images = located, []

    def init(self, image: np.ndarray, box: tuple) -> None:
        self.images.append(image)

    def update(self, image: np.ndarray) -> tuple[bool, tuple]:
        self.images.append(image)
        return self.located, (1, 2, 3, 4)


@pytest.mark.parametrize("located", [True, False])
def test_opencv_gets_bgr_and_keeps_the_box_when_lost(located: bool, monkeypatch) -> None:
    fake = RecordingTracker(located)
    tracker = create_tracker("opencv", algorithm="csrt")
    monkeypatch.setattr(tracker, "_factory", lambda: fake)
    red = np.zeros((40, 40, 3), np.uint8)
    red[..., 0] = 255
    tracker.initialize(red, (10, 10, 8, 8))
    result = tracker.track(red)
    assert all(image[..., 2].min() == 255 and image[..., 0].max() == 0 for image in fake.images)
    assert (result.score, result.box) == ((None, (1.0, 2.0, 3.0, 4.0)) if located else (None, (10.0, 10.0, 8.0, 8.0)))


def test_track_before_initialize_is_refused_and_reinitialising_follows_the_new_box(sequence) -> None:
    frames, truth = sequence
    tracker = create_tracker("opencv", algorithm="kcf")
    with pytest.raises(RuntimeError, match="before initialize"):
        tracker.track(frames[0])
    tracker.initialize(frames[0], tuple(truth[0]))
    tracker.initialize(frames[5], tuple(truth[5]))
    assert mean_iou(np.array([tracker.track(frames[6]).box]), truth[6:7]) > 0.5


def test_opencv_backend_refuses_unknown_algorithms_weights_gpus_and_non_rgb_frames(sequence) -> None:
    frames, truth = sequence
    tracker = create_tracker("opencv", algorithm="kcf")
    tracker.initialize(frames[0], tuple(truth[0]))
    with pytest.raises(ValueError, match="not available"):
        create_tracker("opencv", algorithm="goturn")
    with pytest.raises(ValueError, match="no weights"):
        create_tracker("opencv", weights="x.pth")
    with pytest.raises(ValueError, match="CPU only"):
        create_tracker("opencv", device="cuda")
    with pytest.raises(ValueError, match="HxWx3"):
        tracker.initialize(np.zeros((10, 10), np.uint8), (1, 1, 2, 2))


@pytest.mark.parametrize("backend", ["opencv", "onnx"])  # onnx: the shipped default, fused with CSRT
def test_a_box_csrt_cannot_start_on_is_a_value_error(backend: str) -> None:
    tracker = create_tracker(backend, threads=1) if backend == "onnx" else create_tracker("opencv", algorithm="csrt")
    image = np.full((240, 320, 3), 90, np.uint8)
    for box in ((0.0, 0.0, 1.0, 1.0), (319.0, 239.0, 1.0, 1.0)):
        with pytest.raises(ValueError, match="cannot start on box"):
            tracker.initialize(image, box)
