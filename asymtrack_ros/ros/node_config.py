"""The tracker node's configuration: its parameters parsed once into a typed, validated value (no ROS import)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from asymtrack_ros.ros.parameters import PARAMETERS
from asymtrack_ros.ros.target_request import validate_label
from asymtrack_ros.tracking.box_smoothing import SmoothingOverrides
from asymtrack_ros.tracking.monitor import LostPolicy
from asymtrack_ros.tracking.opencv_backend import ALGORITHMS
from asymtrack_ros.tracking.redetection import DEFAULT_REDETECTION, RedetectionOverrides
from asymtrack_ros.tracking.targets import MAX_TARGETS_LIMIT

Number = TypeVar("Number", int, float)
MAX_CLICK_BOX_SIZE = 10_000.0  # pixels
MAX_DEBUG_RATE = 1_000.0  # Hz
MAX_INPUT_PIXELS = 2**31 - 1
RELIABILITIES = ("best_effort", "reliable")
LOCAL_TRACKERS = ("", "none", *ALGORITHMS)
POLICY_FIELDS = tuple(f.name for f in fields(LostPolicy))
SMOOTHING_FIELDS = tuple(f.name for f in fields(SmoothingOverrides))
# Numeric parameters: name -> (smallest, largest); the policy's own fields are checked by LostPolicy.
LIMITS: dict[str, tuple[float, float]] = {
    "threads": (1, 256), "input_depth": (1, 1000), "frame_history": (1, 1000), "diagnostics_period": (0.01, 3600.0),
    "click_box_size": (1.0, MAX_CLICK_BOX_SIZE), "debug_max_rate": (0.0, MAX_DEBUG_RATE),
    "max_input_pixels": (1, MAX_INPUT_PIXELS), "max_targets": (1, MAX_TARGETS_LIMIT),
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
    local_tracker: str
    exit_thresholds: tuple[float, ...] | None
    input_topic: str
    compressed_input: bool
    input_reliability: str
    input_depth: int
    max_input_pixels: int
    click_topic: str
    click_box_size: float
    max_targets: int
    frame_history: int
    class_label: str
    policy: LostPolicy
    debug_image: bool
    debug_max_rate: float
    diagnostics_period: float

    @classmethod
    def parse(cls, values: Mapping[str, object]) -> NodeConfig:
        """The configuration of parameter ``values``; ValueError names the first bad one."""
        read = ParameterReader(values)
        config = cls(
            backend=read.text("backend"), model=read.text("model"), variant=read.text("variant"),
            model_dir=read.text("model_dir"), weights=read.text("weights"), algorithm=read.text("algorithm"),
            device=read.text("device"), providers=read.texts("providers"), threads=read.integer("threads"),
            smoothing=SmoothingOverrides(**{name: _override(read.real(name)) for name in SMOOTHING_FIELDS}),
            redetection=RedetectionOverrides(
                global_search_every=_override(read.integer("global_search_every")),
                global_search_overlap=_override(read.real("global_search_overlap")),
                global_search_crops=_override(read.integer("global_search_crops")),
                anchor_search_every=_override(read.integer("anchor_search_every")),
                distractor_scan_every=_override(read.integer("distractor_scan_every")),
                border_search_every=_override(read.integer("border_search_every")),
                persistent_hit_frames=_override(read.integer("persistent_hit_frames")),
            ),
            local_tracker=read.text("local_tracker"),
            exit_thresholds=_thresholds(read.reals("exit_thresholds")),
            input_topic=read.text("input_topic"), compressed_input=read.flag("compressed_input"),
            input_reliability=read.text("input_reliability"), input_depth=read.integer("input_depth"),
            max_input_pixels=read.integer("max_input_pixels"), click_topic=read.text("click_topic"),
            click_box_size=read.real("click_box_size"), max_targets=read.integer("max_targets"),
            frame_history=read.integer("frame_history"),
            class_label=read.text("class_label"),
            policy=LostPolicy(
                lost_score=read.real("lost_score"), recover_score=read.real("recover_score"),
                lost_frames=read.integer("lost_frames"), recover_frames=read.integer("recover_frames"),
                follow_frames=read.integer("follow_frames"), probation_frames=read.integer("probation_frames"),
                recover_at_normal_scale=read.flag("recover_at_normal_scale"),
                search_step=read.real("search_step"), max_search_scale=read.real("max_search_scale"),
                min_visible=read.real("min_visible"), lost_at_cut=read.flag("lost_at_cut"),
                lost_at_exit=read.flag("lost_at_exit"),
            ),
            debug_image=read.flag("debug_image"), debug_max_rate=read.real("debug_max_rate"),
            diagnostics_period=read.real("diagnostics_period"),
        )
        unread = set(PARAMETERS) - read.names
        if unread:
            raise TypeError(f"NodeConfig.parse does not read the parameters {sorted(unread)}")
        for name, (low, high) in LIMITS.items():
            number = read.number(name)
            if not (math.isfinite(number) and low <= number <= high):
                raise ValueError(f"{name} must lie in [{low:g}, {high:g}], not {values[name]!r}")
        if config.local_tracker not in LOCAL_TRACKERS:
            raise ValueError(f"local_tracker must be one of {', '.join(LOCAL_TRACKERS[1:])} or empty (the model's), "
                             f"not {values['local_tracker']!r}")
        if config.input_reliability not in RELIABILITIES:
            raise ValueError(f"input_reliability must be best_effort or reliable, not {values['input_reliability']!r}")
        validate_label(config.class_label, "class_label")
        config.policy.validate()
        DEFAULT_REDETECTION.replace(config.redetection)  # ValueError names a re-detection value out of range
        return config

    @property
    def model_label(self) -> str:
        return "opencv" if self.backend == "opencv" else f"{self.model}-{self.variant}"

    def backend_options(self) -> dict[str, Any]:
        """``create_tracker`` keyword arguments for the configured backend."""
        if self.backend == "opencv":
            return {"algorithm": self.algorithm}
        options: dict[str, Any] = {"model": self.model, "variant": self.variant, "threads": self.threads,
                                   "smoothing": self.smoothing, "redetection": self.redetection,
                                   "device": self.device, "weights": self.weights or None}
        if self.exit_thresholds is not None:
            options["exit_thresholds"] = self.exit_thresholds
        if self.local_tracker:
            options["local_tracker"] = self.local_tracker
        if self.backend == "onnx":
            providers = [p for p in self.providers if p != "auto"]
            options |= {"model_dir": self.model_dir or None, "providers": providers or None}
        return options


class ParameterReader:
    """Parameter values, each read as the type of its declared default (``parameters.PARAMETERS``)."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self.values = values
        self.names: set[str] = set()  # the parameters read so far

    def _value(self, name: str, kind: type) -> object:
        declared = type(PARAMETERS[name][0])
        if declared is not kind:
            raise TypeError(f"parameter {name} is declared {declared.__name__}, not {kind.__name__}")
        self.names.add(name)
        return self.values[name]

    def text(self, name: str) -> str:
        return str(self._value(name, str))

    def flag(self, name: str) -> bool:
        return bool(self._value(name, bool))

    def integer(self, name: str) -> int:
        return int(_scalar(name, self._value(name, int)))

    def real(self, name: str) -> float:
        return float(_scalar(name, self._value(name, float)))

    def number(self, name: str) -> float:
        """An int or float parameter, as its declared type."""
        return self.integer(name) if type(PARAMETERS[name][0]) is int else self.real(name)

    def texts(self, name: str) -> tuple[str, ...]:
        return tuple(str(item) for item in self._items(name))

    def reals(self, name: str) -> tuple[float, ...]:
        return tuple(float(_scalar(name, item)) for item in self._items(name))

    def _items(self, name: str) -> Iterable[object]:
        value = self._value(name, list)
        if not isinstance(value, Iterable):
            raise TypeError(f"{name} must be a list, not {value!r}")
        return value


def _scalar(name: str, value: object) -> int | float | str:
    """``value`` if ``int()``/``float()`` can take it (a number or a numeric string)."""
    if not isinstance(value, int | float | str):
        raise TypeError(f"{name} must be a number, not {value!r}")
    return value


def _thresholds(values: tuple[float, ...]) -> tuple[float, ...] | None:
    """Early-exit thresholds: ``[-1]`` (any negative) means the model's own; else finite values."""
    if any(value < 0 for value in values):
        return None
    if not values or not all(math.isfinite(value) for value in values):
        raise ValueError(f"exit_thresholds must be finite numbers >= 0 (or [-1.0]: the model's), not {list(values)}")
    return values


def _override(value: Number) -> Number | None:
    """A box-smoothing or re-detection parameter: negative means the model directory's own value."""
    return value if value >= 0 else None
