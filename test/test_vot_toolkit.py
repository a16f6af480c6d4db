"""The VOT toolkit runs our trackers: ``asymtrack-trax`` (vot-trax's server) driven by vot-trax's own client, the
workspace files, and ``vot evaluate`` + ``vot analysis`` in the toolkit's own environment (skipped when pip cannot
install it)."""

from __future__ import annotations

import configparser
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import trax
from trax.client import Client

from asymtrack_ros.boxes import iou
from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.evaluation import trax_server, vot_toolkit
from asymtrack_ros.evaluation.cli import parse_tracker_spec
from asymtrack_ros.evaluation.ope import SequenceResult, run_sequence
from asymtrack_ros.evaluation.vot_workspace import read_analysis, write_workspace
from asymtrack_ros.sequences import TrackSequence, make_sequence
from asymtrack_ros.tracking import create_tracker
from asymtrack_ros.tracking.base import TrackResult
from asymtrack_ros.tracking.monitor import TrackState
from asymtrack_ros.tracking.session import FrameOutcome

ROOT = Path(__file__).resolve().parents[1]
OURS = f"ours=onnx:model_dir={ROOT / 'models' / 'asymtrack-tiny'},threads=1"
CSRT = "csrt=opencv:algorithm=csrt"
ABSENT_AT_START = 3


def write_generated(directory: Path, seed: int, num_frames: int = 40) -> TrackSequence:
    """A generated sequence as JPEG files; the target counts as absent on the first frames."""
    frames, boxes = generated_sequence(num_frames=num_frames, height=240, width=320, seed=seed, period=80)
    directory.mkdir(parents=True)
    paths = [directory / f"{index:08d}.jpg" for index in range(1, num_frames + 1)]
    for path, frame in zip(paths, frames, strict=True):
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    boxes[:ABSENT_AT_START] = np.nan
    return make_sequence(directory.name, paths, boxes)


@pytest.fixture(scope="module")
def sequences(tmp_path_factory: pytest.TempPathFactory) -> list[TrackSequence]:
    root = tmp_path_factory.mktemp("frames")
    return [write_generated(root / f"generated-{seed}", seed) for seed in (1, 5)]


def own_run(spec: str, sequence: TrackSequence) -> SequenceResult:
    """``asymtrack-eval``'s one-pass run of the tracker ``spec`` over ``sequence``."""
    name, backend, options = parse_tracker_spec(spec)
    return run_sequence(create_tracker(backend, **options), sequence, name)


class ServerProcess:
    """``asymtrack-trax`` in a subprocess, talked to through vot-trax's client over its stdin/stdout."""

    def __init__(self, spec: str, log: Path, *options: str) -> None:
        self.log = log
        command = [sys.executable, "-m", "asymtrack_ros.evaluation.trax_server", "--tracker", spec, *options]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log.open("w"), cwd=ROOT)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.protocol_log: list[str] = []  # the client's log (vot-trax's client needs one)
        self.client = Client(stream=(self.process.stdin.fileno(), self.process.stdout.fileno()), timeout=60,
                             log=self.protocol_log.append)

    def initialize(self, path: Path, box: tuple[float, ...]) -> list:
        objects, _ = self.client.initialize({"color": trax.FileImage.create(str(path))},
                                            [(trax.Rectangle.create(*box), {})], {})
        return objects

    def frame(self, path: Path) -> list:
        objects, _ = self.client.frame({"color": trax.FileImage.create(str(path))}, {}, [])
        return objects

    def exit_code(self) -> int:
        return self.process.wait(timeout=30)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    servers: list[ServerProcess] = []

    def start(spec: str = CSRT, *options: str) -> ServerProcess:
        servers.append(ServerProcess(spec, tmp_path / f"server{len(servers)}.log", *options))
        return servers[-1]

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait()


