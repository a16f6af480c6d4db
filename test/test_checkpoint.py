"""Checkpoint loading never runs pickled code and names the file and key that is wrong."""

from __future__ import annotations

import argparse
import io
import os
import pickle
import pickletools
import re
import struct
import tarfile
from pathlib import Path

import pytest
import torch
from torch.serialization import MAGIC_NUMBER, PROTOCOL_VERSION

from asymtrack_ros.checkpoint import CheckpointError, load_weights, read_checkpoint
from asymtrack_ros.models.factory import build_model, model_family


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
    load_weights(model, path, model_family("asymtrack").checkpoint_filter)
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
    load_weights(model, {f"module.{k}": v for k, v in tiny_state.items()}, model_family("asymtrack").checkpoint_filter)


class CreatesFile:
    """Unpickling this creates ``marker`` (``open(marker, "w")``): proof that pickled code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


class TouchesFile(CreatesFile):
    """The same through a bound method (``pathlib.Path.touch``), pickled as ``getattr(path, "touch")``."""

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _pickle_slots(path: Path) -> list[bytes]:
    """The consecutive pickles of a legacy (non-zip) torch file we wrote ourselves, plus the raw tensor bytes."""
    data = path.read_bytes()
    with path.open("rb") as stream:
        slots, start = [], 0
        for _ in range(5):  # magic number, protocol version, sys info, the object, storage keys
            for _op in pickletools.genops(stream):  # reads up to the pickle's STOP, runs nothing
                pass
            slots.append(data[start : stream.tell()])
            start = stream.tell()
    return [*slots, data[start:]]


def _legacy_file_with_payload(path: Path, state: dict, slot: int, payload: object) -> Path:
    torch.save({"net": state}, path, _use_new_zipfile_serialization=False)
    slots = _pickle_slots(path)
    slots[slot] = pickle.dumps(payload, protocol=2)
    path.write_bytes(b"".join(slots))
    return path


def _hostile_files(tmp_path: Path, state: dict, marker: Path) -> dict[str, Path]:
    """Files that would create ``marker`` if unpickled with plain pickle, none of which holds usable weights."""
    files: dict[str, Path] = {}
    for exploit in (CreatesFile(marker), TouchesFile(marker)):
        kind = type(exploit).__name__
        in_net = {**state, "bottleneck.weight": exploit}
        files[f"zip, {kind} in net"] = tmp_path / f"zip_{kind}.pth"
        torch.save({"net": in_net}, files[f"zip, {kind} in net"])
        files[f"legacy, {kind} in net"] = tmp_path / f"legacy_{kind}.pth"
        torch.save({"net": in_net}, files[f"legacy, {kind} in net"], _use_new_zipfile_serialization=False)
        files[f"raw pickle, {kind}"] = tmp_path / f"raw_{kind}.pkl"
        files[f"raw pickle, {kind}"].write_bytes(pickle.dumps(exploit))
        files[f"raw pickle dict, {kind}"] = tmp_path / f"raw_dict_{kind}.pkl"
        files[f"raw pickle dict, {kind}"].write_bytes(pickle.dumps({"net": state, "settings": exploit}))
        for slot, name in enumerate(("magic number", "protocol", "sys info", "object", "storage keys")):
            files[f"legacy, {kind} as {name}"] = _legacy_file_with_payload(
                tmp_path / f"legacy_{kind}_{slot}.pth", state, slot, exploit
            )
    return files


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 4")
def test_hostile_checkpoints_of_every_format_are_refused_without_running_code(tmp_path: Path, tiny_state) -> None:
    marker = tmp_path / "pwned"
    model = build_model("asymtrack", "tiny")
    for name, path in _hostile_files(tmp_path, tiny_state, marker).items():
        for load in (read_checkpoint, lambda p: load_weights(model, p, model_family("asymtrack").checkpoint_filter)):
            with pytest.raises(CheckpointError, match=re.escape(str(path))):
                load(path)
            assert not marker.exists(), f"{name}: unpickling ran code"


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_code_outside_the_weights_is_neutralised_and_the_weights_load(tmp_path: Path, tiny_state, legacy) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "settings.pth"
    settings = {"lr": 1e-4, "env": CreatesFile(marker), "hook": TouchesFile(marker)}
    torch.save({"net": tiny_state, "settings": settings}, path, _use_new_zipfile_serialization=not legacy)
    model = build_model("asymtrack", "tiny")
    load_weights(model, path, model_family("asymtrack").checkpoint_filter)
    assert not marker.exists()
    assert torch.equal(model.state_dict()["bottleneck.weight"], tiny_state["bottleneck.weight"])


def test_a_pickle_cannot_patch_torch_classes_to_write_files(tmp_path: Path, monkeypatch) -> None:
    """BUILD on an allowed class would set ``dump_patches``; torch's legacy loader then writes ``<class>.patch``."""
    monkeypatch.chdir(tmp_path)

    def text(value: str) -> bytes:
        return b"X" + struct.pack("<I", len(value)) + value.encode()

    set_dump_patches = b"N}" + text("dump_patches") + b"\x88s\x86b0"  # BUILD (None, {"dump_patches": True}), POP
    module_id = b"(" + text("module") + b"h\x00" + text("evil.py") + text("class TypedStorage: pass") + b"tQ."
    hostile = b"\x80\x02ctorch\nTypedStorage\nq\x00" + set_dump_patches + module_id
    path = tmp_path / "patch.pth"
    header = b"".join(pickle.dumps(item, protocol=2) for item in (MAGIC_NUMBER, PROTOCOL_VERSION, {}))
    path.write_bytes(header + hostile + pickle.dumps([], protocol=2))
    try:
        with pytest.raises(CheckpointError):
            read_checkpoint(path)
        assert "dump_patches" not in vars(torch.TypedStorage)
        assert not list(tmp_path.glob("*.patch"))
    finally:
        if "dump_patches" in vars(torch.TypedStorage):
            del torch.TypedStorage.dump_patches


