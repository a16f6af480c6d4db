"""``asymtrack-export``: a tracker checkpoint as an ONNX model directory (template.onnx, search.onnx, model.json)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from asymtrack_ros.checkpoint import CheckpointError
from asymtrack_ros.cli_support import command_parser, exit_thresholds_argument
from asymtrack_ros.export.graphs import ExportError
from asymtrack_ros.export.pipeline import export_model
from asymtrack_ros.tracking.box_smoothing import NO_SMOOTHING, BoxSmoothing
from asymtrack_ros.tracking.confidence import IDENTITY, ScoreCalibration
from asymtrack_ros.tracking.fusion import FusionSettings
from asymtrack_ros.tracking.manifest import MIN_OPSET, PRECISIONS
from asymtrack_ros.tracking.verification import VerificationHead

EXAMPLES = (
    "asymtrack-export AsymTrack_ep0300.pth.tar --model asymtrack --variant tiny --out models/asymtrack-tiny",
    "asymtrack-export runs/tiny/checkpoint.pth --out models/tiny-int8 --precision int8 --hold-score 0.6",
    "asymtrack-export --random-init --model hit --variant small --out /tmp/hit-small",
    "asymtrack-export runs/dytrack_tiny_stage2b/checkpoint.pth --model dytrack --out models/dytrack-tiny \\\n"
    "    --exit-thresholds 0.6,0.6",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``asymtrack-export`` command line."""
    parser = command_parser(
        "asymtrack-export",
        "Export a tracker checkpoint ({'net': state_dict}, official or ours) to an ONNX model directory\n"
        "(template.onnx, search.onnx, model.json), validated against PyTorch.",
        EXAMPLES,
    )
    parser.add_argument("checkpoint", nargs="?", help="checkpoint file (omit with --random-init)")
    parser.add_argument("--model", default="asymtrack", help="model family (asymtrack, hit)")
    parser.add_argument("--variant", default="tiny", help="tiny|small|base (or t|s|b)")
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="weight and activation precision")
    parser.add_argument("--random-init", action="store_true", help="seeded random weights (tests, speed runs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random-init")
    parser.add_argument("--opset", type=int, default=MIN_OPSET, help=f"ONNX opset version (at least {MIN_OPSET})")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max abs diff allowed vs PyTorch")
    parser.add_argument("--dynamic-batch", action="store_true",
                        help="search.onnx takes any batch size: the onnx backend then tracks several targets in one "
                             "pass (not for early-exit models)")
    parser.add_argument("--calibration-samples", type=int, default=32,
                        help="generated crops for int8 calibration and the fp16 range check")
    parser.add_argument("--exit-thresholds", type=exit_thresholds_argument, metavar="TAU1,TAU2",
                        help="early-exit models (dytrack): the default tau_1..tau_{K-1} recorded in model.json "
                             "(default: the model's)")
    smoothing = parser.add_argument_group(
        "box smoothing recorded in model.json (see asymtrack_ros/tracking/box_smoothing.py; defaults: off)"
    )
    smoothing.add_argument("--window-influence", type=float, default=NO_SMOOTHING.window_influence,
                           help="weight w of the Hann window on the corner maps, in [0, 1] (0: off)")
    smoothing.add_argument("--size-update-rate", type=float, default=NO_SMOOTHING.size_update_rate,
                           help="share r of a size change applied per frame (times the score), in (0, 1] (1: off)")
    smoothing.add_argument("--max-scale-step", type=float, default=NO_SMOOTHING.max_scale_step,
                           help="largest width/height change factor per frame, >= 1 (inf: off)")
    smoothing.add_argument("--hold-score", type=float, default=NO_SMOOTHING.hold_score,
                           help="below this score the box stays where it was, in [0, 1] (0: off)")
    parser.add_argument("--score-calibration", type=float, nargs=2, metavar=("SLOPE", "INTERCEPT"),
                        default=(IDENTITY.slope, IDENTITY.intercept),
                        help="Platt scaling of the score recorded in model.json, as fitted by python -m "
                             "asymtrack_ros.evaluation.score_calibration (1 0: raw scores)")
    tracking = parser.add_argument_group("real-footage tracking recorded in model.json (defaults: off)")
    tracking.add_argument("--local-tracker", default="", metavar="ALGORITHM",
                          help="OpenCV tracker fused with the network (csrt, kcf, mil; see tracking/fusion.py)")
    tracking.add_argument("--local-params", type=json.loads, default={}, metavar="JSON",
                          help='its OpenCV parameters, e.g. \'{"use_segmentation": false}\'')
    tracking.add_argument("--verification", type=Path, metavar="FIT_JSON",
                          help="verification head fitted by python -m asymtrack_ros.training.verification (its JSON "
                               "output)")
    return parser


def verification_head(path: Path | None) -> VerificationHead | None:
    """The head in the JSON output of ``python -m asymtrack_ros.training.verification`` (None: no file)."""
    if path is None:
        return None
    try:
        return VerificationHead.from_mapping(json.loads(path.read_text())["verification"])
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} holds no verification head: {error}") from error


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit status 1 with a one-line reason when the export fails."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.checkpoint is None) == (not args.random_init):
        parser.error("give exactly one of CHECKPOINT or --random-init")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        smoothing = BoxSmoothing(args.window_influence, args.size_update_rate, args.max_scale_step, args.hold_score)
        manifest = export_model(
            args.out, args.model, args.variant, args.checkpoint, args.precision, random_init=args.random_init,
            seed=args.seed, opset=args.opset, tolerance=args.tolerance, calibration_samples=args.calibration_samples,
            smoothing=smoothing, calibration=ScoreCalibration(*args.score_calibration),
            dynamic_batch=args.dynamic_batch, exit_thresholds=args.exit_thresholds,
            fusion=FusionSettings(local_tracker=args.local_tracker, local_params=args.local_params),
            verification=verification_head(args.verification),
        )
    except (CheckpointError, ExportError, ValueError) as error:
        print(f"asymtrack-export: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {manifest.template.file}, {manifest.search.file}, model.json ({manifest.precision})")
    for key, value in manifest.validation.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
