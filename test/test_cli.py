"""Every command-line tool: help for every option with its default, examples, ``--version``; the progress line."""

from __future__ import annotations

import argparse
import importlib
import io
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import asymtrack_ros
from asymtrack_ros import cli_support
from asymtrack_ros.cli_support import package_version
from asymtrack_ros.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
CLIS = {
    "asymtrack-eval": "asymtrack_ros.evaluation.cli",
    "asymtrack-export": "asymtrack_ros.export.cli",
    "asymtrack-bench": "asymtrack_ros.benchmark.cli",
    "asymtrack-generate": "asymtrack_ros.data.cli",
    "asymtrack-train": "asymtrack_ros.training.cli",
    "asymtrack-trax": "asymtrack_ros.evaluation.trax_server",
    "python -m asymtrack_ros.export.compare": "asymtrack_ros.export.compare",
    "python -m asymtrack_ros.evaluation.lost_signal": "asymtrack_ros.evaluation.lost_signal",
    "python -m asymtrack_ros.evaluation.score_calibration": "asymtrack_ros.evaluation.score_calibration",
    "python -m asymtrack_ros.evaluation.vot_toolkit": "asymtrack_ros.evaluation.vot_toolkit",
    "python -m asymtrack_ros.models": "asymtrack_ros.models.__main__",
    "python -m asymtrack_ros.evaluation.exit_curve": "asymtrack_ros.evaluation.exit_curve",
    "python -m asymtrack_ros.export.fp16_checkpoint": "asymtrack_ros.export.fp16_checkpoint",
}


def _shows_default(action: argparse.Action) -> bool:
    return action.default not in (None, False, [], argparse.SUPPRESS)


def test_every_console_script_is_covered() -> None:
    scripts = dict(re.findall(r'"(asymtrack-[\w-]+) = ([\w.]+):main"', (ROOT / "setup.py").read_text()))
    assert scripts == {prog: module for prog, module in CLIS.items() if prog.startswith("asymtrack-")}


@pytest.mark.parametrize("prog", CLIS)
def test_help_lists_every_option_with_help_default_and_examples(prog: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside "(default: ...)"
    module = importlib.import_module(CLIS[prog])
    with pytest.raises(SystemExit) as exited:
        module.main(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith(f"usage: {prog} ") and f"examples: {prog} " in text
    for action in module.build_parser()._actions:
        assert action.help and action.help != argparse.SUPPRESS, f"{prog}: {action.dest} has no help"
        assert " ".join(action.help.split()) in text
        assert all(option in text for option in action.option_strings)
        if _shows_default(action):
            assert f"(default: {action.default})" in text, f"{prog}: {action.dest} hides its default"


@pytest.mark.parametrize("prog", CLIS)
def test_version_prints_the_package_version(prog: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        importlib.import_module(CLIS[prog]).main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"{prog} {package_version()}\n"


@pytest.mark.parametrize("prog", [prog for prog in CLIS if prog.startswith("asymtrack-")])
def test_console_script_modules_also_run_with_python_m(prog: str) -> None:
    """``python -m <module>`` runs the same command as the console script instead of silently doing nothing."""
    ran = subprocess.run(
        [sys.executable, "-m", CLIS[prog], "--version"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"{prog} {package_version()}\n"


def test_version_matches_setup_and_falls_back_to_the_source_tree(monkeypatch) -> None:
    assert f'version="{asymtrack_ros.__version__}"' in (ROOT / "setup.py").read_text()

    def not_installed(name: str) -> str:
        raise cli_support.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(cli_support.metadata, "version", not_installed)
    assert package_version() == asymtrack_ros.__version__


class Clock:
    def __init__(self, *times: float) -> None:
        self.times = iter(times)

    def __call__(self) -> float:
        return next(self.times)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_writes_a_line_now_and_then_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    # start, then per step: the clock read by advance() and the one read by line() when a line is written
    clock = Clock(0, 1, 1, 2, 12, 12, 13, 14, 14)
    with Progress(5, "gen", stream, interval_s=10, clock=clock) as progress:
        for name in "abcde":
            progress.advance(name)
    assert stream.getvalue().splitlines() == [
        "gen: 1/5 (20%) 0:00:01 elapsed, 0:00:04 left | a",
        "gen: 3/5 (60%) 0:00:12 elapsed, 0:00:08 left | c",
        "gen: 5/5 (100%) 0:00:14 elapsed, 0:00:00 left | e",
    ]


def test_progress_redraws_one_line_on_a_terminal(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    stream = Terminal()
    with Progress(2, "eval", stream, clock=Clock(0, 0, 3, 3, 5, 5)) as progress:
        progress.advance("first sequence")
        progress.advance("second sequence, whose long line is cut to the terminal width")
    frames = stream.getvalue().split("\r\x1b[K")
    assert frames == [
        "",
        "eval: 0/2 (0%) 0:00:00 elapsed, ? left",
        "eval: 1/2 (50%) 0:00:03 elapsed, 0:00:0",
        "eval: 2/2 (100%) 0:00:05 elapsed, 0:00:\n",
    ]
    interrupted = Terminal()
    with pytest.raises(KeyboardInterrupt), Progress(3, "x", interrupted, clock=Clock(0, 0, 1, 1)) as progress:
        progress.advance()
        raise KeyboardInterrupt
    assert interrupted.getvalue().endswith("\r\x1b[Kx: 1/3 (33%) 0:00:01 elapsed, 0:00:02 l\n")  # stays visible


def test_generate_reports_progress_per_sequence(tmp_path: Path, monkeypatch, capsys) -> None:
    data_cli = importlib.import_module("asymtrack_ros.data.cli")

    def fake_generate(out, library, count, *args, progress, **kwargs) -> list[str]:
        names = [f"seq{i}" for i in range(count)]
        for name in names:
            progress(name)
        return names

    monkeypatch.setattr(data_cli, "fetch_assets", lambda *args, **kwargs: SimpleNamespace(procedural=False))
    monkeypatch.setattr(data_cli, "generate_dataset", fake_generate)
    assert data_cli.main(["--out", str(tmp_path), "--num-sequences", "3"]) == 0
    assert re.search(r"^asymtrack-generate: 3/3 \(100%\) .* \| seq2$", capsys.readouterr().err, re.MULTILINE)


def test_generate_passes_the_same_kind_share_to_the_generator_and_refuses_one_outside_0_1(
    tmp_path: Path, monkeypatch
) -> None:
    data_cli = importlib.import_module("asymtrack_ros.data.cli")
    configs = []

    def fake_generate(out, library, count, split, seed, config, *args, **kwargs) -> list[str]:
        configs.append(config)
        return []

    monkeypatch.setattr(data_cli, "fetch_assets", lambda *args, **kwargs: SimpleNamespace(procedural=False))
    monkeypatch.setattr(data_cli, "generate_dataset", fake_generate)
    assert data_cli.main(["--out", str(tmp_path), "--same-kind-distractors", "0.5"]) == 0
    assert data_cli.main(["--out", str(tmp_path)]) == 0
    assert [config.same_kind_distractors for config in configs] == [0.5, 0.0]
    for bad in ("1.5", "-0.1", "nan"):
        with pytest.raises(SystemExit):
            data_cli.main(["--out", str(tmp_path), "--same-kind-distractors", bad])
