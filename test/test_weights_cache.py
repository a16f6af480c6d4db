"""Authors' checkpoints at ONNX speed: exported once into the cache, reused, re-exported when tampered with."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import asymtrack_ros.export  # noqa: F401  (registers the export cache with the onnx backend)
from asymtrack_ros.checkpoint import CheckpointError
from asymtrack_ros.export.cache import cache_root
from asymtrack_ros.models.factory import build_model
from asymtrack_ros.tracking import create_tracker, weights_export
from asymtrack_ros.tracking.manifest import SEARCH_FILE

pytestmark = pytest.mark.slow
FRAME = np.random.default_rng(3).integers(0, 256, (240, 320, 3), dtype=np.uint8)
BOX = (120.0, 80.0, 60.0, 50.0)


@pytest.fixture()
def checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seeded AsymTrack-T checkpoint in the authors' layout; the cache under tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    torch.manual_seed(0)
    path = tmp_path / "AsymTrack_ep0300.pth.tar"
    torch.save({"net": build_model("asymtrack", "tiny").state_dict()}, path)
    return path


def onnx_box(weights: Path) -> tuple[float, ...]:
    tracker = create_tracker("onnx", weights=weights, threads=1)
    tracker.initialize(FRAME, BOX)
    return tracker.track(FRAME).box


def test_a_checkpoint_is_exported_once_then_reused_and_matches_torch(checkpoint: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="asymtrack_ros.export.cache")
    start = time.perf_counter()
    first = onnx_box(checkpoint)
    export_s = time.perf_counter() - start
    (entry,) = cache_root().iterdir()
    written = (entry / "model.json").stat().st_mtime_ns
    start = time.perf_counter()
    second = onnx_box(checkpoint)
    reuse_s = time.perf_counter() - start
    assert (entry / "model.json").stat().st_mtime_ns == written and [p.name for p in cache_root().iterdir()] == [
        entry.name]
    assert "exporting" in caplog.text and "reusing the ONNX export" in caplog.text
    assert second == first and reuse_s < export_s / 2, (export_s, reuse_s)
    torch_tracker = create_tracker("torch", weights=checkpoint, device="cpu")
    torch_tracker.initialize(FRAME, BOX)
    np.testing.assert_allclose(torch_tracker.track(FRAME).box, first, atol=1e-2)


def test_a_tampered_cache_entry_is_rejected_by_checksum_and_exported_again(checkpoint: Path, caplog) -> None:
    onnx_box(checkpoint)
    (entry,) = cache_root().iterdir()
    graph = entry / SEARCH_FILE
    graph.write_bytes(graph.read_bytes() + b"tampered")
    caplog.set_level(logging.WARNING, logger="asymtrack_ros.export.cache")
    onnx_box(checkpoint)
    assert "discarding the cached export" in caplog.text and "does not match" in caplog.text
    assert not graph.read_bytes().endswith(b"tampered")


class CreatesFile:
    """Unpickling this creates ``marker``: proof that pickled code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_hostile_checkpoint_is_refused_before_anything_is_exported(tmp_path: Path, checkpoint: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = tmp_path / "hostile.pth"
    torch.save({"net": {"w": CreatesFile(marker)}}, hostile)
    with pytest.raises(CheckpointError):
        create_tracker("onnx", weights=hostile)
    assert not marker.exists() and not cache_root().exists()


def test_without_the_exporter_the_onnx_backend_says_how_to_enable_it(monkeypatch, checkpoint: Path) -> None:
    monkeypatch.setattr(weights_export, "_registered", [])
    with pytest.raises(ValueError, match=r"import asymtrack_ros\.export"):
        create_tracker("onnx", weights=checkpoint)


def node_backend_status(checkpoint: Path, name: str):
    """The /diagnostics status of an onnx tracker node started with ``weights:=checkpoint``."""
    from asymtrack_ros.ros.tracker_client import TrackerClient

    from ros_fixtures import node_process, spinning_node, wait_until

    args = ("-r", "__ns:=/cached", "-p", "backend:=onnx", "-p", f"weights:={checkpoint}",
            "-p", "diagnostics_period:=0.2")
    with spinning_node(name) as node, node_process("asymtrack_ros.ros.tracker_node", *args):
        client = TrackerClient(node, "/cached")

        def tracker_statuses() -> list:
            return [s for a in client.snapshot("diagnostics") for s in a.status if s.name.endswith("tracker")]

        assert wait_until(lambda: bool(tracker_statuses()), timeout=120), "the node published no diagnostics"
        return tracker_statuses()[-1]


@pytest.mark.ros
def test_the_node_exports_a_checkpoint_for_onnx_once_and_reuses_it(checkpoint: Path) -> None:
    from ros_fixtures import require_ros

    require_ros()
    first = node_backend_status(checkpoint, "cache_checker_export")
    (entry,) = cache_root().iterdir()
    written = (entry / "model.json").stat().st_mtime_ns
    second = node_backend_status(checkpoint, "cache_checker_reuse")
    assert first.level != b"\x02" and second.level != b"\x02", (first.message, second.message)
    assert [p.name for p in cache_root().iterdir()] == [entry.name]
    assert (entry / "model.json").stat().st_mtime_ns == written, "the second start exported again"
