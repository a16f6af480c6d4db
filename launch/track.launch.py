"""Start the asymtrack_ros tracker on a camera topic (optionally with rviz2).

    ros2 launch asymtrack_ros track.launch.py image:=/camera/image_raw backend:=onnx rviz:=true
    ros2 launch asymtrack_ros track.launch.py managed:=true            # lifecycle node, configured and activated
    ros2 launch asymtrack_ros track.launch.py managed:=true autostart:=false   # stays unconfigured

Node parameters come from ``params_file``; the launch arguments that default to "" override it only when given.
Every check (rviz2 installed, valid booleans) runs before any process starts, so a failed launch leaves none.
"""

from __future__ import annotations

from collections.abc import Mapping

from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler
from launch.events import matches_action
from launch.launch_context import LaunchContext
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.descriptions import ParameterValue
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.substitutions import ExecutableInPackage, FindPackageShare
from lifecycle_msgs.msg import Transition

from launch import LaunchDescription

# name: (default, description). "" = keep the params_file value.
ARGUMENTS: dict[str, tuple[str, str]] = {
    "image": ("image", "camera image topic (raw); with compressed_input the tracker reads <image>/compressed"),
    "namespace": ("", "namespace of the tracker node, its topics and rviz2"),
    "params_file": ("", "YAML parameters file (default: share/asymtrack_ros/config/tracker.yaml)"),
    "backend": ("", "onnx | torch | opencv (empty: the params_file value)"),
    "model": ("", "asymtrack | hit | dytrack (empty: the params_file value)"),
    "variant": ("", "tiny | small | base (empty: the params_file value)"),
    "model_dir": ("", "ONNX model directory (empty: the params_file value; there \"\" = the shipped model)"),
    "weights": ("", "torch checkpoint, torch backend (empty: the params_file value)"),
    "compressed_input": ("", "true | false: subscribe to <image>/compressed (empty: the params_file value)"),
    "debug_image": ("", "true | false: publish the annotated ~/debug_image (empty: the params_file value)"),
    "use_sim_time": ("", "true | false: use /clock (empty: the params_file value, else false)"),
    "rviz": ("false", "start rviz2 with config/asymtrack.rviz (the launch fails before starting anything "
                      "if rviz2 is not installed)"),
    "managed": ("false", "true: the lifecycle node (managed_tracker_node), driven through ~/change_state"),
    "autostart": ("true", "with managed:=true, configure and activate it at launch"),
}
# Launch arguments that override a node parameter of the same name when not empty, and the parameter's type.
OVERRIDES: dict[str, type] = {
    "backend": str, "model": str, "variant": str, "model_dir": str, "weights": str,
    "compressed_input": bool, "debug_image": bool, "use_sim_time": bool,
}


def parse_bool(name: str, text: str) -> bool:
    """``true``/``1`` or ``false``/``0`` (any case), as launch conditions read them; else a clear error."""
    lowered = text.strip().lower()
    if lowered not in ("true", "1", "false", "0"):
        raise ValueError(f"launch argument {name}:={text!r}: expected true or false")
    return lowered in ("true", "1")


def parameter_overrides(given: Mapping[str, str]) -> dict[str, object]:
    """Typed node parameters for the override arguments given a non-empty value (the rest stay as params_file has
    them)."""
    overrides: dict[str, object] = {}
    for name, kind in OVERRIDES.items():
        text = given.get(name, "")
        if text != "":
            overrides[name] = parse_bool(name, text) if kind is bool else text
    return overrides


def topic_remappings(image: str) -> list[tuple[str, str]]:
    """The node's relative input and click topics follow ``image`` (rqt_image_view clicks: <image>_mouse_left)."""
    return [("image", image), ("image/compressed", f"{image}/compressed"), ("image_mouse_left", f"{image}_mouse_left")]


def auto_activation(tracker: LifecycleNode) -> list:
    """Configure the managed tracker at launch and activate it once it is inactive."""
    def change(transition_id: int) -> EmitEvent:
        return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(tracker), transition_id=transition_id))

    activate = OnStateTransition(target_lifecycle_node=tracker, goal_state="inactive",
                                 entities=[change(Transition.TRANSITION_ACTIVATE)])
    return [RegisterEventHandler(activate), change(Transition.TRANSITION_CONFIGURE)]


def launch_setup(context: LaunchContext) -> list:
    """Validate the arguments, then the rviz2 and tracker nodes (rviz2 checked first: nothing starts on failure)."""
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    overrides = {name: ParameterValue(v, value_type=str) if isinstance(v, str) else v
                 for name, v in parameter_overrides(value).items()}
    remappings = topic_remappings(value["image"])
    nodes = []
    if parse_bool("rviz", value["rviz"]):
        try:
            ExecutableInPackage(package="rviz2", executable="rviz2").perform(context)
        except Exception as error:
            raise RuntimeError(f"rviz:=true but rviz2 cannot be started ({error}); install rviz2 "
                               "(ros-jazzy-rviz2) or launch with rviz:=false") from None
        nodes.append(Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            namespace=value["namespace"],
            # asymtrack.rviz names relative topics: they resolve in the namespace and follow the image remap.
            arguments=["-d", PathJoinSubstitution([FindPackageShare("asymtrack_ros"), "config", "asymtrack.rviz"])],
            remappings=remappings,
        ))
    managed = parse_bool("managed", value["managed"])
    autostart = parse_bool("autostart", value["autostart"])
    tracker = (LifecycleNode if managed else Node)(
        package="asymtrack_ros",
        executable="managed_tracker_node" if managed else "tracker_node",
        name="tracker",
        namespace=value["namespace"],
        output="screen",
        parameters=[value["params_file"], overrides],
        remappings=remappings,
    )
    return [*nodes, tracker, *(auto_activation(tracker) if managed and autostart else [])]


def generate_launch_description() -> LaunchDescription:
    defaults: dict[str, object] = {name: default for name, (default, _) in ARGUMENTS.items()}
    defaults["params_file"] = PathJoinSubstitution([FindPackageShare("asymtrack_ros"), "config", "tracker.yaml"])
    arguments = [DeclareLaunchArgument(name, default_value=defaults[name], description=description)
                 for name, (_, description) in ARGUMENTS.items()]
    return LaunchDescription([*arguments, OpaqueFunction(function=launch_setup)])
