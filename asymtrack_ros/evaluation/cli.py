"""``asymtrack-eval``: one-pass evaluation of one or more trackers on a dataset directory or a rosbag2 recording.

Each ``--tracker NAME=BACKEND[:key=value,...]`` becomes ``create_tracker(BACKEND, key=value, ...)``; values are
read as JSON scalars when they parse (``2``, ``0.5``, ``true``, ``null``) and kept as strings otherwise. Each
``--policy key=value`` sets a field of the sessions' lost policy (``LostPolicy``; the node's parameters of the same
names), read the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from asymtrack_ros import __version__
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import FORMATS, DatasetError, load_dataset
from asymtrack_ros.evaluation.ope import DEFAULT_POLICY, SequenceResult, TrackerFactory, run_ope
from asymtrack_ros.evaluation.recording import RecordingError, open_recording
from asymtrack_ros.evaluation.recording_report import evaluate_recording
from asymtrack_ros.evaluation.report import write_report
from asymtrack_ros.evaluation.robustness import REACQUIRE_WITHIN
from asymtrack_ros.host import host_summary
from asymtrack_ros.image_messages import DEFAULT_MAX_PIXELS
from asymtrack_ros.progress import Progress
from asymtrack_ros.sequences import read_boxes
from asymtrack_ros.tracking.monitor import LostPolicy

TrackerSpec = tuple[str, str, dict[str, Any]]  # name, backend, create_tracker keyword arguments
TRACKER_METAVAR = "NAME=BACKEND[:key=value,...]"
EXAMPLES = (
    "asymtrack-eval --dataset /data/LaSOT --out eval/lasot --max-sequences 10 \\\n"
    "    --tracker asym=onnx:model=asymtrack,variant=tiny --tracker hit=torch:model=hit,device=cpu",
    "asymtrack-eval --dataset data/synthetic-heldout --format got10k --out eval/heldout \\\n"
    "    --tracker ours=onnx:model_dir=models/asymtrack-tiny --tracker csrt=opencv:algorithm=csrt",
    "asymtrack-eval --bag recordings/flight1 --image-topic /camera/image_raw/compressed \\\n"
    "    --init-stamp 1700000000123456789 --init-box 310,200,80,60 --tracker ours=onnx --out eval/flight1",
)
RECORDING_COLUMNS = ("tracked_frames", "tracking_share", "lost_share", "fps")


def parse_tracker_spec(spec: str) -> TrackerSpec:
    """``NAME=BACKEND[:key=value,...]`` as (name, backend, options)."""
    name, _, backend_spec = spec.partition("=")
    backend, _, option_text = backend_spec.partition(":")
    if not name or not backend or "/" in name:
        raise argparse.ArgumentTypeError(f"tracker spec {spec!r} is not NAME=BACKEND[:key=value,...] (no / in NAME)")
    options: dict[str, Any] = {}
    for item in filter(None, option_text.split(",")):
        key, equals, value = item.partition("=")
        if not key or not equals:
            raise argparse.ArgumentTypeError(f"tracker option {item!r} in {spec!r} is not key=value")
        options[key] = _parse_value(value)
    return name, backend, options


def parse_policy_setting(text: str) -> tuple[str, object]:
    """``key=value`` as (a ``LostPolicy`` field, its value read as :func:`_parse_value`)."""
    key, equals, value = text.partition("=")
    names = [field.name for field in dataclasses.fields(LostPolicy)]
    if not equals or key not in names:
        raise argparse.ArgumentTypeError(f"policy setting {text!r} is not key=value with key in {', '.join(names)}")
    return key, _parse_value(value)


def lost_policy(settings: list[tuple[str, object]]) -> LostPolicy:
    """The default lost policy with ``settings`` (from :func:`parse_policy_setting`); ValueError (from
    ``LostPolicy.validate``) when a value has the wrong type or the policy is invalid."""
    values: dict[str, Any] = dict(settings)  # typed by validate()
    policy = dataclasses.replace(DEFAULT_POLICY, **values)
    policy.validate()
    return policy


def run_setup(policy: LostPolicy, specs: Sequence[TrackerSpec] = ()) -> dict[str, Any]:
    """What an evaluation run was asked to do, for its ``summary.json``: the package version, the sessions' lost
    policy, each tracker's backend and options as given (``specs``; the model's own settings are in its
    ``model.json``) and the machine (``host.py``: its timings compare only with others measured on it)."""
    return {"package_version": __version__, "policy": dataclasses.asdict(policy),
            "trackers": {name: {"backend": backend, "options": options} for name, backend, options in specs},
            "host": host_summary()}


def tracker_factories(specs: list[TrackerSpec]) -> dict[str, TrackerFactory]:
    """A factory per named tracker, calling ``asymtrack_ros.tracking.create_tracker`` (imported here, lazily)."""
    from asymtrack_ros.tracking import create_tracker

    return {name: functools.partial(create_tracker, backend, **options) for name, backend, options in specs}


def run_evaluation(*args: Any, **kwargs: Any) -> dict:
    """:func:`evaluate_dataset` (same arguments), returning the summary alone."""
    return evaluate_dataset(*args, **kwargs)[0]


def evaluate_dataset(
    dataset: Path | str,
    out_dir: Path | str,
    factories: Mapping[str, TrackerFactory],
    fmt: str = "auto",
    max_sequences: int | None = None,
    skip_sequences: int = 0,
    show_progress: bool = False,
    policy: LostPolicy = DEFAULT_POLICY,
    specs: Sequence[TrackerSpec] = (),
) -> tuple[dict, dict[str, list[SequenceResult]]]:
    """Load the dataset, run every tracker over it (sessions with ``policy``) and write the report; returns the
    summary and the per-sequence results it was made from. The summary records :func:`run_setup` (``specs``: the
    trackers as parsed from the command line, if they were).

    With ``show_progress`` a progress line on stderr counts tracker x sequence runs; otherwise each is logged.
    """
    sequences = load_dataset(dataset, fmt, max_sequences, skip_sequences)
    if show_progress:
        with Progress(len(factories) * len(sequences), "asymtrack-eval") as progress:
            results = run_ope(factories, sequences, progress.advance, policy)
    else:
        results = run_ope(factories, sequences, policy=policy)
    return write_report(out_dir, results, Path(dataset).name, run_setup(policy, specs)), results


def run_recording_evaluation(args: argparse.Namespace, factories: Mapping[str, TrackerFactory],
                             policy: LostPolicy = DEFAULT_POLICY) -> dict:
    """``--bag``: open the recording as the arguments say, run every tracker over it and write the report."""
    try:
        ground_truth = None if args.ground_truth is None else read_boxes(args.ground_truth)
    except (OSError, ValueError) as error:
        raise RecordingError(f"ground truth {args.ground_truth}: {error}") from error
    sequence = open_recording(args.bag, args.image_topic, args.init_box, args.init_stamp, ground_truth,
                              args.max_pixels)
    with Progress(len(factories), "asymtrack-eval") as progress:
        return evaluate_recording(sequence, args.out, factories, progress.advance, policy,
                                  run_setup(policy, args.tracker))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``asymtrack-eval``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    names = [name for name, _, _ in args.tracker]
    if len(set(names)) != len(names):
        parser.error(f"tracker names must be unique, got {names}")
    if args.bag is not None and args.image_topic is None:
        parser.error("--bag needs --image-topic")
    if args.bag is not None and args.init_box is None and args.ground_truth is None:
        parser.error("--bag needs --init-box or --ground-truth to start from")
    try:
        policy = lost_policy(args.policy)
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.bag is not None:
            summary = run_recording_evaluation(args, tracker_factories(args.tracker), policy)
        else:
            summary = run_evaluation(
                args.dataset, args.out, tracker_factories(args.tracker), args.format, args.max_sequences,
                args.skip_sequences, show_progress=True, policy=policy, specs=args.tracker,
            )
    except (DatasetError, RecordingError) as error:
        parser.error(str(error))
    _print_summary(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``asymtrack-eval`` command line."""
    parser = command_parser(
        "asymtrack-eval",
        "One-pass evaluation of trackers on a GOT-10k, LaSOT, OTB-100 or UAV123 directory.",
        EXAMPLES,
        "Tracker options are passed to create_tracker(BACKEND, key=value, ...); values parse as JSON scalars\n"
        "(2, 0.5, true, null) when they can, else stay strings.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", type=Path, help="dataset directory (GOT-10k: a split folder)")
    source.add_argument("--bag", type=Path, help="rosbag2 recording: its directory, or one .mcap / .db3 file")
    parser.add_argument("--format", default="auto", choices=("auto", *FORMATS),
                        help="dataset layout (auto: recognised from the files)")
    parser.add_argument("--tracker", required=True, action="append", type=parse_tracker_spec, metavar=TRACKER_METAVAR,
                        help="tracker to evaluate, repeat to compare several")
    parser.add_argument("--out", required=True, type=Path, help="output directory for CSV, JSON and plots")
    parser.add_argument("--max-sequences", type=_positive_int, metavar="N",
                        help="evaluate only the first N sequences (default: all)")
    parser.add_argument("--skip-sequences", type=int, default=0, metavar="N", help="leave out the first N sequences")
    parser.add_argument("--policy", action="append", default=[], type=parse_policy_setting, metavar="KEY=VALUE",
                        help="a lost-policy setting for every tracker's session (e.g. probation_frames=0), repeat "
                        "for several; default: the node's defaults")
    bag = parser.add_argument_group("recordings (--bag)")
    bag.add_argument("--image-topic", metavar="TOPIC", help="sensor_msgs/Image or CompressedImage topic in the bag")
    bag.add_argument("--init-box", type=_box, metavar="X,Y,W,H", help="initial box in pixels (default: the "
                     "ground truth of the start frame)")
    bag.add_argument("--init-stamp", type=int, metavar="NS", help="start on the frame with this header stamp in "
                     "nanoseconds (default: the first frame, or the first with a visible target)")
    bag.add_argument("--ground-truth", type=Path, metavar="FILE", help="OTB text file, one x,y,w,h row per frame "
                     "of the topic in recorded order (NaN: absent); without it, no accuracy is reported")
    bag.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS, metavar="N",
                     help="largest accepted image in pixels, checked before decoding, as the node's max_input_pixels")
    return parser


def _parse_value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _box(text: str) -> tuple[float, float, float, float]:
    values = text.split(",")
    try:
        x, y, w, h = (float(value) for value in values)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h, got {text!r}") from None
    if not all(map(math.isfinite, (x, y, w, h))) or w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite box with positive size, got {text!r}")
    return x, y, w, h


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _print_summary(summary: dict) -> None:
    columns: tuple[str, ...] = ("auc", "precision", "norm_precision", "ao", "sr50", "sr75", "false_tracking",
               f"reacquired_within_{REACQUIRE_WITHIN}", "absent_tracking", "visible_lost", "lookalike_tracking",
               "fps")
    if not any("auc" in numbers for numbers in summary["trackers"].values()):
        columns = RECORDING_COLUMNS  # a recording without ground truth
    width = max(len("tracker"), *(len(name) for name in summary["trackers"]))
    print(f"{'tracker':<{width}}  " + "  ".join(f"{column:>15}" for column in columns))
    for name, numbers in summary["trackers"].items():
        cells = ("n/a" if numbers[column] is None else f"{numbers[column]:.4f}" for column in columns)
        print(f"{name:<{width}}  " + "  ".join(f"{cell:>15}" for cell in cells))


if __name__ == "__main__":
    raise SystemExit(main())
