"""The node's parameters, defined once: typed parsing, backend options, and the YAML and README that document them.

Pure functions: no ROS needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from asymtrack_ros.ros.node_config import NodeConfig
from asymtrack_ros.ros.parameters import PARAMETERS, markdown_table
from asymtrack_ros.tracking.box_smoothing import SmoothingOverrides
from asymtrack_ros.tracking.redetection import RedetectionOverrides

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = {name: spec[0] for name, spec in PARAMETERS.items()}


def test_box_smoothing_parameters_reach_the_backend() -> None:
    defaults = NodeConfig.parse(DEFAULTS).backend_options()["smoothing"]
    assert [defaults.window_influence, defaults.size_update_rate, defaults.max_scale_step] == [None] * 3
    tuned = NodeConfig.parse(DEFAULTS | {"backend": "torch", "window_influence": 0.0, "max_scale_step": 1.2})
    assert tuned.backend_options()["smoothing"] == SmoothingOverrides(window_influence=0.0, size_update_rate=None,
                                                                     max_scale_step=1.2)
    assert "smoothing" not in NodeConfig.parse(DEFAULTS | {"backend": "opencv"}).backend_options()


def test_global_search_parameters_reach_the_backend_and_out_of_range_ones_are_refused() -> None:
    assert NodeConfig.parse(DEFAULTS).backend_options()["redetection"] == RedetectionOverrides()
    tuned = NodeConfig.parse(DEFAULTS | {"global_search_every": 0, "global_search_crops": 6})
    assert tuned.backend_options()["redetection"] == RedetectionOverrides(global_search_every=0, global_search_crops=6)
    assert "redetection" not in NodeConfig.parse(DEFAULTS | {"backend": "opencv"}).backend_options()
    with pytest.raises(ValueError, match="global_search_overlap"):
        NodeConfig.parse(DEFAULTS | {"global_search_overlap": 0.95})


def test_local_tracker_empty_means_the_models_and_a_name_reaches_the_network_backends() -> None:
    assert "local_tracker" not in NodeConfig.parse(DEFAULTS).backend_options()
    assert NodeConfig.parse(DEFAULTS | {"local_tracker": "none"}).backend_options()["local_tracker"] == "none"
    torch = NodeConfig.parse(DEFAULTS | {"backend": "torch", "local_tracker": "kcf"})
    assert torch.backend_options()["local_tracker"] == "kcf"
    assert "local_tracker" not in NodeConfig.parse(DEFAULTS | {"backend": "opencv"}).backend_options()


def test_node_config_is_typed() -> None:
    config = NodeConfig.parse(DEFAULTS | {"providers": ["CUDAExecutionProvider"], "lost_frames": 7})
    assert config.providers == ("CUDAExecutionProvider",) and config.policy.lost_frames == 7
    assert config.model_label == "asymtrack-tiny" and isinstance(config.max_input_pixels, int)


@pytest.mark.parametrize("name,value", [
    ("threads", 0), ("diagnostics_period", float("nan")), ("input_reliability", "sometimes"), ("class_label", "a\tb"),
    ("max_input_pixels", 0), ("recover_frames", 0), ("debug_max_rate", float("inf")), ("max_search_scale", 1e308),
    ("local_tracker", "boosting"),
])
def test_node_config_names_the_first_bad_value(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name.split("_")[0]):
        NodeConfig.parse(DEFAULTS | {name: value})


def test_parameter_yaml_declares_exactly_the_node_parameters() -> None:
    document = yaml.safe_load((REPO / "config" / "tracker.yaml").read_text())
    values = document["/**"]["ros__parameters"]
    assert set(values) == set(PARAMETERS)
    for name, value in values.items():
        default = PARAMETERS[name][0]
        assert type(value) is type(default), f"{name}: YAML {value!r} vs declared {default!r}"


def test_readme_parameter_table_is_the_one_the_node_defines() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- parameters:start -->\n")[1].split("<!-- parameters:end -->")[0]
    assert table.strip() == markdown_table(), "README table out of date: python -m asymtrack_ros.ros.parameters"


def test_exit_thresholds_minus_one_means_the_models_and_other_values_must_be_finite() -> None:
    assert NodeConfig.parse(DEFAULTS).exit_thresholds is None
    assert "exit_thresholds" not in NodeConfig.parse(DEFAULTS).backend_options()
    tuned = NodeConfig.parse(DEFAULTS | {"model": "dytrack", "exit_thresholds": [0.4, 0.6]})
    assert tuned.backend_options()["exit_thresholds"] == (0.4, 0.6)
    with pytest.raises(ValueError, match="exit_thresholds"):
        NodeConfig.parse(DEFAULTS | {"exit_thresholds": [float("nan"), 0.5]})
