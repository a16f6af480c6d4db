"""The ONNX Runtime backend: Tracker interface, providers, broken model directories, no torch import."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from asymtrack_ros.export import export_model
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.checksums import sha256_file
from asymtrack_ros.tracking.installed_models import default_model_dir
from asymtrack_ros.tracking.manifest import BATCH, MODEL_JSON, SEARCH_FILE, TEMPLATE_FILE, ModelDirError
from asymtrack_ros.tracking.onnx_backend import CPU_PROVIDER, requested_providers
from asymtrack_ros.tracking.ort_providers import CUDA_PROVIDER, TENSORRT_PROVIDER

REPO = Path(__file__).resolve().parents[1]
FRAME = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
BOX = (100.0, 80.0, 60.0, 40.0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("tiny")
    export_model(directory, random_init=True)
    return directory


@pytest.fixture
def broken_dir(model_dir: Path, tmp_path: Path) -> Path:
    """A private copy to damage."""
    return Path(shutil.copytree(model_dir, tmp_path / "copy"))


def rewrite_manifest(directory: Path, edit) -> None:
    data = json.loads((directory / MODEL_JSON).read_text())
    edit(data)
    (directory / MODEL_JSON).write_text(json.dumps(data))


def test_tracks_with_the_tracker_interface_on_cpu(model_dir: Path) -> None:
    tracker = create_tracker("onnx", model_dir=model_dir, threads=1)
    tracker.initialize(FRAME, BOX)
    result = tracker.track(FRAME)
    assert result.score is not None and 0.0 <= result.score <= 1.0 and len(result.box) == 4
    assert result.inference_ms > 0 and tracker.template_ms > 0
    info = tracker.device_info
    assert (info.backend, info.device, info.providers, info.warnings) == ("onnx", "cpu", (CPU_PROVIDER,), ())
    assert (tracker.model_name, tracker.variant) == ("asymtrack", "tiny")


def test_matches_the_same_weights_in_torch(model_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    from asymtrack_ros.models.factory import build_model

    torch.manual_seed(0)  # export_model(random_init=True, seed=0) draws the same weights
    weights = build_model("asymtrack", "tiny").state_dict()
    boxes = []
    for tracker in (create_tracker("onnx", model_dir=model_dir), create_tracker("torch", weights=weights)):
        tracker.initialize(FRAME, BOX)
        boxes.append([tracker.track(FRAME).box for _ in range(3)])
    np.testing.assert_allclose(boxes[0], boxes[1], rtol=0, atol=1e-3)


def test_missing_gpu_provider_is_a_visible_warning(model_dir: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        tracker = create_tracker("onnx", model_dir=model_dir, providers=["CUDAExecutionProvider", CPU_PROVIDER])
    info = tracker.device_info
    assert info.requested == ("CUDAExecutionProvider", CPU_PROVIDER) and info.providers == (CPU_PROVIDER,)
    assert info.warnings and "CUDAExecutionProvider" in info.warnings[0]
    assert "CUDAExecutionProvider" in caplog.text


@pytest.mark.parametrize(("device", "missing"), [("cuda:1", [CUDA_PROVIDER]),
                                                 ("tensorrt", [TENSORRT_PROVIDER, CUDA_PROVIDER])])
def test_gpu_device_in_a_cpu_build_warns_and_tracks_on_cpu(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, device: str, missing: list[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CPU_PROVIDER])
    tracker = create_tracker("onnx", model_dir=model_dir, device=device, threads=1)
    info = tracker.device_info
    assert (info.device, info.providers) == ("cpu", (CPU_PROVIDER,))
    assert [warning.split()[0] for warning in info.warnings] == missing
    assert all("lacks" in warning for warning in info.warnings)
    assert tracker.runner.state_device is None and not (tmp_path / "asymtrack_ros").exists()
    tracker.initialize(FRAME, BOX)
    assert tracker.track(FRAME).score is not None


@pytest.mark.filterwarnings("ignore:Specified provider")  # onnxruntime's own, about the pretended providers
def test_gpu_provider_a_session_does_not_take_is_a_fallback_warning(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build claims TensorRT and CUDA (as onnxruntime-gpu does without CUDA libraries); sessions fall back."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: [TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER])
    tracker = create_tracker("onnx", model_dir=model_dir, device="tensorrt:0", threads=1)
    info = tracker.device_info
    assert info.providers == (CPU_PROVIDER,) and tracker.runner.state_device is None
    assert info.warnings and all("fell back" in warning for warning in info.warnings)
    assert [path.name[-4:] for path in (tmp_path / "asymtrack_ros" / "trt").iterdir()] == ["fp16"]


def test_state_kept_as_ort_values_and_searched_through_an_io_binding_matches_plain_run(model_dir: Path) -> None:
    """The IO-binding path of GPU providers, exercised with host memory ("cpu", 0): no GPU is involved."""
    runner = create_tracker("onnx", model_dir=model_dir, threads=1).runner
    template = np.random.default_rng(1).standard_normal(runner.manifest.template.inputs[0].shape, np.float32)
    search = np.random.default_rng(2).standard_normal(runner.manifest.search.inputs[0].shape, np.float32)
    plain = runner.track_search(search, runner.encode_template(template))
    runner.state_device = ("cpu", 0)
    state = runner.encode_template(template)
    assert all(isinstance(value, onnxruntime.OrtValue) for value in state)
    bound = runner.track_search(search, state)
    for name in ("pred_box", "prob_tl", "prob_br"):
        np.testing.assert_array_equal(getattr(bound, name), getattr(plain, name))


def test_dynamic_batch_search_runs_several_targets_in_one_pass_on_host_and_bound_state(
    model_dir: Path, tmp_path: Path
) -> None:
    manifest = export_model(tmp_path / "batched", random_init=True, dynamic_batch=True)
    assert manifest.batched_search and manifest.search.inputs[0].shape == (BATCH, 3, 256, 256)
    assert manifest.validation["max_abs_diff_batch_vs_single"] < 1e-5
    runner = create_tracker("onnx", model_dir=tmp_path / "batched", threads=1).runner
    rng = np.random.default_rng(3)
    templates = rng.standard_normal((3, 1, 3, 128, 128), np.float32)
    searches = rng.standard_normal((3, 3, 256, 256), np.float32)
    for device in (None, ("cpu", 0)):  # host arrays, then OrtValues through the IO binding (no GPU involved)
        runner.state_device = device
        states = [runner.encode_template(template) for template in templates]
        together = runner.track_search_batch(searches, states)
        for search, state, output in zip(searches, states, together, strict=True):
            alone = runner.track_search(search[None], state)
            np.testing.assert_allclose(output.pred_box, alone.pred_box, atol=1e-5)
            np.testing.assert_allclose(output.prob_tl, alone.prob_tl, atol=1e-5)
    with pytest.raises(ValueError, match=r"expects input shape \(2, 3, 256, 256\)"):
        runner.track_search_batch(searches, states[:2])
    static = create_tracker("onnx", model_dir=model_dir).runner
    with pytest.raises(ValueError, match="takes batch 1: export it with --dynamic-batch"):
        static.track_search_batch(searches[:1], states[:1])


def test_requested_providers_follow_device_and_explicit_list_and_refuse_unknown_devices() -> None:
    assert requested_providers("cpu") == (CPU_PROVIDER,)
    assert requested_providers("auto")[-1] == CPU_PROVIDER
    assert requested_providers("cpu", ["CUDAExecutionProvider"]) == ("CUDAExecutionProvider",)
    with pytest.raises(ValueError, match="not supported"):
        requested_providers("tpu")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / SEARCH_FILE).unlink(), f"{SEARCH_FILE} is missing"),
        (lambda d: (d / MODEL_JSON).unlink(), f"{MODEL_JSON} is missing"),
        (lambda d: (d / MODEL_JSON).write_text("{not json"), "not readable JSON"),
        (lambda d: (d / TEMPLATE_FILE).write_bytes(b"garbage"), f"{TEMPLATE_FILE} does not match"),
        (lambda d: rewrite_manifest(d, lambda m: m.pop("graphs")), "missing key 'graphs'"),
    ],
    ids=["missing-onnx", "missing-json", "bad-json", "checksum", "schema"],
)
def test_broken_model_directory_raises_a_clear_error(broken_dir: Path, damage, message: str) -> None:
    damage(broken_dir)
    with pytest.raises(ModelDirError, match=message) as error:
        create_tracker("onnx", model_dir=broken_dir)
    assert str(broken_dir) in str(error.value)


def test_corrupt_onnx_with_matching_checksum_is_reported(broken_dir: Path) -> None:
    (broken_dir / SEARCH_FILE).write_bytes(b"\x08\x01garbage")
    rewrite_manifest(broken_dir, lambda m: m["graphs"]["search"].update(sha256=sha256_file(broken_dir / SEARCH_FILE)))
    with pytest.raises(ModelDirError, match=f"{SEARCH_FILE} cannot be loaded by ONNX Runtime"):
        create_tracker("onnx", model_dir=broken_dir)


def test_onnx_files_with_other_shapes_than_model_json_are_refused(broken_dir: Path) -> None:
    def declare_other_shape(manifest: dict) -> None:
        manifest["graphs"]["search"]["inputs"][3]["shape"] = [1, 32, 128]
        manifest["graphs"]["template"]["outputs"][2]["shape"] = [1, 32, 128]

    rewrite_manifest(broken_dir, declare_other_shape)
    with pytest.raises(ModelDirError, match=rf"{TEMPLATE_FILE}: outputs .* do not match model.json"):
        create_tracker("onnx", model_dir=broken_dir)


def test_wrong_input_shape_at_run_time_names_the_file(model_dir: Path) -> None:
    runner = create_tracker("onnx", model_dir=model_dir).runner
    with pytest.raises(ValueError, match=rf"{SEARCH_FILE} expects input shape \(1, 3, 256, 256\)"):
        runner.track_search(np.zeros((1, 3, 128, 128), np.float32), ())


def test_default_model_dir_and_bad_options(model_dir: Path) -> None:
    with pytest.raises(ModelDirError, match="asymtrack-export"):
        default_model_dir("asymtrack", "nonexistent")
    with pytest.raises(ValueError, match="model_dir or weights, not both"):
        create_tracker("onnx", model_dir=model_dir, weights="ckpt.pth")
    with pytest.raises(ValueError, match="graph_optimization"):
        create_tracker("onnx", model_dir=model_dir, graph_optimization="max")


def test_onnx_backend_never_imports_torch(model_dir: Path) -> None:
    code = (
        "import sys, numpy as np\n"
        "from asymtrack_ros.tracking import create_tracker\n"
        f"tracker = create_tracker('onnx', model_dir={str(model_dir)!r})\n"
        "frame = np.zeros((120, 160, 3), np.uint8); frame[40:80, 60:100] = 200\n"
        "tracker.initialize(frame, (60, 40, 40, 40)); tracker.track(frame)\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
