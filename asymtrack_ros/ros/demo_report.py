"""Demo outputs: annotated video, score/latency plot and a summary of a recorded run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from asymtrack_ros.boxes import Box, iou
from asymtrack_ros.evaluation.robustness import reacquisition_delays
from asymtrack_ros.tracking.monitor import TrackState
from asymtrack_ros.visualization import annotate

NO_BOX: Box = (np.nan, np.nan, np.nan, np.nan)


@dataclass(frozen=True)
class FrameResult:
    """One published frame and what the tracker answered for it (None: not processed)."""

    image: np.ndarray
    box: Box | None
    score: float | None
    state: TrackState | None
    latency_ms: float | None
    processing_ms: float | None


def summarize(frames: Sequence[FrameResult], ground_truth: Sequence[Box | None] | None, wall_s: float) -> dict:
    """Frames, rates (``output_fps``: processed frames per second of ``wall_s``, the demo's stream from its first frame
    to the tracker's last status), latency, drops and, with ground truth (None: target absent), the mean IoU over
    processed frames and ``reacquired_within_frames``: per return of the target, the frames until TRACKING with
    IoU > 0.3 (None: never; ``evaluation/robustness.py``)."""
    processed = [f for f in frames if f.state is not None]
    latencies = np.array([f.latency_ms for f in processed], dtype=float)
    processing = np.array([f.processing_ms for f in processed], dtype=float)
    summary: dict[str, object] = {
        "frames_published": len(frames),
        "frames_processed": len(processed),
        "frames_dropped": len(frames) - len(processed),
        "wall_s": round(wall_s, 2),
        "output_fps": round(len(processed) / wall_s, 2) if wall_s > 0 else 0.0,
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2) if len(processed) else None,
        "latency_ms_p90": round(float(np.percentile(latencies, 90)), 2) if len(processed) else None,
        "processing_ms_p50": round(float(np.percentile(processing, 50)), 2) if len(processed) else None,
        "frames_tracking": sum(f.state == TrackState.TRACKING for f in processed),
        "frames_lost": sum(f.state == TrackState.LOST for f in processed),
    }
    if ground_truth is not None:
        pairs = [(NO_BOX if f.box is None else f.box, gt) for f, gt in zip(frames, ground_truth, strict=False)
                 if f.state is not None and gt is not None]  # a frame without a box scores IoU 0
        ious = iou(np.array([box for box, _ in pairs]).reshape(-1, 4), np.array([gt for _, gt in pairs]).reshape(-1, 4))
        summary["mean_iou_vs_ground_truth"] = round(float(np.mean(ious)), 3) if ious.size else None
        summary["reacquired_within_frames"] = reacquisitions(frames, ground_truth)
    return summary


def reacquisitions(frames: Sequence[FrameResult], ground_truth: Sequence[Box | None]) -> list[int | None]:
    """Per return of the target after the first processed frame: frames until TRACKING with IoU > 0.3, or None."""
    count = min(len(frames), len(ground_truth))
    processed = [index for index in range(count) if frames[index].state is not None]
    if not processed:
        return []
    absent = np.array([gt is None for gt in ground_truth[:count]])
    boxes = np.array([NO_BOX if f.box is None else f.box for f in frames[:count]], dtype=float).reshape(-1, 4)
    truth = np.array([NO_BOX if gt is None else gt for gt in ground_truth[:count]], dtype=float).reshape(-1, 4)
    tracking = np.array([f.state == TrackState.TRACKING for f in frames[:count]])
    return reacquisition_delays(absent, processed[0], tracking, iou(boxes, truth))


def annotated(frame: FrameResult, fps: float) -> np.ndarray:
    """The frame with its box, state and score drawn (unprocessed frames shown as IDLE)."""
    state = frame.state if frame.state is not None else TrackState.IDLE
    return annotate(frame.image, frame.box, state, frame.score, fps)


def write_video(path: Path, frames: Sequence[FrameResult], fps: float) -> None:
    """Annotated MJPG AVI of every published frame (unprocessed frames marked as such)."""
    height, width = frames[0].image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(annotated(frame, fps), cv2.COLOR_RGB2BGR))
    writer.release()


def write_preview(path: Path, frames: Sequence[FrameResult], fps: float, count: int = 4, width: int = 320) -> None:
    """A PNG strip of ``count`` evenly spaced annotated frames, each scaled to ``width`` pixels."""
    picks = np.linspace(0, len(frames) - 1, count + 2)[1:-1].round().astype(int)
    tiles = []
    for index in picks:
        canvas = annotated(frames[index], fps)
        height = round(canvas.shape[0] * width / canvas.shape[1])
        tiles.append(cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(path), cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR))


def write_plot(path: Path, frames: Sequence[FrameResult]) -> None:
    """Score and latency per frame, LOST frames shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    index = np.arange(len(frames))
    score = np.array([np.nan if f.score is None else f.score for f in frames])
    latency = np.array([np.nan if f.latency_ms is None else f.latency_ms for f in frames])
    lost = np.array([f.state == TrackState.LOST for f in frames])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    top.plot(index, score, ".-", markersize=3, label="score")
    top.fill_between(index, 0, 1, where=lost, color="red", alpha=0.15, label="LOST")
    top.set_ylim(0, 1.05)
    top.set_ylabel("score")
    top.legend(loc="lower left")
    bottom.plot(index, latency, ".-", markersize=3, color="tab:orange")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("frame")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_report(out_dir: Path, frames: Sequence[FrameResult], ground_truth, wall_s: float, fps: float) -> dict:
    """Write annotated.avi, preview.png, score_latency.png and summary.json into ``out_dir``; return the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_video(out_dir / "annotated.avi", frames, fps)
    write_preview(out_dir / "preview.png", frames, fps)
    write_plot(out_dir / "score_latency.png", frames)
    summary = summarize(frames, ground_truth, wall_s)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
