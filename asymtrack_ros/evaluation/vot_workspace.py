"""An offline VOT toolkit workspace: sequences in the toolkit's own format, a stack, and ``asymtrack-trax`` trackers.

Layout (``vot-toolkit`` 0.9): ``config.yaml`` naming ``stack.yaml`` (one ``unsupervised`` experiment, no dataset
URL, so nothing is downloaded) and the workspace as tracker registry, ``trackers.ini``, and ``sequences/`` with
``list.txt`` and per sequence ``sequence`` (metadata), ``color/00000001.<ext> ...`` and ``groundtruth.txt``.
The toolkit initialises on frame 1, so every sequence starts at its first frame with a visible target; frames
are links to the dataset's files. An absent target is a ``nan`` row.
"""

from __future__ import annotations

import configparser
import json
import shlex
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

import asymtrack_ros
from asymtrack_ros.sequences import TrackSequence

EXPERIMENT = "unsupervised"
# The stack's analyses (toolkit registry names) and the names of the measures each reports, in its order.
# accuracy: mean overlap over the visible frames where the box overlaps the target; robustness: share of visible
# frames where it does (the toolkit counts the initialisation frame as overlap 0 in both); precision, recall and
# F-score of the boxes at the confidence threshold that maximises F.
ANALYSES = {"longterm_ar": ("accuracy", "robustness"), "average_tpr": ("precision", "recall", "f_score")}
STACK = f"""title: asymtrack_ros offline stack
experiments:
  {EXPERIMENT}:
    type: unsupervised
    repetitions: 1
    analyses:
""" + "".join(f"      - type: {analysis}\n        name: {analysis}\n" for analysis in ANALYSES)
CONFIG = "stack: stack.yaml\nregistry:\n- .\n"
Figures = dict[str, dict[str, float | None]]  # tracker -> measure -> value (None: undefined)
TRACKER_TIMEOUT_S = 120  # the toolkit's watchdog per request: the first request includes loading the model


def write_workspace(
    root: Path, sequences: Iterable[TrackSequence], trackers: Mapping[str, str], server_options: Sequence[str] = ()
) -> list[str]:
    """Write a workspace at ``root`` (over an existing one: results stay) for ``trackers``: toolkit identifier ->
    ``asymtrack-trax`` tracker spec, each served with ``server_options``. Returns the sequence names."""
    (root / "sequences").mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(CONFIG)
    (root / "stack.yaml").write_text(STACK)
    write_trackers(root / "trackers.ini", trackers, server_options)
    names = [write_sequence(root / "sequences", sequence) for sequence in sequences]
    (root / "sequences" / "list.txt").write_text("".join(f"{name}\n" for name in names))
    return names


def write_sequence(directory: Path, sequence: TrackSequence) -> str:
    """``sequence`` from its initialisation frame on, as ``directory/<name>``; returns the name."""
    target = directory / sequence.name
    shutil.rmtree(target, ignore_errors=True)
    (target / "color").mkdir(parents=True)
    frames = sequence.frames[sequence.init_frame :]
    suffix = frames[0].suffix.lower()
    if any(frame.suffix.lower() != suffix for frame in frames):
        raise ValueError(f"{sequence.name}: the toolkit needs one image type per sequence")
    for index, frame in enumerate(frames, start=1):
        (target / "color" / f"{index:08d}{suffix}").symlink_to(frame.resolve())
    (target / "sequence").write_text(f"channels.color=color/%08d{suffix}\nfps=30\nformat=default\n")
    np.savetxt(target / "groundtruth.txt", sequence.ground_truth[sequence.init_frame :], fmt="%.3f", delimiter=",")
    return sequence.name


def write_trackers(path: Path, trackers: Mapping[str, str], server_options: Sequence[str] = ()) -> None:
    """``trackers.ini``: each tracker as ``asymtrack-trax --tracker SPEC SERVER_OPTIONS`` run by this Python."""
    config = configparser.ConfigParser(interpolation=None)
    package_root = str(Path(asymtrack_ros.__file__).resolve().parents[1])
    for identifier, spec in trackers.items():
        command = shlex.join([sys.executable, "-m", "asymtrack_ros.evaluation.trax_server", "--tracker", spec,
                              *server_options])
        entry = {
            "label": identifier,
            "protocol": "trax",
            "command": command,
            "timeout": str(TRACKER_TIMEOUT_S),
            "env_PYTHONPATH": package_root,  # the command runs from a temporary directory
        }
        config[identifier] = {key: value.replace("%", "%%") for key, value in entry.items()}  # read with % syntax
    with path.open("w") as handle:
        config.write(handle)


def read_analysis(path: Path) -> Figures:
    """A ``vot analysis --format json`` report: per tracker, each measure of :data:`ANALYSES` (None: not defined,
    e.g. no visible frame)."""
    report = json.loads(path.read_text())
    results = report["results"][EXPERIMENT]["results"]  # per analysis, per tracker: the analysis' measures
    return {
        tracker: {name: value for names, grid in zip(ANALYSES.values(), results, strict=True)
                  for name, value in zip(names, grid[position], strict=False)}  # AR adds its plot point
        for position, tracker in enumerate(report["trackers"])
    }
