"""Start the asymtrack_ros tracker on a camera topic (optionally with rviz2).

    ros2 launch asymtrack_ros track.launch.py image:=/camera/image_raw backend:=onnx rviz:=true
"""

from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

ARGUMENTS = {
    "image": ("image", "camera image topic (raw); its /compressed sibling is used with compressed_input"),
    "namespace": ("", "namespace of the tracker node and its topics"),
    "backend": ("onnx", "onnx | torch | opencv"),
    "model": ("asymtrack", "asymtrack | hit"),
    "variant": ("tiny", "tiny | small | base"),
    "model_dir": ("", "ONNX model directory (empty: the shipped default model)"),
    "weights": ("", "torch checkpoint (torch backend)"),
    "params_file": ("", "YAML parameters file (default: share/asymtrack_ros/config/tracker.yaml)"),
    "use_sim_time": ("false", "use /clock"),
    "debug_image": ("true", "publish the annotated ~/debug_image"),
    "rviz": ("false", "start rviz2 with config/asymtrack.rviz"),
}


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("asymtrack_ros")
    arguments = [DeclareLaunchArgument(name, default_value=default, description=description)
                 for name, (default, description) in ARGUMENTS.items()]
    arguments[list(ARGUMENTS).index("params_file")] = DeclareLaunchArgument(
        "params_file", default_value=PathJoinSubstitution([share, "config", "tracker.yaml"]),
        description=ARGUMENTS["params_file"][1])
    image = LaunchConfiguration("image")
    tracker = Node(
        package="asymtrack_ros",
        executable="tracker_node",
        name="tracker",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "backend": ParameterValue(LaunchConfiguration("backend"), value_type=str),
                "model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                "variant": ParameterValue(LaunchConfiguration("variant"), value_type=str),
                "model_dir": ParameterValue(LaunchConfiguration("model_dir"), value_type=str),
                "weights": ParameterValue(LaunchConfiguration("weights"), value_type=str),
                "debug_image": ParameterValue(LaunchConfiguration("debug_image"), value_type=bool),
                "use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool),
            },
        ],
        remappings=[("image", image), ("image/compressed", [image, "/compressed"])],
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        namespace=LaunchConfiguration("namespace"),
        arguments=["-d", PathJoinSubstitution([share, "config", "asymtrack.rviz"])],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription([*arguments, tracker, rviz])
