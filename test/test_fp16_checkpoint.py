"""fp16 checkpoints: half the size, the same keys, and they load into the fp32 model as the rounded weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asymtrack_ros.checkpoint import load_weights, read_checkpoint
from asymtrack_ros.export.fp16_checkpoint import main
from asymtrack_ros.models.factory import build_model


def test_fp16_checkpoint_halves_the_file_and_loads_as_the_rounded_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("asymtrack", "tiny")
    source, destination = tmp_path / "fp32.pth", tmp_path / "out" / "fp16.pth"
    torch.save({"net": model.state_dict()}, source)
    assert main([str(source), str(destination)]) == 0
    half = read_checkpoint(destination)
    assert half.keys() == model.state_dict().keys()
    assert destination.stat().st_size < 0.6 * source.stat().st_size
    for key, value in model.state_dict().items():
        assert half[key].dtype == (torch.float16 if value.is_floating_point() else value.dtype), key
    reloaded = build_model("asymtrack", "tiny")
    load_weights(reloaded, destination)
    for key, value in reloaded.state_dict().items():
        expected = model.state_dict()[key]
        expected = expected.half().float() if expected.is_floating_point() else expected
        assert value.dtype == expected.dtype and torch.equal(value, expected), key


def test_a_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main([str(tmp_path / "absent.pth"), str(tmp_path / "out.pth")])
