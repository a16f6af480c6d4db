"""The tracker node's parameters: declared up front, validated at start and at run time."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from asymtrack_ros.ros.image_conversion import DEFAULT_MAX_PIXELS
from asymtrack_ros.ros.target_request import validate_label
from asymtrack_ros.tracking.box_smoothing import SmoothingOverrides
from asymtrack_ros.tracking.monitor import LostPolicy

MAX_CLICK_BOX_SIZE = 10_000.0  # pixels
MAX_DEBUG_RATE = 1_000.0  # Hz
MAX_INPUT_PIXELS = 2**31 - 1
# Start-up limits: name -> (smallest, largest).
STARTUP_LIMITS: dict[str, tuple[float, float]] = {
    "threads": (1, 256), "input_depth": (1, 1000), "frame_history": (1, 1000), "diagnostics_period": (0.01, 3600.0),
}

# name: (default, description, read_only). Read-only ones are fixed at start (backend, topics, QoS).
PARAMETERS: dict[str, tuple[object, str, bool]] = {
    "backend": ("onnx", "tracker backend: onnx | torch | opencv", True),
    "model": ("asymtrack", "model family: asymtrack | hit (ignored by opencv)", True),
    "variant": ("tiny", "model variant: tiny | small | base", True),
    "model_dir": ("", "ONNX model directory (empty: the shipped default model)", True),
    "weights": ("", "torch checkpoint path ({'net': state_dict}); empty = none", True),
    "algorithm": ("csrt", "opencv backend algorithm: csrt | kcf | mil", True),
    "device": ("auto", "cpu | cuda | cuda:N | auto (torch device; onnx: auto = best provider of [providers])", True),
    "providers": (["auto"], "ONNX Runtime execution providers in priority order; [auto] = best available", True),
    "threads": (2, "intra-op threads of the backend, 1..256", True),
    "window_influence": (-1.0, "box smoothing (onnx, torch): Hann window weight in [0, 1]; -1 = the model's", True),
    "size_update_rate": (-1.0, "box smoothing: share of a size change applied per frame, (0, 1]; -1 = the model's",
                         True),
    "max_scale_step": (-1.0, "box smoothing: largest size ratio per frame, >= 1; -1 = the model's", True),
    "hold_score": (-1.0, "box smoothing: score under which the box stays put, [0, 1]; -1 = the model's", True),
    "input_topic": ("image", "camera topic (relative: remap or namespace it)", True),
    "compressed_input": (False, "subscribe to <input_topic>/compressed (sensor_msgs/CompressedImage)", True),
    "input_reliability": ("best_effort", "input QoS reliability: best_effort | reliable (qos_overrides win)", True),
    "input_depth": (1, "input QoS depth, 1..1000 (1 = latest frame only; qos_overrides take precedence)", True),
    "max_input_pixels": (DEFAULT_MAX_PIXELS, "largest accepted image (width*height, raw or as a JPEG/PNG header "
                         "claims it); larger ones are refused before decoding", False),
    "click_topic": ("image_mouse_left", "geometry_msgs/Point clicks (rqt_image_view), also taken on "
                    "~/debug_image_mouse_left; empty = off", True),
    "click_box_size": (80.0, "side in pixels of the box set around a click, 1..10000", False),
    "frame_history": (30, "frames kept for set_target requests stamped with an earlier frame, 1..1000", True),
    "class_label": ("target", "class_id of the published hypothesis: at most 128 printable characters", False),
    "lost_score": (LostPolicy.lost_score, "confidence under which a frame counts towards LOST", False),
    "recover_score": (LostPolicy.recover_score, "confidence at or above which a frame counts towards recovery", False),
    "lost_frames": (LostPolicy.lost_frames, "consecutive low-confidence frames before LOST, 1..10000", False),
    "recover_frames": (LostPolicy.recover_frames, "confident frames in a row before TRACKING again, 1..10000", False),
    "search_step": (LostPolicy.search_step, "search region growth per LOST frame (times the normal size), 0..8", False),
    "max_search_scale": (LostPolicy.max_search_scale, "largest LOST search region (times the normal one), 1..8", False),
    "debug_image": (True, "publish ~/debug_image (drawn only while someone subscribes)", False),
    "debug_max_rate": (10.0, "maximum ~/debug_image rate in Hz (0 = every frame), 0..1000", False),
    "diagnostics_period": (1.0, "seconds between /diagnostics messages, 0.01..3600", True),
}
SMOOTHING_PARAMETERS = ("window_influence", "size_update_rate", "max_scale_step", "hold_score")


@dataclass(frozen=True)
class RuntimeSettings:
    """The parameters that may change while the node runs."""

    class_label: str
    click_box_size: float
    debug_image: bool
    debug_max_rate: float
    max_input_pixels: int
    policy: LostPolicy

    def validate(self) -> None:
        """Raise ValueError naming the first out-of-range value."""
        self.policy.validate()
        validate_label(self.class_label, "class_label")
        if not 1.0 <= self.click_box_size <= MAX_CLICK_BOX_SIZE:
            raise ValueError(f"click_box_size must lie in [1, {MAX_CLICK_BOX_SIZE:g}] pixels")
        if not 0.0 <= self.debug_max_rate <= MAX_DEBUG_RATE:
            raise ValueError(f"debug_max_rate must lie in [0, {MAX_DEBUG_RATE:g}] Hz")
        if not 1 <= self.max_input_pixels <= MAX_INPUT_PIXELS:
            raise ValueError(f"max_input_pixels must lie in [1, {MAX_INPUT_PIXELS}]")


def declare_parameters(node: Node) -> None:
    """Declare every parameter with its description (and read-only flag)."""
    for name, (default, description, read_only) in PARAMETERS.items():
        node.declare_parameter(name, default, ParameterDescriptor(description=description, read_only=read_only))


def runtime_settings(values: dict[str, object]) -> RuntimeSettings:
    """Settings from parameter values; raises ValueError with the reason when inconsistent."""
    policy_fields = {f.name for f in fields(LostPolicy)}
    policy = LostPolicy(**{k: type(getattr(LostPolicy, k))(values[k]) for k in policy_fields})
    settings = RuntimeSettings(
        class_label=str(values["class_label"]),
        click_box_size=float(values["click_box_size"]),
        debug_image=bool(values["debug_image"]),
        debug_max_rate=float(values["debug_max_rate"]),
        max_input_pixels=int(values["max_input_pixels"]),
        policy=policy,
    )
    settings.validate()
    return settings


def current_values(node: Node) -> dict[str, object]:
    return {name: node.get_parameter(name).value for name in PARAMETERS}


def validate_startup(values: dict[str, object]) -> None:
    """Reject inconsistent start-up parameters with a clear reason."""
    if values["input_reliability"] not in ("best_effort", "reliable"):
        raise ValueError(f"input_reliability must be best_effort or reliable, not {values['input_reliability']!r}")
    for name, (low, high) in STARTUP_LIMITS.items():
        value = float(values[name])
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{name} must lie in [{low:g}, {high:g}], not {values[name]!r}")
    runtime_settings(values)


def check_update(node: Node, updates: list[Parameter]) -> tuple[SetParametersResult, RuntimeSettings | None]:
    """Validate a run-time change against the other current values."""
    values = current_values(node) | {p.name: p.value for p in updates}
    try:
        settings = runtime_settings(values)
    except (ValueError, TypeError, OverflowError) as error:
        return SetParametersResult(successful=False, reason=str(error)), None
    return SetParametersResult(successful=True), settings


def backend_options(values: dict[str, object]) -> dict[str, object]:
    """``create_tracker`` keyword arguments for the configured backend."""
    backend = values["backend"]
    if backend == "opencv":
        return {"algorithm": values["algorithm"]}
    options: dict[str, object] = {"model": values["model"], "variant": values["variant"], "threads": values["threads"]}
    overrides = {name: float(values[name]) if float(values[name]) >= 0 else None for name in SMOOTHING_PARAMETERS}
    options["smoothing"] = SmoothingOverrides(**overrides)
    if backend == "onnx":
        providers = [p for p in values["providers"] if p != "auto"]
        options |= {"model_dir": values["model_dir"] or None, "providers": providers or None,
                    "device": values["device"]}
    elif backend == "torch":
        options |= {"weights": values["weights"] or None, "device": values["device"]}
    return options


def markdown_table() -> str:
    """The README's parameter table (``python -m asymtrack_ros.ros.parameters`` prints it)."""
    rows = ["| parameter | default | changeable at run time | meaning |", "|---|---|---|---|"]
    for name, (default, description, read_only) in PARAMETERS.items():
        if isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        else:
            shown = f"`{default!r}`".replace("'", '"') if isinstance(default, str | list) else f"`{default}`"
        rows.append(f"| `{name}` | {shown} | {'no' if read_only else 'yes'} | {description.replace('|', '/')} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())

