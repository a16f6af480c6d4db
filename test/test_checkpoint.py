"""Checkpoint loading never runs pickled code and names the file and key that is wrong."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
import torch

from asymtrack_ros.checkpoint import CheckpointError, load_weights, read_checkpoint
from asymtrack_ros.models import build_model
from asymtrack_ros.models.registry import checkpoint_filter_for


class Exploit:
    """Unpickling this would run a shell command."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/asymtrack_pwned",))


@pytest.fixture(scope="module")
def tiny_state() -> dict:
    return build_model("asymtrack", "tiny").state_dict()


def test_official_style_checkpoint_with_settings_objects_loads(tmp_path: Path, tiny_state) -> None:
    path = tmp_path / "AsymTrack_ep0300.pth.tar"
    torch.save({"net": tiny_state, "epoch": 300, "settings": argparse.Namespace(lr=1e-4)}, path)
    model = build_model("asymtrack", "tiny")
    load_weights(model, path, checkpoint_filter_for("asymtrack"))
    assert torch.equal(model.state_dict()["bottleneck.weight"], tiny_state["bottleneck.weight"])


def test_code_in_a_checkpoint_never_runs(tmp_path: Path, tiny_state) -> None:
    marker = Path("/tmp/asymtrack_pwned")
    marker.unlink(missing_ok=True)
    path = tmp_path / "evil.pth"
    torch.save({"net": tiny_state, "payload": Exploit()}, path)
    read_checkpoint(path)
    assert not marker.exists()
    torch.save({"net": {**tiny_state, "bottleneck.weight": Exploit()}}, path)
    with pytest.raises(CheckpointError, match=r"refusing .*net\.bottleneck\.weight .*posix\.system"):
        read_checkpoint(path)
    assert not marker.exists()


def test_missing_truncated_and_mismatching_files_name_the_problem(tmp_path: Path, tiny_state) -> None:
    model = build_model("asymtrack", "tiny")
    with pytest.raises(CheckpointError, match=r"nowhere\.pth does not exist"):
        load_weights(model, tmp_path / "nowhere.pth")
    path = tmp_path / "cut.pth"
    torch.save({"net": tiny_state}, path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=r"cut\.pth is truncated or corrupt"):
        load_weights(model, path)
    renamed = dict(tiny_state)
    renamed["bottleneck.weights"] = renamed.pop("bottleneck.weight")
    torch.save({"net": renamed}, path)
    with pytest.raises(CheckpointError, match=r"cut.pth: missing key 'bottleneck.weight'"):
        load_weights(model, path)
    with pytest.raises(CheckpointError, match=r"unexpected key 'extra.weight'"):
        load_weights(model, {**tiny_state, "extra.weight": torch.zeros(1)})
    reshaped = {**tiny_state, "bottleneck.bias": torch.zeros(3)}
    with pytest.raises(CheckpointError, match=r"'bottleneck.bias' has shape \(3,\)"):
        load_weights(model, reshaped)


def test_module_prefix_from_data_parallel_is_stripped(tiny_state) -> None:
    model = build_model("asymtrack", "tiny")
    load_weights(model, {f"module.{k}": v for k, v in tiny_state.items()}, checkpoint_filter_for("asymtrack"))