def test_the_pre_0_4_tar_format_is_refused_before_torch_extracts_it(tmp_path: Path) -> None:
    path = tmp_path / "old.pth"
    with tarfile.open(path, "w") as archive:
        for name in ("storages", "tensors", "pickle"):
            member = tarfile.TarInfo(name)
            member.size = 2
            archive.addfile(member, io.BytesIO(b"N."))
    with pytest.raises(CheckpointError, match=r"old\.pth uses the tar format of PyTorch < 0\.4"):
        read_checkpoint(path)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_plain_state_dicts_load_in_both_formats(tmp_path: Path, tiny_state, legacy) -> None:
    path = tmp_path / "plain.pth"
    torch.save(tiny_state, path, _use_new_zipfile_serialization=not legacy)
    state = read_checkpoint(path)
    assert state.keys() == tiny_state.keys()
    assert all(torch.equal(state[key], tiny_state[key]) for key in tiny_state)


class Settings:
    """Like the authors' ``lib.train.admin.Settings``: nested objects, a device, a set and a function."""

    def __init__(self) -> None:
        self.env = argparse.Namespace(workspace_dir="/ws", tensorboard_dir=Path("/ws/tb"))
        self.device = torch.device("cpu")
        self.datasets = {"got10k", "lasot"}
        self.objective = torch.nn.functional.l1_loss
        self.save = Path.touch  # a method reference is pickled through getattr


def test_training_checkpoint_with_optimizer_and_settings_objects_loads(tmp_path: Path, tiny_state) -> None:
    model = build_model("asymtrack", "tiny")
    optimizer = torch.optim.AdamW(model.parameters())
    path = tmp_path / "AsymTrack_ep0001.pth.tar"
    content = {"epoch": 1, "net": tiny_state, "optimizer": optimizer.state_dict(), "settings": Settings()}
    for legacy in (False, True):
        torch.save(content, path, _use_new_zipfile_serialization=not legacy)
        state = read_checkpoint(path)
        assert all(torch.equal(state[key], tiny_state[key]) for key in tiny_state)
