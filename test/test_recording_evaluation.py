"""``asymtrack-eval --bag``: rosbag2 recordings (.mcap and .db3, Image and CompressedImage) written with rosbags from
a generated sequence, read back frame for frame and evaluated as the node would have tracked them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from asymtrack_ros.compressed_header import claimed_size
from asymtrack_ros.data.synthetic import generated_sequence
from asymtrack_ros.evaluation.cli import main
from asymtrack_ros.evaluation.recording import RecordingError, open_recording
from asymtrack_ros.evaluation.report import SUMMARY_JSON

rosbags = pytest.importorskip("rosbags")
from rosbags.rosbag2 import StoragePlugin, Writer  # noqa: E402
from rosbags.typesys import Stores, get_typestore  # noqa: E402

TOPIC = "/camera/image_raw"
FIRST_STAMP_NS = 1_700_000_000_000_000_000
FRAME_PERIOD_NS = 33_333_333
RECEIVE_DELAY_NS = 2_000_000  # bag time = header stamp + this
STORAGES = {"mcap": StoragePlugin.MCAP, "db3": StoragePlugin.SQLITE3}
KCF = "kcf=opencv:algorithm=kcf"


def stamp_of(frame: int) -> int:
    return FIRST_STAMP_NS + frame * FRAME_PERIOD_NS


def image_message(typestore, frame_rgb: np.ndarray, stamp_ns: int, compressed: bool):
    """A rosbags sensor_msgs Image (bgr8) or CompressedImage (png: lossless) of an RGB frame."""
    header = typestore.types["std_msgs/msg/Header"](
        stamp=typestore.types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9),
        frame_id="camera")
    bgr = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    if compressed:
        data = np.frombuffer(cv2.imencode(".png", bgr)[1].tobytes(), dtype=np.uint8)
        return typestore.types["sensor_msgs/msg/CompressedImage"](header=header, format="png", data=data)
    height, width = bgr.shape[:2]
    return typestore.types["sensor_msgs/msg/Image"](header=header, height=height, width=width, encoding="bgr8",
                                                    is_bigendian=0, step=width * 3, data=bgr.reshape(-1).copy())


def write_bag(path: Path, frames: np.ndarray, storage: str, compressed: bool) -> Path:
    """A rosbag2 bag at ``path`` with one frame per message on ``TOPIC`` (``/compressed`` appended if compressed)."""
    typestore = get_typestore(Stores.ROS2_JAZZY)
    msgtype = "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        connection = writer.add_connection(topic_of(compressed), msgtype, typestore=typestore)
        for index, frame in enumerate(frames):
            message = image_message(typestore, frame, stamp_of(index), compressed)
            writer.write(connection, stamp_of(index) + RECEIVE_DELAY_NS, typestore.serialize_cdr(message, msgtype))
    return path


def topic_of(compressed: bool) -> str:
    return f"{TOPIC}/compressed" if compressed else TOPIC


@pytest.fixture(scope="module")
def sequence() -> tuple[np.ndarray, np.ndarray]:
    return generated_sequence(num_frames=16, height=120, width=160, seed=4, period=80)


def write_ground_truth(path: Path, boxes: np.ndarray) -> Path:
    path.write_text("".join(f"{x:g},{y:g},{w:g},{h:g}\n" for x, y, w, h in boxes))
    return path


def read_detections(path: Path) -> list[dict[str, str]]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


@pytest.mark.parametrize("compressed", [False, True], ids=["Image", "CompressedImage"])
@pytest.mark.parametrize("storage", list(STORAGES))
def test_bag_frames_read_back_as_written_with_their_stamps(tmp_path: Path, sequence, storage: str,
                                                           compressed: bool) -> None:
    frames, boxes = sequence
    bag = write_bag(tmp_path / "bag", frames, storage, compressed)
    recording = open_recording(bag, topic_of(compressed), ground_truth=boxes)
    assert len(recording) == len(frames) and recording.init_frame == 0
    assert recording.index.stamps_ns.tolist() == [stamp_of(index) for index in range(len(frames))]
    assert (recording.index.bag_times_ns - recording.index.stamps_ns == RECEIVE_DELAY_NS).all()
    for index in (0, 1, 7, 3):  # going back reopens the bag
        np.testing.assert_array_equal(recording.read_frame(index), frames[index])
    recording.close()


def test_a_single_mcap_file_reads_like_its_bag_directory(tmp_path: Path, sequence) -> None:
    frames, boxes = sequence
    bag = write_bag(tmp_path / "bag", frames, "mcap", compressed=False)
    (storage_file,) = bag.glob("*.mcap")
    recording = open_recording(storage_file, TOPIC, init_box=tuple(boxes[0]))
    np.testing.assert_array_equal(recording.read_frame(2), frames[2])
    recording.close()


@pytest.mark.parametrize("compressed", [False, True], ids=["Image", "CompressedImage"])
@pytest.mark.parametrize("storage", list(STORAGES))
def test_eval_cli_on_a_bag_with_ground_truth_writes_the_report_and_the_detections(
    tmp_path: Path, sequence, storage: str, compressed: bool
) -> None:
    frames, boxes = sequence
    bag = write_bag(tmp_path / "bag", frames, storage, compressed)
    out = tmp_path / "out"
    assert main(["--bag", str(bag), "--image-topic", topic_of(compressed), "--ground-truth",
                 str(write_ground_truth(tmp_path / "groundtruth.txt", boxes)), "--tracker", KCF,
                 "--out", str(out)]) == 0
    summary = json.loads((out / SUMMARY_JSON).read_text())
    assert summary["recording"] == {
        "bag": str(bag), "topic": topic_of(compressed),
        "msgtype": "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image",
        "frames": len(frames), "init_frame": 0, "init_stamp_ns": stamp_of(0), "ground_truth": True}
    kcf = summary["trackers"]["kcf"]  # KCF follows the target (its box keeps its size, the target's changes)
    assert kcf["precision"] == 1.0 and kcf["auc"] > 0.4
    assert (out / "success_plot.png").is_file()
    rows = read_detections(out / "detections" / "kcf.csv")
    assert [int(row["stamp_ns"]) for row in rows] == [stamp_of(index) for index in range(len(frames))]
    assert [int(row["bag_time_ns"]) for row in rows] == [stamp_of(index) + RECEIVE_DELAY_NS
                                                          for index in range(len(frames))]
    assert rows[0]["state"] == "IDLE" and all(row["state"] == "TRACKING" for row in rows[1:])
    tracked = np.array([[float(row[key]) for key in "xywh"] for row in rows[1:]])
    centre_error = (tracked[:, :2] + tracked[:, 2:] / 2) - (boxes[1:, :2] + boxes[1:, 2:] / 2)
    assert np.abs(centre_error).max() < 8


def test_eval_cli_on_a_bag_starts_on_the_init_stamp_without_ground_truth(tmp_path: Path, sequence) -> None:
    frames, boxes = sequence
    bag = write_bag(tmp_path / "bag", frames, "mcap", compressed=True)
    out, start = tmp_path / "out", 5
    box = ",".join(f"{value:g}" for value in boxes[start])
    assert main(["--bag", str(bag), "--image-topic", topic_of(True), "--init-stamp", str(stamp_of(start)),
                 "--init-box", box, "--tracker", KCF, "--out", str(out)]) == 0
    summary = json.loads((out / SUMMARY_JSON).read_text())
    assert summary["recording"]["init_frame"] == start and summary["recording"]["ground_truth"] is False
    assert set(summary["setup"]["trackers"]) == {"kcf"} and summary["trackers"]["kcf"]["device"]["backend"] == "opencv"
    numbers = summary["trackers"]["kcf"]
    assert "auc" not in numbers and numbers["tracked_frames"] == len(frames) - start - 1
    assert numbers["tracking_share"] == 1.0 and numbers["fps"] > 0
    rows = read_detections(out / "detections" / "kcf.csv")
    assert all(row["state"] == "IDLE" and row["x"] == "" for row in rows[: start + 1])
    assert all(row["state"] == "TRACKING" and row["score"] != "" for row in rows[start + 1 :])


def test_eval_cli_refuses_an_unknown_stamp_topic_or_short_ground_truth(tmp_path: Path, sequence, capsys) -> None:
    frames, boxes = sequence
    bag = write_bag(tmp_path / "bag", frames, "db3", compressed=False)
    common = ["--bag", str(bag), "--tracker", KCF, "--out", str(tmp_path / "out")]
    cases = {
        "no frame of": ["--image-topic", TOPIC, "--init-box", "1,1,5,5", "--init-stamp", "12"],
        "its image topics": ["--image-topic", "/other", "--init-box", "1,1,5,5"],
        "ground truth has 15 rows": ["--image-topic", TOPIC, "--ground-truth",
                                    str(write_ground_truth(tmp_path / "gt.txt", boxes[:-1]))],
        "--bag needs --init-box or --ground-truth": ["--image-topic", TOPIC],
    }
    for reason, arguments in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            main(common + arguments)
        assert exit_info.value.code == 2 and reason in capsys.readouterr().err


def test_a_frame_over_max_pixels_is_refused_before_decoding(tmp_path: Path, sequence) -> None:
    frames, boxes = sequence
    bag = write_bag(tmp_path / "bag", frames, "mcap", compressed=True)
    recording = open_recording(bag, topic_of(True), ground_truth=boxes, max_pixels=160 * 119)
    with pytest.raises(RecordingError, match="exceeds max_input_pixels"):
        recording.read_frame(0)
    recording.close()


def test_claimed_size_reads_a_numpy_byte_array_as_rosbags_gives_it() -> None:
    encoded = cv2.imencode(".jpg", np.zeros((300, 700, 3), np.uint8))[1].reshape(-1)  # sizes over 255
    claimed = claimed_size(encoded)
    assert (claimed.format, claimed.width, claimed.height) == ("jpeg", 700, 300)
