"""The main job (`make demo`): video source -> tracker node -> target set by service -> recorded.

Runs the two nodes as separate processes, sets the target through ``~/set_target`` on the first
frame (with that frame's stamp), records detections and status, then writes an annotated video,
a score/latency plot and a summary (also printed).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import cv2
import rclpy
from rclpy.executors import SingleThreadedExecutor

from asymtrack_ros.boxes import as_box, centre
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.dataset_layouts import load_dataset
from asymtrack_ros.ros.demo_recorder import DemoRecorder
from asymtrack_ros.ros.demo_report import FrameResult, write_report
from asymtrack_ros.ros.processes import start_node, stop_process
from asymtrack_ros.sequences import TrackSequence
from asymtrack_ros.tracking.monitor import TrackState

NAMESPACE = "/demo"


def sequence_video(sequence: TrackSequence, out_dir: Path, fps: float) -> Path:
    """Write the sequence's frames as an MJPG AVI the video source node can play."""
    path = out_dir / f"{sequence.name}.avi"
    first = sequence.read_frame(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (first.shape[1], first.shape[0]))
    for index in range(len(sequence)):
        writer.write(cv2.cvtColor(sequence.read_frame(index), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def default_sequence(cache_dir: Path) -> TrackSequence:
    """The generated demo sequence (real textures from the registries, exact ground truth)."""
    from asymtrack_ros.data.demo_sequence import demo_sequence_dir

    return load_dataset(demo_sequence_dir(cache_dir), fmt="got10k")[0]


def default_backend() -> list[str]:
    """Tracker parameters of the demo's default: the shipped self-trained AsymTrack-T on ONNX Runtime.

    On the held-out generated benchmark it beats OpenCV KCF and MIL and is level with CSRT (see
    models/asymtrack-tiny/MODEL_CARD.md). Pass ``-p backend:=opencv -p algorithm:=csrt`` for the classical one.
    """
    return ["-p", "backend:=onnx"]


def run(sequence: TrackSequence, out_dir: Path, fps: float, tracker_args: list[str]) -> dict:
    """Play ``sequence`` through the tracker node and write the report into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    video = sequence_video(sequence, out_dir, fps)
    rclpy.init()
    recorder = DemoRecorder(NAMESPACE)
    executor = SingleThreadedExecutor()
    executor.add_node(recorder)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    namespace = ("-r", f"__ns:={NAMESPACE}")
    tracker = start_node("asymtrack_ros.ros.tracker_node", *namespace, *tracker_args)
    source = None
    try:
        if not recorder.tracker.wait_for_services(timeout=60):
            raise RuntimeError("the tracker node did not come up (see its log above)")
        source = start_node("asymtrack_ros.ros.video_source_node", *namespace, "-p", f"video:={video}",
                            "-p", f"rate:={fps}", "-p", "loop:=false", "-p", "wait_for_subscribers:=2")
        start = time.monotonic()
        if not recorder.first_frame.wait(timeout=60):
            raise RuntimeError("no frame arrived from the video source")
        init = sequence.init_frame
        for _ in range(10):  # the tracker may not have received the first frame yet
            box = as_box(sequence.ground_truth[init])
            response = recorder.tracker.set_target(*centre(box), *box[2:], stamp_ns=recorder.first_stamp_ns())
            if response.success:
                break
            time.sleep(0.2)
        print(f"[demo] set_target: success={response.success} id={response.target_id!r} {response.message}")
        source.wait(timeout=len(sequence) / fps + 60)
        time.sleep(1.0)
        wall_s = recorder.recording.stream_seconds() or time.monotonic() - start
    finally:
        for process in (source, tracker):
            if process is not None:
                stop_process(process)
        executor.shutdown()
        spinner.join(timeout=5)
        recorder.destroy_node()
        rclpy.try_shutdown()
    frames = [FrameResult(r.image, r.box, r.score, None if r.state is None else TrackState(r.state), r.latency_ms,
                          r.processing_ms) for r in sorted(recorder.recording.frames.values(), key=lambda r: r.index)]
    ground_truth = [None if absent else tuple(box) for box, absent in zip(sequence.ground_truth, sequence.absent,
                                                                          strict=True)][: len(frames)]
    summary = write_report(out_dir, frames, ground_truth, wall_s, fps)
    statuses = recorder.recording.statuses
    if statuses:
        summary |= {"backend": statuses[-1].backend, "model": statuses[-1].model, "device": statuses[-1].device}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m asymtrack_ros.ros.demo", __doc__.splitlines()[0], examples=[
        "python -m asymtrack_ros.ros.demo                      # what make demo runs",
        "python -m asymtrack_ros.ros.demo -- -p backend:=opencv -p algorithm:=csrt",
        "python -m asymtrack_ros.ros.demo --dataset runs/datasets/leave-view-heldout --out /tmp/demo",
    ])
    parser.add_argument("--dataset", type=Path, help="GOT-10k-layout dataset; its first sequence is played "
                        "(default: the generated demo sequence)")
    parser.add_argument("--out", type=Path, default=Path("demo_output"), help="output directory")
    parser.add_argument("--fps", type=float, default=15.0, help="video rate")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "asymtrack_ros",
                        help="where the demo sequence and its source images are kept")
    parser.add_argument("tracker_args", nargs="*", help="extra tracker node arguments, e.g. -p backend:=torch")
    args = parser.parse_args(argv)
    sequence = load_dataset(args.dataset, fmt="got10k")[0] if args.dataset else default_sequence(args.cache)
    tracker_args = args.tracker_args or default_backend()
    summary = run(sequence, args.out, args.fps, tracker_args)
    print(json.dumps(summary, indent=2))
    print(f"[demo] wrote {args.out}/annotated.avi, preview.png, score_latency.png, summary.json")
    return 0 if summary["frames_processed"] > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
