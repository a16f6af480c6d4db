"""Node overhead benchmark: (image publish -> detections received) minus the tracker's own time.

For each image size and transport (raw, compressed) a separate tracker node process tracks a
moving square; this process publishes frames stamped at publish time, at a rate the node keeps
up with, and matches each Detection2DArray and TrackerStatus to its frame by stamp. Overhead is
everything the ROS wrapper adds: transport both ways, decoding/conversion, message building.

    python -m asymtrack_ros.ros.node_benchmark --out node_overhead.json
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray

from asymtrack_ros.boxes import centre
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.msg import TrackerStatus
from asymtrack_ros.ros.image_conversion import rgb_to_compressed, rgb_to_image
from asymtrack_ros.ros.processes import start_node, stop_process
from asymtrack_ros.ros.stamps import stamp_ns
from asymtrack_ros.ros.tracker_client import TrackerClient

SIZES = {"640x480": (640, 480), "1280x720": (1280, 720)}


def scene(width: int, height: int, t: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A textured frame with a bright square moving right; returns (frame, box)."""
    rng = np.random.default_rng(0)
    frame = rng.integers(40, 120, (height, width, 3), dtype=np.uint8)
    side = height // 6
    x, y = width // 4 + 2 * t, height // 3
    frame[y : y + side, x : x + side] = (230, 200, 40)
    return frame, (float(x), float(y), float(side), float(side))


class Probe:
    """Publishes frames and collects, per image stamp, the detections' receive time and the tracker's time."""

    def __init__(self, node, namespace: str, compressed: bool) -> None:
        self.node = node
        self.lock = threading.Lock()
        self.received: dict[int, float] = {}
        self.tracker_ms: dict[int, float] = {}
        message_type, topic = (CompressedImage, "image/compressed") if compressed else (Image, "image")
        self.publisher = node.create_publisher(message_type, f"{namespace}/{topic}", qos_profile_sensor_data)
        self.tracker = TrackerClient(node, namespace, on_detections=self._on_detections, on_status=self._on_status)

    def _on_detections(self, message: Detection2DArray) -> None:
        now = self.node.get_clock().now().nanoseconds
        with self.lock:
            self.received[stamp_ns(message.header.stamp)] = now

    def _on_status(self, message: TrackerStatus) -> None:
        with self.lock:
            self.tracker_ms[stamp_ns(message.header.stamp)] = message.processing_ms


def measure(size: str, compressed: bool, frames: int, rate: float, tracker_args: list[str]) -> dict:
    """Overhead percentiles for one configuration."""
    width, height = SIZES[size]
    namespace = f"/bench_{size}_{'compressed' if compressed else 'raw'}"
    process = start_node("asymtrack_ros.ros.tracker_node", "-r", f"__ns:={namespace}", "-p", "debug_image:=false",
                         "-p", f"compressed_input:={str(compressed).lower()}", *tracker_args)
    node = rclpy.create_node(f"node_benchmark_{size}_{int(compressed)}")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    probe = Probe(node, namespace, compressed)
    messages = []
    for t in range(frames + 20):
        frame, box = scene(width, height, t % 100)
        messages.append((rgb_to_compressed(frame) if compressed else rgb_to_image(frame, "rgb8"), box))
    published: dict[int, int] = {}
    try:
        if not probe.tracker.wait_for_services(timeout=60):
            raise RuntimeError("tracker node did not start")
        for index, (message, box) in enumerate(messages):
            message.header.frame_id = "camera"
            message.header.stamp = node.get_clock().now().to_msg()
            published[stamp_ns(message.header.stamp)] = index
            probe.publisher.publish(message)
            if index == 10:
                probe.tracker.set_target(*centre(box), box[2], box[3])
            time.sleep(1.0 / rate)
        time.sleep(1.0)
    finally:
        stop_process(process, timeout=15)
        executor.shutdown()
        spinner.join(timeout=5)
        node.destroy_node()
    with probe.lock:
        keys = [k for k in sorted(published)[20:] if k in probe.received and k in probe.tracker_ms]
        end_to_end = np.array([(probe.received[k] - k) / 1e6 for k in keys])
        overhead = end_to_end - np.array([probe.tracker_ms[k] for k in keys])
    return {
        "size": size, "transport": "compressed" if compressed else "raw", "frames_measured": len(keys),
        "frames_published": len(published) - 20,
        "end_to_end_ms_p50": round(float(np.percentile(end_to_end, 50)), 3),
        "overhead_ms_p50": round(float(np.percentile(overhead, 50)), 3),
        "overhead_ms_p90": round(float(np.percentile(overhead, 90)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m asymtrack_ros.ros.node_benchmark", __doc__.splitlines()[0], examples=[
        "python -m asymtrack_ros.ros.node_benchmark --out node_overhead.json",
        "python -m asymtrack_ros.ros.node_benchmark -- -p backend:=onnx",
    ])
    parser.add_argument("--out", type=Path, default=Path("node_overhead.json"), help="JSON report")
    parser.add_argument("--frames", type=int, default=150, help="frames published per input kind")
    parser.add_argument("--rate", type=float, default=10.0, help="publish rate (Hz), below the node's capacity")
    parser.add_argument("tracker_args", nargs="*", default=["-p", "backend:=opencv", "-p", "algorithm:=kcf"],
                        help="tracker node arguments")
    args = parser.parse_args(argv)
    rclpy.init()
    try:
        results = [measure(size, compressed, args.frames, args.rate, args.tracker_args)
                   for size in SIZES for compressed in (False, True)]
    finally:
        rclpy.try_shutdown()
    report = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "tracker_args": args.tracker_args, "rate_hz": args.rate, "results": results}
    args.out.write_text(json.dumps(report, indent=2))
    print("| input | transport | frames | end-to-end p50 ms | overhead p50 ms | overhead p90 ms |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['size']} | {r['transport']} | {r['frames_measured']} | {r['end_to_end_ms_p50']} | "
              f"{r['overhead_ms_p50']} | {r['overhead_ms_p90']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