def test_the_server_answers_as_asymtrack_eval_tracks(serve, sequences: list[TrackSequence]) -> None:
    """Boxes and confidences over TraX are the session's of asymtrack-eval's own run (float32 on the wire)."""
    sequence = sequences[0]
    start = sequence.init_frame
    server = serve(OURS)
    assert server.client.tracker_name == "ours" and "asymtrack" in server.client.tracker_description
    (region, _), = server.initialize(sequence.frames[start], tuple(sequence.ground_truth[start]))
    assert np.allclose(region.bounds(), sequence.ground_truth[start])
    boxes, confidences = [], []
    for index in range(start + 1, len(sequence)):
        (region, properties), = server.frame(sequence.frames[index])
        boxes.append(region.bounds())
        confidences.append(float(properties["confidence"]))
    server.client.quit()
    assert server.exit_code() == 0
    expected = own_run(OURS, sequence)
    assert np.allclose(boxes, expected.boxes[start + 1 :], atol=1e-3)
    assert np.allclose(confidences, expected.published[start + 1 :], atol=1e-6)
    assert iou(np.array(boxes), sequence.ground_truth[start + 1 :]).mean() > 0.5


def test_an_unreadable_frame_ends_the_session_with_the_reason(serve, sequences: list[TrackSequence],
                                                              tmp_path: Path) -> None:
    sequence = sequences[0]
    server = serve()
    server.initialize(sequence.frames[sequence.init_frame], tuple(sequence.ground_truth[sequence.init_frame]))
    missing = tmp_path / "missing.jpg"
    with pytest.raises(trax.TraxException, match=f"cannot read image {missing}"):
        server.frame(missing)
    assert server.exit_code() == 1
    assert f"cannot read image {missing}" in server.log.read_text()


def test_an_empty_initial_rectangle_ends_the_session_with_the_reason(serve, sequences: list[TrackSequence]) -> None:
    server = serve()
    with pytest.raises(trax.TraxException, match=r"Server terminated the session: .*box"):
        server.initialize(sequences[0].frames[0], (10.0, 10.0, 0.0, 0.0))
    assert server.exit_code() == 1


def test_a_bad_tracker_spec_is_refused_before_the_handshake(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "asymtrack_ros.evaluation.trax_server", "--tracker",
                             "x=opencv:algorithm=csrt,colour=red"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "takes no colour" in result.stderr and "@@TRAX" not in result.stdout


def test_lost_frames_keep_the_box_unless_asked_for_an_empty_region() -> None:
    result = TrackResult((5.0, 6.0, 7.0, 8.0), 0.1)
    lost = FrameOutcome(TrackState.LOST, "trax", result, 0.05)
    tracking = FrameOutcome(TrackState.TRACKING, "trax", result, 0.9)
    assert trax_server.frame_reply(lost, empty_when_lost=False)[0].bounds() == (5.0, 6.0, 7.0, 8.0)
    region, properties = trax_server.frame_reply(lost, empty_when_lost=True)
    assert region.bounds() == (0.0, 0.0, 0.0, 0.0) and properties == {"confidence": 0.05}
    assert trax_server.frame_reply(tracking, empty_when_lost=True)[0].bounds() == (5.0, 6.0, 7.0, 8.0)
    with pytest.raises(ValueError, match="before the tracker was initialised"):
        trax_server.frame_reply(FrameOutcome(TrackState.IDLE, "", None), empty_when_lost=False)


def test_a_polygon_is_not_taken_as_the_target() -> None:
    polygon = trax.Polygon.create([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)])
    with pytest.raises(ValueError, match="one rectangle"):
        trax_server.request_box([(polygon, {})])


def test_the_workspace_starts_each_sequence_on_its_target(sequences: list[TrackSequence], tmp_path: Path) -> None:
    names = write_workspace(tmp_path, sequences, {"ours": OURS, "odd": "odd=opencv:algorithm=csrt,tag=50%"})
    assert names == [sequence.name for sequence in sequences]
    assert (tmp_path / "sequences" / "list.txt").read_text().split() == names
    directory = tmp_path / "sequences" / names[0]
    frames = sorted((directory / "color").iterdir())
    assert len(frames) == len(sequences[0]) - ABSENT_AT_START
    assert frames[0].resolve() == sequences[0].frames[ABSENT_AT_START].resolve()
    truth = np.loadtxt(directory / "groundtruth.txt", delimiter=",")
    assert np.array_equal(truth, sequences[0].ground_truth[ABSENT_AT_START:])
    trackers = configparser.ConfigParser()  # as the toolkit reads it: % interpolation
    trackers.read(tmp_path / "trackers.ini")
    assert trackers["odd"]["command"].endswith("--tracker odd=opencv:algorithm=csrt,tag=50%")
    assert trackers["ours"]["protocol"] == "trax" and Path(trackers["ours"]["command"].split()[0]).is_absolute()


