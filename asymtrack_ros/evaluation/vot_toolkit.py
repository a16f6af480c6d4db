"""The VOT toolkit run on our trackers: ``vot evaluate`` and ``vot analysis`` over a workspace built from a dataset.

The toolkit (``vot-toolkit``) pulls ``opencv-python`` 5, which clashes with this project's OpenCV, so it lives in
its own virtual environment: created on first use with pip from the package registry under
``$XDG_CACHE_HOME/asymtrack_ros/vot-venv-<key>`` (key: the pinned requirements), then reused. The toolkit's
online update check is turned off. Trackers run as ``asymtrack-trax`` processes (``trax_server.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import FORMATS, DatasetError, load_dataset
from asymtrack_ros.evaluation.cli import TRACKER_METAVAR, parse_tracker_spec
from asymtrack_ros.evaluation.vot_workspace import ANALYSES, Figures, read_analysis, write_workspace

# attributee 0.1.10 (the toolkit's default pick) breaks `import vot` on Python 3.11.
REQUIREMENTS = ("vot-toolkit==0.9.0", "vot-trax==4.0.2", "attributee==0.1.9")
VOT_MAIN = "import vot; vot.check_updates = lambda: (False, None); from vot.utilities.cli import main; main()"
ANALYSIS_NAME = "asymtrack"
EXAMPLES = (
    "python -m asymtrack_ros.evaluation.vot_toolkit --dataset runs/datasets/real-val --workspace runs/vot/real-val \\\n"
    "    --tracker ours=onnx:threads=1 --tracker csrt=opencv:algorithm=csrt",
)


class ToolkitError(RuntimeError):
    """The toolkit could not be installed, failed, or a tracker failed under it."""


def toolkit_python() -> Path:
    """Python of the toolkit's own environment, created and installed on first use (ToolkitError if pip fails)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "asymtrack_ros"
    directory = base / f"vot-venv-{hashlib.sha256(' '.join(REQUIREMENTS).encode()).hexdigest()[:12]}"
    python, installed = directory / "bin" / "python", directory / ".installed"
    if not installed.is_file():
        shutil.rmtree(directory, ignore_errors=True)  # a half-built one from an interrupted install
        venv.EnvBuilder(with_pip=True).create(directory)
        result = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                 *REQUIREMENTS], capture_output=True, text=True, check=False)
        if result.returncode:
            last_lines = "\n".join(result.stderr.strip().splitlines()[-3:])
            raise ToolkitError(f"pip install {' '.join(REQUIREMENTS)} failed:\n{last_lines}")
        installed.touch()
    return python


def run_vot(python: Path, workspace: Path, *args: str) -> str:
    """``vot ARGS --workspace WORKSPACE`` with ``python``; its output (ToolkitError when it exits non-zero)."""
    env = os.environ | {"VOT_WORKER_POOL_SIZE": "1", "VOT_PERSISTENT_CACHE": "false"}
    result = subprocess.run([python, "-c", VOT_MAIN, *args, "--workspace", str(workspace)], cwd=workspace, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode:
        raise ToolkitError(f"vot {args[0]} exited with {result.returncode}:\n{result.stdout[-4000:]}")
    return result.stdout


def evaluate_and_analyse(python: Path, workspace: Path, trackers: list[str]) -> Figures:
    """``vot evaluate`` (every result recomputed) then ``vot analysis``: each tracker's :data:`ANALYSES` measures.

    ``vot evaluate`` exits 0 even when a tracker failed: its closing line is checked instead.
    """
    output = run_vot(python, workspace, "evaluate", "--force", *trackers)
    if "Evaluation concluded" not in output:
        raise ToolkitError(f"vot evaluate did not conclude:\n{output[-4000:]}")
    run_vot(python, workspace, "analysis", "--name", ANALYSIS_NAME, "--format", "json", *trackers)
    return read_analysis(workspace / "analysis" / f"{ANALYSIS_NAME}.json")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m asymtrack_ros.evaluation.vot_toolkit``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    trackers = {parse_tracker_spec(spec)[0]: spec for spec in args.tracker}
    if len(trackers) != len(args.tracker):
        parser.error("tracker names must be unique")
    try:
        sequences = load_dataset(args.dataset, args.format)
    except DatasetError as error:
        parser.error(str(error))
    workspace = args.workspace.resolve()
    write_workspace(workspace, sequences, trackers, ["--empty-when-lost"] if args.empty_when_lost else [])
    try:
        figures = evaluate_and_analyse(toolkit_python(), workspace, list(trackers))
    except ToolkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_figures(figures)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = command_parser(
        "python -m asymtrack_ros.evaluation.vot_toolkit",
        "Run the VOT toolkit (vot evaluate, vot analysis; unsupervised experiment) on trackers served by "
        "asymtrack-trax.",
        EXAMPLES,
        "The toolkit's environment is created on first use (pip, a few minutes). Sequences start at their first\n"
        "frame with a visible target. The analysis report is WORKSPACE/analysis/asymtrack.json.",
    )
    parser.add_argument("--dataset", required=True, type=Path, help="dataset directory (layouts as asymtrack-eval)")
    parser.add_argument("--format", default="auto", choices=("auto", *FORMATS),
                        help="dataset layout (auto: recognised from the files)")
    parser.add_argument("--workspace", required=True, type=Path,
                        help="VOT workspace directory to write (config, stack, trackers.ini, sequences as links)")
    parser.add_argument("--tracker", required=True, action="append", type=toolkit_tracker_spec, metavar=TRACKER_METAVAR,
                        help="tracker to evaluate (NAME: letters, digits, - and _), repeat to compare several")
    parser.add_argument("--empty-when-lost", action="store_true",
                        help="trackers answer an empty region where their session says LOST (asymtrack-trax option)")
    return parser


def toolkit_tracker_spec(text: str) -> str:
    """A tracker spec (checked as asymtrack-eval's) whose NAME the toolkit takes as identifier."""
    name = parse_tracker_spec(text)[0]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise argparse.ArgumentTypeError(f"tracker name {name!r}: the toolkit takes letters, digits, - and _ only")
    return text


def print_figures(figures: Figures) -> None:
    """One row per tracker: every measure of :data:`ANALYSES`."""
    columns = [name for names in ANALYSES.values() for name in names]
    width = max(len("tracker"), *map(len, figures))
    print(f"{'tracker':<{width}}  " + "  ".join(f"{column:>10}" for column in columns))
    for tracker, measures in figures.items():
        cells = ("n/a" if measures[column] is None else f"{measures[column]:.3f}" for column in columns)
        print(f"{tracker:<{width}}  " + "  ".join(f"{cell:>10}" for cell in cells))


if __name__ == "__main__":
    raise SystemExit(main())
