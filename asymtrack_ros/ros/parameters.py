"""The tracker node's parameters, defined once: the node declares them from here, the README table is
printed from here (``config/tracker.yaml`` is checked against it), ``node_config.NodeConfig`` parses them.
Imports no ROS module."""

from __future__ import annotations

from asymtrack_ros.image_messages import DEFAULT_MAX_PIXELS
from asymtrack_ros.tracking.monitor import LostPolicy

# name: (default, description, read_only). Read-only ones are fixed at start (backend, topics, QoS).
PARAMETERS: dict[str, tuple[object, str, bool]] = {
    "backend": ("onnx", "tracker backend: onnx | torch | opencv", True),
    "model": ("asymtrack", "model family: asymtrack | hit | dytrack (ignored by opencv)", True),
    "variant": ("tiny", "model variant: tiny | small | base", True),
    "model_dir": ("", "ONNX model directory (empty: the shipped default model)", True),
    "weights": ("", "checkpoint path (the authors' files load as is): torch runs it; onnx exports it once into "
                "~/.cache/asymtrack_ros/models and reuses that; empty = none", True),
    "algorithm": ("csrt", "opencv backend algorithm: csrt | kcf | mil", True),
    "device": ("auto", "cpu | cuda | cuda:N | tensorrt[:N] | auto (torch: cpu/cuda; onnx: auto = best provider of "
                       "[providers])", True),
    "providers": (["auto"], "ONNX Runtime execution providers in priority order; [auto] = best available", True),
    "threads": (2, "CPU threads of the tracker, 1..256 (the network's; a fused local tracker's update shares them)",
                True),
    "window_influence": (-1.0, "box smoothing (onnx, torch): Hann window weight in [0, 1]; -1 = the model's", True),
    "size_update_rate": (-1.0, "box smoothing: share of a size change applied per frame, (0, 1]; -1 = the model's",
                         True),
    "max_scale_step": (-1.0, "box smoothing: largest size ratio per frame, >= 1; -1 = the model's", True),
    "hold_score": (-1.0, "box smoothing: score under which the box stays put, [0, 1]; -1 = the model's", True),
    "anchor_search_every": (-1, "while LOST (onnx, torch): search a normal-size crop at the last confident box every "
                            "N-th LOST frame, 0 = never, 0..10000; -1 = the model's", True),
    "global_search_every": (-1, "while LOST (onnx, torch): search the whole frame every N-th LOST frame, 0 = never, "
                            "0..10000; -1 = the model's", True),
    "global_search_overlap": (-1.0, "global search: overlap of adjacent search crops, [0, 0.9]; -1 = the model's",
                              True),
    "global_search_crops": (-1, "global search: most search crops per LOST frame (a larger grid takes several), "
                            "0 = all, 0..10000; -1 = the model's", True),
    "border_search_every": (-1, "while LOST (onnx, torch): search the frame's edge the target left by (the crops of "
                            "the global grid along it, global_search_crops at a time) every N-th LOST frame, "
                            "0 = never, 0..10000; -1 = the model's", True),
    "persistent_hit_frames": (-1, "while LOST (onnx, torch): a hit turned away by the size or the shape gate (not "
                              "both) goes to the check once the network has boxed it the same on N LOST frames in "
                              "a row, 0 = never, 0..10000; -1 = the model's", True),
    "distractor_scan_every": (-1, "while TRACKING (onnx, torch): scan one global-search crop for look-alikes every "
                              "N-th confident frame, 0 = never, 0..10000; -1 = the model's", True),
    "local_tracker": ("", "network backends: OpenCV tracker fused with the network, csrt | kcf | mil | none (the "
                      "network alone); empty = the model's (the shipped default: csrt)", True),
    "exit_thresholds": ([-1.0], "early-exit models (dytrack): tau_1..tau_{K-1} of the exits, settable at run time; "
                        "[-1.0] = the model's", False),
    "input_topic": ("image", "camera topic (relative: remap or namespace it)", True),
    "compressed_input": (False, "subscribe to <input_topic>/compressed (sensor_msgs/CompressedImage)", True),
    "input_reliability": ("best_effort", "input QoS reliability: best_effort | reliable (qos_overrides win)", True),
    "input_depth": (1, "input QoS depth, 1..1000 (1 = latest frame only; qos_overrides take precedence)", True),
    "max_input_pixels": (DEFAULT_MAX_PIXELS, "largest accepted image (width*height, raw or as a JPEG/PNG header "
                         "claims it); larger ones are refused before decoding", False),
    "click_topic": ("image_mouse_left", "geometry_msgs/Point clicks (rqt_image_view), also taken on "
                    "~/debug_image_mouse_left; empty = off", True),
    "click_box_size": (80.0, "side in pixels of the box set around a click, 1..10000", False),
    "max_targets": (1, "targets tracked at once, 1..16: a set_target with a new target_id adds one while there is "
                    "room; 1 = a new target replaces the tracked one", True),
    "frame_history": (30, "frames kept for set_target requests stamped with an earlier frame, 1..1000", True),
    "class_label": ("target", "class_id of the published hypothesis: at most 128 printable characters", False),
    "lost_score": (LostPolicy.lost_score, "confidence under which a frame counts towards LOST", False),
    "recover_score": (LostPolicy.recover_score, "confidence at or above which a frame counts towards recovery", False),
    "lost_frames": (LostPolicy.lost_frames, "consecutive low-confidence frames before LOST, 1..10000", False),
    "recover_frames": (LostPolicy.recover_frames, "confident frames in a row before TRACKING again, 1..10000", False),
    "follow_frames": (LostPolicy.follow_frames, "after a LOST frame at recover_score, frames in a row at or above "
                      "lost_score that also mean TRACKING again, 0..10000; 0 = off", False),
    "probation_frames": (LostPolicy.probation_frames, "frames after a recovery in which one score under lost_score "
                         "is LOST again, 0..10000; 0 = off", False),
    "recover_at_normal_scale": (LostPolicy.recover_at_normal_scale, "while LOST, a confident frame in the widened "
                                "search region is followed and confirmed in the normal one", False),
    "search_step": (LostPolicy.search_step, "search region growth per LOST frame (times the normal size), 0..8", False),
    "max_search_scale": (LostPolicy.max_search_scale, "largest LOST search region (times the normal one), 1..8", False),
    "min_visible": (LostPolicy.min_visible, "share of the box inside the image at or under which the target has left "
                    "the view (LOST at once), [0, 1); 0 = never", False),
    "lost_at_cut": (LostPolicy.lost_at_cut, "a frame at a shot cut (the whole picture changed) scoring under "
                    "lost_score is LOST at once", False),
    "lost_at_exit": (LostPolicy.lost_at_exit, "a TRACKING frame is LOST at once when the target's own motion took it "
                     "out of view (min_visible) and the box did not follow it or scores under lost_score", False),
    "debug_image": (True, "publish ~/debug_image (drawn only while someone subscribes)", False),
    "debug_max_rate": (10.0, "maximum ~/debug_image rate in Hz (0 = every frame), 0..1000", False),
    "diagnostics_period": (1.0, "seconds between /diagnostics messages, 0.01..3600", True),
}


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