def test_toolkit_tracker_names_are_identifiers() -> None:
    assert vot_toolkit.toolkit_tracker_spec(CSRT) == CSRT
    with pytest.raises(Exception, match="letters, digits"):
        vot_toolkit.toolkit_tracker_spec("my tracker=opencv")


@pytest.fixture(scope="module")
def toolkit() -> Path:
    try:
        return vot_toolkit.toolkit_python()
    except (vot_toolkit.ToolkitError, OSError) as error:
        pytest.skip(f"the VOT toolkit could not be installed in its own environment: {error}")


def toolkit_accuracy_robustness(result: SequenceResult, sequence: TrackSequence) -> tuple[float, float]:
    """What the toolkit's ``longterm_ar`` makes of one run, from the initialisation frame on: mean overlap over the
    visible frames with overlap > 0, and their share of the visible frames; the initialisation frame counts in both
    with overlap 0 (the toolkit records a special region there)."""
    visible = ~sequence.absent[sequence.init_frame :]
    overlaps = iou(result.boxes, sequence.ground_truth)[sequence.init_frame :]
    overlaps[0] = 0.0
    kept = visible & (overlaps > 0)
    kept[0] = True
    return float(overlaps[kept].mean()), float((overlaps[visible] > 0).mean())


@pytest.mark.slow
def test_vot_analysis_scores_exactly_what_our_trackers_report(toolkit: Path, sequences: list[TrackSequence],
                                                               tmp_path: Path) -> None:
    trackers = {"ours": OURS, "csrt": CSRT}
    write_workspace(tmp_path, sequences, trackers)
    figures = vot_toolkit.evaluate_and_analyse(toolkit, tmp_path, list(trackers))
    assert figures == read_analysis(tmp_path / "analysis" / f"{vot_toolkit.ANALYSIS_NAME}.json")
    assert list(figures) == list(trackers)
    for name, spec in trackers.items():
        for sequence in sequences:
            results = tmp_path / "results" / name / "unsupervised" / sequence.name
            confidence = results / f"{sequence.name}_001_confidence.value"
            assert len(confidence.read_text().split()) == len(sequence) - ABSENT_AT_START
        expected = np.mean([toolkit_accuracy_robustness(own_run(spec, sequence), sequence)
                            for sequence in sequences], axis=0)
        measures = figures[name]
        assert all(value is not None and 0.0 <= value <= 1.0 for value in measures.values()), (name, measures)
        assert measures["accuracy"] == pytest.approx(expected[0], abs=1e-3), name
        assert measures["robustness"] == pytest.approx(expected[1], abs=1e-3), name
        assert measures["accuracy"] > 0.5 and measures["robustness"] > 0.9, (name, measures)


@pytest.mark.slow
def test_a_tracker_failing_mid_sequence_is_an_error(toolkit: Path, sequences: list[TrackSequence],
                                                    tmp_path: Path) -> None:
    """``vot evaluate`` exits 0 when a tracker ends the session; the missing closing line gives it away."""
    write_workspace(tmp_path, sequences[:1], {"csrt": CSRT})
    broken = tmp_path / "sequences" / sequences[0].name / "color" / "00000010.jpg"
    broken.unlink()
    broken.write_bytes(b"not a JPEG")
    with pytest.raises(vot_toolkit.ToolkitError, match="did not conclude"):
        vot_toolkit.evaluate_and_analyse(toolkit, tmp_path, ["csrt"])
