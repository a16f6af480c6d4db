"""The tracker node's configuration: its parameters parsed once into a typed, validated value (no ROS import)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from asymtrack_ros.ros.parameters import PARAMETERS
from asymtrack_ros.ros.target_request import validate_label
from asymtrack_ros.tracking.box_smoothing import SmoothingOverrides
from asymtrack_ros.tracking.monitor import LostPolicy
from asymtrack_ros.tracking.redetection import DEFAULT_REDETECTION, REDETECTION_KEYS, RedetectionOverrides

MAX_CLICK_BOX_SIZE = 10_000.0  # pixels
MAX_DEBUG_RATE = 1_000.0  # Hz
MAX_INPUT_PIXELS = 2**31 - 1
RELIABILITIES = ("best_effort", "reliable")
POLICY_FIELDS = tuple(f.name for f in fields(LostPolicy))
SMOOTHING_FIELDS = tuple(f.name for f in fields(SmoothingOverrides))
# Numeric parameters: name -> (smallest, largest); the policy's own fields are checked by LostPolicy.
LIMITS: dict[str, tuple[float, float]] = {
    "threads": (1, 256), "input_depth": (1, 1000), "frame_history": (1, 1000), "diagnostics_period": (0.01, 3600.0),
    "click_box_size": (1.0, MAX_CLICK_BOX_SIZE), "debug_max_rate": (0.0, MAX_DEBUG_RATE),
    "max_input_pixels": (1, MAX_INPUT_PIXELS),
}


@dataclass(frozen=True)
class NodeConfig:
    """Every parameter of ``tracker_node`` (see ``parameters.PARAMETERS``), typed and range-checked."""

    backend: str
    model: str
    variant: str
    model_dir: str
    weights: str
    algorithm: str
    device: str
    providers: tuple[str, ...]
    threads: int
    smoothing: SmoothingOverrides
    redetection: RedetectionOverrides
    input_topic: str
    compressed_input: bool
    input_reliability: str
    input_depth: int
    max_input_pixels: int
    click_topic: str
    click_box_size: float
    frame_history: int
    class_label: str
    policy: LostPolicy
    debug_image: bool
    debug_max_rate: float
    diagnostics_period: float

    @classmethod
    def parse(cls, values: Mapping[str, object]) -> NodeConfig:
        """The configuration of parameter ``values``; ValueError names the first bad one."""
        typed = {name: _typed(name, values[name]) for name in PARAMETERS}
        for name, (low, high) in LIMITS.items():
            if not (math.isfinite(typed[name]) and low <= typed[name] <= high):
                raise ValueError(f"{name} must lie in [{low:g}, {high:g}], not {values[name]!r}")
        if typed["input_reliability"] not in RELIABILITIES:
            raise ValueError(f"input_reliability must be best_effort or reliable, not {values['input_reliability']!r}")
        validate_label(typed["class_label"], "class_label")
        policy = LostPolicy(**{name: typed.pop(name) for name in POLICY_FIELDS})
        policy.validate()
        smoothing = SmoothingOverrides(**{name: _override(typed.pop(name)) for name in SMOOTHING_FIELDS})
        redetection = RedetectionOverrides(**{name: _override(typed.pop(name)) for name in REDETECTION_KEYS})
        DEFAULT_REDETECTION.replace(redetection)  # ValueError names a re-detection value out of range
        return cls(**typed, policy=policy, smoothing=smoothing, redetection=redetection)

    @property
    def model_label(self) -> str:
        return "opencv" if self.backend == "opencv" else f"{self.model}-{self.variant}"

    def backend_options(self) -> dict[str, object]:
        """``create_tracker`` keyword arguments for the configured backend."""
        if self.backend == "opencv":
            return {"algorithm": self.algorithm}
        options: dict[str, object] = {"model": self.model, "variant": self.variant, "threads": self.threads,
                                      "smoothing": self.smoothing, "redetection": self.redetection,
                                      "device": self.device}
        if self.backend == "onnx":
            providers = [p for p in self.providers if p != "auto"]
            options |= {"model_dir": self.model_dir or None, "providers": providers or None}
        elif self.backend == "torch":
            options |= {"weights": self.weights or None}
        return options


def _typed(name: str, value: object) -> object:
    """``value`` as the type of the parameter's declared default."""
    default = PARAMETERS[name][0]
    if isinstance(default, list):
        return tuple(str(item) for item in value)
    return type(default)(value)


def _override(value: float) -> float | None:
    """A box-smoothing or re-detection parameter: negative means the model directory's own value."""
    return value if value >= 0 else None
