"""Demo without a camera: video_source_node plays a video into the tracker (optionally with rviz2).

    ros2 launch asymtrack_ros demo.launch.py video:=/path/to/video.mp4 rviz:=true
    ros2 service call /tracker/set_target asymtrack_ros/srv/SetTarget \
        "{bbox: {center: {position: {x: 320.0, y: 240.0}}, size_x: 80.0, size_y: 80.0}}"
"""

from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

ARGUMENTS = {
    "video": ("", "video file to play (required)"),
    "rate": ("0.0", "publish rate in Hz (0 = the video's own)"),
    "loop": ("true", "restart the video at its end"),
    "backend": ("onnx", "onnx | torch | opencv"),
    "rviz": ("false", "start rviz2"),
}


def generate_launch_description() -> LaunchDescription:
    arguments = [DeclareLaunchArgument(name, default_value=default, description=description)
                 for name, (default, description) in ARGUMENTS.items()]
    source = Node(
        package="asymtrack_ros",
        executable="video_source_node",
        name="video_source",
        output="screen",
        parameters=[{
            "video": ParameterValue(LaunchConfiguration("video"), value_type=str),
            "rate": ParameterValue(LaunchConfiguration("rate"), value_type=float),
            "loop": ParameterValue(LaunchConfiguration("loop"), value_type=bool),
        }],
    )
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("asymtrack_ros"), "launch",
                                                            "track.launch.py"])),
        launch_arguments={"image": "image", "backend": LaunchConfiguration("backend"),
                          "rviz": LaunchConfiguration("rviz")}.items(),
    )
    return LaunchDescription([*arguments, source, tracker])
