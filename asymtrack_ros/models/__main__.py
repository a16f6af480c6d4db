"""Print parameter counts of every model variant, in checkpoint form and fused (deploy) form; ``--exits``: per
early exit of each DyTrack variant, the parameters and FLOPs a frame answered there uses.

    python -m asymtrack_ros.models [--json] [--exits]
"""

from __future__ import annotations

import argparse
import json

from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.models.dytrack import VARIANTS, DyTrack, backbone_params, exit_costs
from asymtrack_ros.models.factory import available_models, build_model


def parameter_counts() -> list[dict[str, object]]:
    """One row per family/variant: parameters before and after ``fuse()``."""
    rows = []
    for name, variants in available_models().items():
        for variant in variants:
            model = build_model(name, variant).eval()
            checkpoint_form = sum(p.numel() for p in model.parameters())
            fused = sum(p.numel() for p in model.fuse().parameters())
            rows.append({"model": name, "variant": variant, "params": checkpoint_form, "params_fused": fused})
    return rows


def exit_rows() -> list[dict[str, object]]:
    """One row per DyTrack variant and exit: encoder layers run, parameters used, FLOPs (batch 1), backbone size."""
    rows = []
    for variant in VARIANTS:
        model = build_model("dytrack", variant)
        assert isinstance(model, DyTrack)
        backbone = backbone_params(model)
        rows += [{"model": "dytrack", "variant": variant, "exit": cost.exit, "encoder_layers": cost.encoder_layers,
                  "params": cost.params, "gflops": round(cost.flops / 1e9, 2), "backbone_params": backbone}
                 for cost in exit_costs(model)]
    return rows


def build_parser() -> argparse.ArgumentParser:
    """The command line of this module."""
    parser = command_parser(
        "python -m asymtrack_ros.models", __doc__.splitlines()[0],
        ("python -m asymtrack_ros.models --json", "python -m asymtrack_ros.models --exits"),
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--exits", action="store_true", help="DyTrack's parameters and FLOPs per exit instead")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print the parameter counts as a table or JSON."""
    args = build_parser().parse_args(argv)
    rows = exit_rows() if args.exits else parameter_counts()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.exits:
        print(f"{'model':<8} {'variant':<7} {'exit':>4} {'layers':>6} {'params':>12} {'GFLOPs':>7} {'backbone':>12}")
        for row in rows:
            print(f"{row['model']:<8} {row['variant']:<7} {row['exit']:>4} {row['encoder_layers']:>6} "
                  f"{row['params']:>12,} {row['gflops']:>7} {row['backbone_params']:>12,}")
        return 0
    print(f"{'model':<10} {'variant':<7} {'params':>12} {'fused':>12}")
    for row in rows:
        print(f"{row['model']:<10} {row['variant']:<7} {row['params']:>12,} {row['params_fused']:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
