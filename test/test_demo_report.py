"""The demo's report: summary figures from hand-made frames, and every output file written."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from asymtrack_ros.ros.demo_report import FrameResult, summarize, write_report
from asymtrack_ros.tracking.monitor import TrackState

IMAGE = np.full((90, 160, 3), 100, np.uint8)


def frames() -> list[FrameResult]:
    tracked = FrameResult(IMAGE, (10.0, 10.0, 20.0, 20.0), 0.9, TrackState.TRACKING, 12.0, 8.0)
    lost = FrameResult(IMAGE, None, 0.1, TrackState.LOST, 14.0, 9.0)
    dropped = FrameResult(IMAGE, None, None, None, None, None)
    return [tracked, tracked, lost, dropped]


def test_summary_counts_states_and_scores_iou_on_processed_frames() -> None:
    truth = [(10.0, 10.0, 20.0, 20.0), (20.0, 10.0, 20.0, 20.0), (10.0, 10.0, 20.0, 20.0), (0.0, 0.0, 5.0, 5.0)]
    summary = summarize(frames(), truth, wall_s=2.0)
    assert (summary["frames_processed"], summary["frames_dropped"], summary["output_fps"]) == (3, 1, 1.5)
    assert (summary["frames_tracking"], summary["frames_lost"]) == (2, 1)
    assert summary["mean_iou_vs_ground_truth"] == round((1.0 + 1 / 3 + 0.0) / 3, 3)


def test_summary_gives_the_frames_from_each_return_of_the_target_until_tracking_it_again() -> None:
    box = (10.0, 10.0, 20.0, 20.0)
    states = [TrackState.TRACKING, TrackState.TRACKING, TrackState.LOST, TrackState.LOST, TrackState.TRACKING,
              TrackState.LOST, TrackState.LOST, TrackState.LOST]
    recorded = [FrameResult(IMAGE, box if state == TrackState.TRACKING else None, 0.5, state, 1.0, 1.0)
                for state in states]
    truth = [box, box, None, box, box, None, box, box]  # returns on frames 3 (TRACKING on 4) and 6 (never)
    assert summarize(recorded, truth, wall_s=1.0)["reacquired_within_frames"] == [1, None]
    assert "reacquired_within_frames" not in summarize(recorded, None, wall_s=1.0)


def test_report_writes_video_preview_plot_and_summary(tmp_path: Path) -> None:
    summary = write_report(tmp_path, frames(), None, wall_s=1.0, fps=15.0)
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    preview = cv2.imread(str(tmp_path / "preview.png"))
    assert preview.shape == (180, 4 * 320, 3)
    assert (tmp_path / "score_latency.png").stat().st_size > 0
    video = cv2.VideoCapture(str(tmp_path / "annotated.avi"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
