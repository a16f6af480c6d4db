"""The torch tracker against the official tracker's 40-frame Megamind runs, plus re-init and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from asymtrack_ros.reference import vector_files
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.preprocessing import Normalizer, sample_target

from conftest import load_vectors, state_dict_from_vectors

VECTOR_FILES = vector_files("asymtrack") + vector_files("hit")
needs_vectors = pytest.mark.skipif(not VECTOR_FILES, reason="no *_vectors.npz in the reference directory")


def tracker_from_vectors(arrays: dict, meta: dict):
    weights = state_dict_from_vectors(arrays, meta)
    return create_tracker("torch", meta["model"].lower(), meta["variant"], weights=weights)


def run_sequence(tracker, frames: np.ndarray, init_box) -> np.ndarray:
    tracker.initialize(frames[0], init_box)
    return np.array([init_box] + [tracker.track(frame).box for frame in frames[1:]])


@needs_vectors
@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])
def test_template_and_search_crops_and_normalisation_match_the_reference_vectors_bit_exactly(
    path, megamind_frames
) -> None:
    arrays, meta = load_vectors(path)
    box = tuple(arrays["seq_init_box"])
    template, _ = sample_target(megamind_frames[0], box, meta["template_factor"], meta["template_size"])
    search, factor = sample_target(megamind_frames[meta["search_frame"] - 1], box, meta["search_factor"],
                                   meta["search_size"])
    np.testing.assert_array_equal(template, arrays["template_crop_u8"])
    np.testing.assert_array_equal(search, arrays["search_crop_u8"])
    assert factor == meta.get("search_resize_factor", factor)
    normalize = Normalizer((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    np.testing.assert_array_equal(normalize(template), arrays["template"])
    np.testing.assert_array_equal(normalize(search), arrays["search"])


@needs_vectors
@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])
def test_sequence_matches_official_tracker(path, megamind_frames) -> None:
    arrays, meta = load_vectors(path)
    tolerance = 0.01 if meta["model"].lower() == "asymtrack" else 0.1
    boxes = run_sequence(tracker_from_vectors(arrays, meta), megamind_frames, tuple(arrays["seq_init_box"]))
    np.testing.assert_allclose(boxes, arrays["seq_boxes"], rtol=0, atol=tolerance)


@needs_vectors
def test_reinitialise_equals_fresh_tracker(megamind_frames) -> None:
    arrays, meta = load_vectors(VECTOR_FILES[0])
    box_a, box_b = (200.0, 130.0, 145.0, 190.0), (420.0, 200.0, 120.0, 150.0)
    reused = tracker_from_vectors(arrays, meta)
    run_sequence(reused, megamind_frames[:10], box_a)
    after_reinit = run_sequence(reused, megamind_frames[10:25], box_b)
    fresh = run_sequence(tracker_from_vectors(arrays, meta), megamind_frames[10:25], box_b)
    np.testing.assert_array_equal(after_reinit, fresh)


@pytest.fixture(scope="module")
def random_tracker():
    return create_tracker("torch", "asymtrack", "tiny", random_init=True)


def test_scores_are_probabilities_and_timings_are_reported(random_tracker) -> None:
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    random_tracker.initialize(frame, (100, 80, 60, 40))
    result = random_tracker.track(frame)
    assert 0.0 <= result.score <= 1.0
    assert result.inference_ms > 0 and result.total_ms >= result.inference_ms
    assert random_tracker.device_info.backend == "torch" and random_tracker.device_info.device == "cpu"


@pytest.mark.parametrize(
    ("image", "box", "message"),
    [
        (np.zeros((0, 10, 3), np.uint8), (1, 1, 2, 2), "empty"),
        (np.zeros((20, 20, 3), np.float32), (1, 1, 2, 2), "uint8"),
        (np.zeros((20, 20), np.uint8), (1, 1, 2, 2), "HxWx3"),
        (np.zeros((20, 20, 4), np.uint8), (1, 1, 2, 2), "HxWx3"),
        (np.zeros((20, 20, 3), np.uint8), (float("nan"), 1, 2, 2), "non-finite"),
        (np.zeros((20, 20, 3), np.uint8), (1, 1, 0, 2), "positive"),
        (np.zeros((20, 20, 3), np.uint8), (1, 1, 2, -3), "positive"),
        (np.zeros((20, 20, 3), np.uint8), (30, 30, 5, 5), "outside"),
        (np.zeros((20, 20, 3), np.uint8), (-10, 1, 5, 5), "outside"),
    ],
)
def test_bad_inputs_raise_clear_errors(random_tracker, image, box, message) -> None:
    with pytest.raises(ValueError, match=message):
        random_tracker.initialize(image, box)


def test_track_before_initialize_and_missing_weights_are_refused() -> None:
    tracker = create_tracker("torch", "asymtrack", "tiny", random_init=True)
    with pytest.raises(RuntimeError, match="before initialize"):
        tracker.track(np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(ValueError, match="no weights"):
        create_tracker("torch", "asymtrack", "tiny")
    with pytest.raises(ValueError, match="unknown backend"):
        create_tracker("tensorflow")


def test_device_info_names_the_gpu_and_its_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the report: torch's GPU queries are monkeypatched, nothing runs on a GPU."""
    torch = pytest.importorskip("torch")
    from asymtrack_ros.tracking.torch_backend import torch_device_info

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"Test GPU {index}")
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert torch_device_info(torch.device("cuda:1")).device == "cuda:1 (Test GPU 1)"
    assert torch_device_info(torch.device("cuda")).device == "cuda:0 (Test GPU 0)"
    assert torch_device_info(torch.device("cpu")).device == "cpu"
