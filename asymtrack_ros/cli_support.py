"""Shared ``argparse`` setup of the command-line tools: defaults shown in ``--help``, examples and ``--version``."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "asymtrack_ros"


def package_version() -> str:
    """The installed distribution's version, else the source tree's ``asymtrack_ros.__version__``."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        from asymtrack_ros import __version__

        return __version__


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the description's and epilog's line breaks; appends ``(default: ...)`` unless the default is unset
    (``None``), off (``False``) or empty: the help text of such an option says what happens without it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)


def command_parser(
    prog: str, description: str, examples: Sequence[str] = (), notes: str = ""
) -> argparse.ArgumentParser:
    """A parser with :class:`HelpFormatter`, ``--version`` and an epilog of ``notes`` followed by ``examples``.

    An example may span lines (end continued ones with `` \\``); its lines are indented as one block.
    """
    parts = [notes] if notes else []
    if examples:
        parts.append("examples:\n" + "\n".join(textwrap.indent(example, "  ") for example in examples))
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog="\n\n".join(parts) or None, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return parser


def exit_thresholds_argument(text: str) -> tuple[float, ...]:
    """argparse type of ``TAU1,TAU2`` (early-exit thresholds): comma-separated numbers."""
    try:
        return tuple(float(value) for value in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected TAU1,TAU2 (numbers), got {text!r}") from None


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """``--run`` (repeatable) with a ``--dataset`` each, and ``--tracker``: a command that reads ``asymtrack-eval``
    runs against the datasets they evaluated (pair them with :func:`run_datasets`)."""
    parser.add_argument("--run", type=Path, action="append", required=True,
                        help="an asymtrack-eval output directory (repeatable, each with a --dataset)")
    parser.add_argument("--dataset", type=Path, action="append", required=True,
                        help="the dataset the --run of the same position evaluated")
    parser.add_argument("--tracker", default="ours", help="the tracker's name in the runs (default: ours)")


def run_datasets(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    """The (run, dataset) pairs of :func:`add_run_arguments`; SystemExit unless there is one dataset per run."""
    if len(args.run) != len(args.dataset):
        raise SystemExit("give one --dataset per --run")
    return list(zip(args.run, args.dataset, strict=True))
