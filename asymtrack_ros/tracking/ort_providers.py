"""ONNX Runtime execution providers, as functions without sessions: which ones to ask for (``device`` or an
explicit list), their options (CUDA device id; TensorRT fp16 and engine cache), the device label, and whether
the template state stays on the GPU (IO binding). The sessions themselves are ``onnx_backend.py``'s. No torch.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
TENSORRT_PROVIDER = "TensorrtExecutionProvider"
OPENVINO_PROVIDER = "OpenVINOExecutionProvider"
# Default priority: the first one this onnxruntime build has wins, CPU is always last.
DEFAULT_PROVIDERS = (TENSORRT_PROVIDER, CUDA_PROVIDER, OPENVINO_PROVIDER, CPU_PROVIDER)
# Providers that run on an NVIDIA GPU: they take a device_id, and the template state stays there.
GPU_PROVIDERS = frozenset({TENSORRT_PROVIDER, CUDA_PROVIDER})
# device (without ``:N``) -> providers in priority order; ``auto`` is DEFAULT_PROVIDERS that this build has.
DEVICE_PROVIDERS = {
    "cpu": (CPU_PROVIDER,),
    "cuda": (CUDA_PROVIDER, CPU_PROVIDER),
    "tensorrt": (TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER),
}
PROVIDER_DEVICES = {
    TENSORRT_PROVIDER: "tensorrt",
    CUDA_PROVIDER: "cuda",
    OPENVINO_PROVIDER: "openvino",
    "DmlExecutionProvider": "directml",
    "CoreMLExecutionProvider": "coreml",
    CPU_PROVIDER: "cpu",
}


@dataclass(frozen=True)
class GpuSettings:
    """Options of the GPU providers: the CUDA device, TensorRT fp16, the TensorRT engine cache folder (None: none)."""

    device_id: int = 0
    trt_fp16: bool = True
    trt_cache_dir: Path | None = None


def split_device(device: str) -> tuple[str, int]:
    """``cuda:1`` -> ``("cuda", 1)``; a device without an index has index 0. ValueError for a bad index."""
    kind, colon, index = device.partition(":")
    if not colon:
        return kind, 0
    if not index.isdigit() or kind not in ("cuda", "tensorrt"):
        raise ValueError(f"device {device!r}: only cuda and tensorrt take an index (cuda:N, tensorrt:N)")
    return kind, int(index)


def requested_providers(device: str = "auto", providers: Sequence[str] | None = None) -> tuple[str, ...]:
    """Providers to ask for, in priority order: ``providers`` if given, else derived from ``device``.

    ``auto``: :data:`DEFAULT_PROVIDERS` that this onnxruntime build has; ``cpu``: CPU only;
    ``cuda[:N]``: CUDA then CPU; ``tensorrt[:N]``: TensorRT, CUDA, CPU (the GPU index is :func:`split_device`'s).
    """
    kind, _ = split_device(device)
    if providers:
        return tuple(providers)
    if kind == "auto":
        available = set(ort.get_available_providers())
        return tuple(p for p in DEFAULT_PROVIDERS if p in available)
    if kind in DEVICE_PROVIDERS:
        return DEVICE_PROVIDERS[kind]
    raise ValueError(
        f"device {device!r} not supported by the onnx backend (auto, cpu, cuda[:N], tensorrt[:N]; "
        "or pass providers=[...])"
    )


def trt_cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where TensorRT engines are cached: ``$XDG_CACHE_HOME/asymtrack_ros/trt``, else ``~/.cache/asymtrack_ros/trt``."""
    env = os.environ if environ is None else environ
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "asymtrack_ros" / "trt"


def engine_cache_dir(root: Path, graph_digests: Sequence[str], fp16: bool) -> Path:
    """One engine folder per model content and precision under ``root``: onnxruntime names its engines after the
    graph structure, not the weights, so a re-export with other weights must not find the old engines."""
    digest = hashlib.sha256("\n".join(graph_digests).encode()).hexdigest()[:16]
    return root / f"{digest}-{'fp16' if fp16 else 'fp32'}"


def provider_options(provider: str, settings: GpuSettings) -> dict[str, str]:
    """The ``provider_options`` entry of one provider: device id for CUDA; for TensorRT also fp16 and, with a
    cache folder, the engine cache. Other providers: none."""
    if provider not in GPU_PROVIDERS:
        return {}
    options = {"device_id": str(settings.device_id)}
    if provider == TENSORRT_PROVIDER:
        options["trt_fp16_enable"] = str(settings.trt_fp16)
        if settings.trt_cache_dir is not None:
            options |= {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(settings.trt_cache_dir)}
    return options


def device_label(provider: str, device_id: int = 0) -> str:
    """The device a session's first provider runs on: ``cpu``, ``cuda:1``, ``tensorrt:0``, ..."""
    name = PROVIDER_DEVICES.get(provider, provider)
    return f"{name}:{device_id}" if provider in GPU_PROVIDERS else name


def uses_io_binding(providers_in_use: Sequence[str]) -> bool:
    """Keep the template state on the device and search through an IO binding: only when the session's first
    provider is a GPU one (CUDA, TensorRT). On CPU a plain ``run`` has nothing to save."""
    return bool(providers_in_use) and providers_in_use[0] in GPU_PROVIDERS
