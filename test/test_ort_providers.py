"""ONNX Runtime provider selection and options without a GPU: devices, CUDA/TensorRT options, engine cache
folder, the IO-binding decision. Nothing here runs on a GPU."""

from __future__ import annotations

from pathlib import Path

import onnxruntime
import pytest

from asymtrack_ros.tracking.ort_providers import (
    CPU_PROVIDER,
    CUDA_PROVIDER,
    OPENVINO_PROVIDER,
    TENSORRT_PROVIDER,
    GpuSettings,
    device_label,
    engine_cache_dir,
    provider_options,
    requested_providers,
    split_device,
    trt_cache_root,
    uses_io_binding,
)


def test_cuda_n_asks_for_cuda_then_cpu_on_gpu_n() -> None:
    assert requested_providers("cuda:1", None) == (CUDA_PROVIDER, CPU_PROVIDER)
    assert split_device("cuda:1") == ("cuda", 1) and split_device("cuda") == ("cuda", 0)
    settings = GpuSettings(device_id=1)
    assert [provider_options(p, settings) for p in requested_providers("cuda:1")] == [{"device_id": "1"}, {}]


def test_tensorrt_asks_for_tensorrt_cuda_cpu_with_fp16_and_the_engine_cache(tmp_path: Path) -> None:
    assert requested_providers("tensorrt", None) == (TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER)
    settings = GpuSettings(device_id=0, trt_fp16=True, trt_cache_dir=tmp_path)
    assert provider_options(TENSORRT_PROVIDER, settings) == {
        "device_id": "0", "trt_fp16_enable": "True",
        "trt_engine_cache_enable": "True", "trt_engine_cache_path": str(tmp_path),
    }
    assert provider_options(CUDA_PROVIDER, settings) == {"device_id": "0"}
    assert provider_options(TENSORRT_PROVIDER, GpuSettings(2, trt_fp16=False)) == {
        "device_id": "2", "trt_fp16_enable": "False"}


def test_explicit_providers_win_and_auto_takes_what_this_build_has(monkeypatch: pytest.MonkeyPatch) -> None:
    assert requested_providers("cuda:1", [TENSORRT_PROVIDER, CPU_PROVIDER]) == (TENSORRT_PROVIDER, CPU_PROVIDER)
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CPU_PROVIDER, CUDA_PROVIDER])
    assert requested_providers("auto") == (CUDA_PROVIDER, CPU_PROVIDER)
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [OPENVINO_PROVIDER, CPU_PROVIDER])
    assert requested_providers("auto") == (OPENVINO_PROVIDER, CPU_PROVIDER)


@pytest.mark.parametrize("device", ["tpu", "cpu:1", "cuda:x", "cuda:-1", "auto:0"])
def test_bad_devices_are_refused(device: str) -> None:
    with pytest.raises(ValueError, match=repr(device)):
        requested_providers(device)


def test_engine_cache_lives_under_xdg_cache_home_else_home_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    assert trt_cache_root({"XDG_CACHE_HOME": "/x/cache"}) == Path("/x/cache/asymtrack_ros/trt")
    monkeypatch.setenv("HOME", "/home/robot")
    assert trt_cache_root({}) == Path("/home/robot/.cache/asymtrack_ros/trt")
    assert trt_cache_root({"XDG_CACHE_HOME": ""}) == Path("/home/robot/.cache/asymtrack_ros/trt")


def test_engine_folder_is_per_model_content_and_precision() -> None:
    root = Path("/cache")
    fp16 = engine_cache_dir(root, ["a" * 64, "b" * 64], fp16=True)
    assert fp16.parent == root and fp16.name.endswith("-fp16")
    assert engine_cache_dir(root, ["a" * 64, "b" * 64], fp16=False).name.endswith("-fp32")
    assert engine_cache_dir(root, ["a" * 64, "c" * 64], fp16=True) != fp16
    assert engine_cache_dir(root, ["a" * 64, "b" * 64], fp16=True) == fp16


def test_io_binding_only_when_a_gpu_provider_runs_first() -> None:
    assert uses_io_binding([CUDA_PROVIDER, CPU_PROVIDER])
    assert uses_io_binding([TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER])
    assert not uses_io_binding([CPU_PROVIDER])
    assert not uses_io_binding([OPENVINO_PROVIDER, CPU_PROVIDER])
    assert not uses_io_binding([])


def test_device_labels_name_the_gpu_index() -> None:
    assert device_label(CPU_PROVIDER, 3) == "cpu"
    assert device_label(CUDA_PROVIDER, 1) == "cuda:1"
    assert device_label(TENSORRT_PROVIDER) == "tensorrt:0"
    assert device_label("SomeNewExecutionProvider") == "SomeNewExecutionProvider"
