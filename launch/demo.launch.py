"""Demo without a camera driver: video_source_node plays a video (or a camera) into the tracker, optionally with rviz2.

    ros2 launch asymtrack_ros demo.launch.py video:=/path/to/video.mp4 rviz:=true
    ros2 launch asymtrack_ros demo.launch.py camera_index:=0
    ros2 service call /tracker/set_target asymtrack_ros/srv/SetTarget \
        "{bbox: {center: {position: {x: 320.0, y: 240.0}}, size_x: 80.0, size_y: 80.0}}"

Exactly one of ``video`` and ``camera_index`` must be given; the launch fails before starting anything otherwise.
"""

from __future__ import annotations

from pathlib import Path

from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_context import LaunchContext
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.descriptions import ParameterValue

from launch import LaunchDescription

ARGUMENTS: dict[str, tuple[str, str]] = {
    "video": ("", "video file to play (this or camera_index)"),
    "camera_index": ("", "camera device index for cv2.VideoCapture (this or video)"),
    "rate": ("0.0", "publish rate in Hz (0 = the video's own)"),
    "loop": ("true", "restart the video at its end"),
    "image": ("image", "topic the images are published on and tracked from"),
    "namespace": ("", "namespace of the tracker node, its topics and rviz2"),
    "compressed_input": ("", "true | false: also publish <image>/compressed and track from it "
                             "(empty: the tracker's params_file value)"),
    "backend": ("", "onnx | torch | opencv (empty: the tracker's params_file value)"),
    "rviz": ("false", "start rviz2"),
}
# Passed unchanged to track.launch.py.
TRACK_ARGUMENTS = ("image", "namespace", "compressed_input", "backend", "rviz")


def video_source_parameters(video: str, camera_index: str) -> dict[str, object]:
    """video_source_node's source parameters; exactly one of ``video`` and ``camera_index`` must be given."""
    if bool(video) == bool(camera_index):
        raise ValueError("demo.launch.py needs exactly one of video:=<file> and camera_index:=<n> "
                         f"(got video:={video!r} camera_index:={camera_index!r})")
    if video:
        return {"video": video}
    if not camera_index.isdigit():
        raise ValueError(f"camera_index:={camera_index!r}: expected a device number such as 0")
    return {"camera_index": int(camera_index)}


def launch_setup(context: LaunchContext) -> list:
    """Check the source arguments, then the tracker (track.launch.py, whose checks run first) and the source."""
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    source_parameters = video_source_parameters(value["video"], value["camera_index"])
    if "video" in source_parameters:
        source_parameters["video"] = ParameterValue(source_parameters["video"], value_type=str)
    image = value["image"]
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(Path(__file__).with_name("track.launch.py"))),
        launch_arguments={name: value[name] for name in TRACK_ARGUMENTS}.items(),
    )
    source = Node(
        package="asymtrack_ros",
        executable="video_source_node",
        name="video_source",
        namespace=value["namespace"],
        output="screen",
        parameters=[{
            **source_parameters,
            "rate": ParameterValue(LaunchConfiguration("rate"), value_type=float),
            "loop": ParameterValue(LaunchConfiguration("loop"), value_type=bool),
            "compressed": value["compressed_input"].strip().lower() in ("true", "1"),
        }],
        remappings=[("image", image), ("image/compressed", f"{image}/compressed")],
    )
    return [tracker, source]


def generate_launch_description() -> LaunchDescription:
    arguments = [DeclareLaunchArgument(name, default_value=default, description=description)
                 for name, (default, description) in ARGUMENTS.items()]
    return LaunchDescription([*arguments, OpaqueFunction(function=launch_setup)])
