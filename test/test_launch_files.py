"""Launch files: static checks and checks with stand-in launch modules that run everywhere, and real launches
where launch_ros is installed (it has no PyPI wheel)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import types
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((REPO / "launch").glob("*.launch.py"))
TRACK_LAUNCH = REPO / "launch" / "track.launch.py"
DEMO_LAUNCH = REPO / "launch" / "demo.launch.py"
RVIZ_CONFIG = REPO / "config" / "asymtrack.rviz"
# track.launch.py arguments that must override the params_file only when given (issue #12).
OVERRIDE_ARGUMENTS = {"backend", "model", "variant", "model_dir", "weights", "debug_image", "compressed_input",
                      "use_sim_time"}


def installed_executables() -> set[str]:
    cmake = (REPO / "CMakeLists.txt").read_text()
    programs = re.search(r"install\(PROGRAMS ([^)]*?) DESTINATION lib/\$\{PROJECT_NAME\}\)", cmake).group(1)
    names = {Path(p).name for p in programs.split()}
    assert all((REPO / "bin" / n).is_file() for n in names)
    return names


NODE_ACTIONS = {"Node", "LifecycleNode"}


def node_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls of launch_ros Node / LifecycleNode, also as ``(LifecycleNode if managed else Node)(...)``."""
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and {getattr(f, "id", "") for f in ast.walk(n.func)} & NODE_ACTIONS]


def constants(expression: ast.AST) -> list[str]:
    """Every string constant an expression can evaluate to (``"a" if x else "b"`` -> both)."""
    return [n.value for n in ast.walk(expression) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=[p.name for p in LAUNCH_FILES])
def test_launch_file_names_only_existing_executables_parameters_and_files(path: Path) -> None:
    from asymtrack_ros.ros.parameters import PARAMETERS
    from asymtrack_ros.ros.video_source_node import PARAMETERS as SOURCE_PARAMETERS

    tree = ast.parse(path.read_text())
    tracker_parameters = set(PARAMETERS) | {"use_sim_time"}
    known_parameters = {"tracker_node": tracker_parameters, "managed_tracker_node": tracker_parameters,
                        "video_source_node": set(SOURCE_PARAMETERS)}
    for call in node_calls(tree):
        package = keyword(call, "package").value
        for executable in constants(keyword(call, "executable")):
            if package != "asymtrack_ros":
                assert (package, executable) == ("rviz2", "rviz2")
                continue
            assert executable in installed_executables(), f"{path.name}: unknown executable {executable}"
            for item in ast.walk(keyword(call, "parameters")):
                if isinstance(item, ast.Dict):
                    names = {k.value for k in item.keys if k is not None}
                    assert names <= known_parameters[executable], f"{path.name}: unknown parameters {names}"
    share_files = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") ==
                   "PathJoinSubstitution"]
    for join in share_files:
        parts = [e.value for e in join.args[0].elts if isinstance(e, ast.Constant)]
        assert (REPO.joinpath(*parts)).is_file(), f"{path.name} names missing file {'/'.join(parts)}"
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert "install(DIRECTORY launch config models DESTINATION share/${PROJECT_NAME})" in cmake


def module_constant(path: Path, name: str) -> object:
    """The literal value of a module-level ``name = ...`` in a launch file."""
    for node in ast.parse(path.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(getattr(target, "id", None) == name for target in targets):
            if isinstance(node.value, ast.Dict) and all(isinstance(v, ast.Name) for v in node.value.values):
                return {k.value: v.id for k, v in zip(node.value.keys, node.value.values, strict=True)}
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} defines no {name}")


def rviz_topics(config: object) -> list[str]:
    """Topic values of every display in an rviz config."""
    if isinstance(config, list):
        return [topic for item in config for topic in rviz_topics(item)]
    if not isinstance(config, dict):
        return []
    own = [config["Topic"]["Value"]] if isinstance(config.get("Topic"), dict) else []
    return own + [topic for key, value in config.items() if key != "Topic" for topic in rviz_topics(value)]


def test_track_launch_override_arguments_default_to_empty_and_name_node_parameters() -> None:
    """An empty default means "keep the params_file value": only arguments the user gives override it."""
    from asymtrack_ros.ros.parameters import PARAMETERS

    arguments = module_constant(TRACK_LAUNCH, "ARGUMENTS")
    overrides = module_constant(TRACK_LAUNCH, "OVERRIDES")
    assert set(overrides) == OVERRIDE_ARGUMENTS
    assert set(overrides) <= set(PARAMETERS) | {"use_sim_time"}
    for name in OVERRIDE_ARGUMENTS:
        assert arguments[name][0] == "", f"{name} defaults to {arguments[name][0]!r}: it would override params_file"
        if name in PARAMETERS:
            assert overrides[name] == type(PARAMETERS[name][0]).__name__, f"{name}: wrong parameter type"


def test_no_launch_file_sets_override_parameters_unconditionally() -> None:
    """No ``{"backend": LaunchConfiguration("backend")}``-style entry: it would replace params_file values."""
    for path in LAUNCH_FILES:
        for call in node_calls(ast.parse(path.read_text())):
            for item in ast.walk(keyword(call, "parameters") or ast.List(elts=[])):
                if isinstance(item, ast.Dict):
                    names = {k.value for k in item.keys if isinstance(k, ast.Constant)}
                    assert not names & OVERRIDE_ARGUMENTS, f"{path.name} always sets {names & OVERRIDE_ARGUMENTS}"


def test_rviz_config_topics_are_relative_and_rviz_gets_the_namespace_and_remaps() -> None:
    topics = rviz_topics(yaml.safe_load(RVIZ_CONFIG.read_text()))
    assert set(topics) == {"tracker/debug_image", "image"}, topics
    rviz = [c for c in node_calls(ast.parse(TRACK_LAUNCH.read_text())) if keyword(c, "package").value == "rviz2"]
    assert len(rviz) == 1 and keyword(rviz[0], "namespace") is not None and keyword(rviz[0], "remappings") is not None


def test_demo_declares_its_source_image_and_passes_them_on() -> None:
    arguments = module_constant(DEMO_LAUNCH, "ARGUMENTS")
    passed = module_constant(DEMO_LAUNCH, "TRACK_ARGUMENTS")
    assert {"image", "namespace", "compressed_input", "backend", "rviz"} <= set(passed) <= set(arguments)
    assert set(passed) <= set(module_constant(TRACK_LAUNCH, "ARGUMENTS"))
    assert arguments["video"][0] == "" and arguments["camera_index"][0] == ""
    assert "required" not in arguments["video"][1], "video is not required: camera_index is the alternative"


class _Recorded:
    """Stand-in for a launch or launch_ros class: keeps its arguments."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args, self.kwargs = args, kwargs


class _LaunchConfiguration(_Recorded):
    def perform(self, context: _FakeContext) -> str:
        return context.configurations[self.args[0]]


class _ExecutableInPackage(_Recorded):
    def perform(self, context: _FakeContext) -> str:
        if self.kwargs["package"] not in context.packages:
            raise LookupError(f"package '{self.kwargs['package']}' not found")
        return f"/opt/ros/lib/{self.kwargs['package']}/{self.kwargs['executable']}"


class _FakeContext:
    def __init__(self, configurations: dict[str, str], packages: set[str]) -> None:
        self.configurations, self.packages = configurations, packages


def _stub_module(name: str) -> types.ModuleType:
    """A module whose every attribute is a recording class (special ones for substitutions that get performed)."""
    module = types.ModuleType(name)
    special = {"LaunchConfiguration": _LaunchConfiguration, "ExecutableInPackage": _ExecutableInPackage}
    module.__getattr__ = lambda attribute: special.get(attribute) or type(attribute, (_Recorded,), {})
    module.__path__ = []
    return module


@pytest.fixture
def load_with_stand_ins(monkeypatch: pytest.MonkeyPatch):
    """Load a launch file against stand-in launch modules (no launch install needed)."""

    def load(path: Path) -> types.ModuleType:
        imported = {n.module for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)}
        for module in sorted(m for m in imported if m and m.split(".")[0] in ("launch", "launch_ros")):
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                monkeypatch.setitem(sys.modules, ".".join(parts[:depth]), _stub_module(".".join(parts[:depth])))
        spec = importlib.util.spec_from_file_location(f"stand_in_{path.name.replace('.', '_')}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def track_configurations(**given: str) -> dict[str, str]:
    defaults = {name: default for name, (default, _) in module_constant(TRACK_LAUNCH, "ARGUMENTS").items()}
    return defaults | {"params_file": "/share/tracker.yaml"} | given


def test_track_launch_overrides_only_the_given_arguments(load_with_stand_ins) -> None:
    track = load_with_stand_ins(TRACK_LAUNCH)
    (tracker,) = track.launch_setup(_FakeContext(track_configurations(), set()))
    assert tracker.kwargs["parameters"] == ["/share/tracker.yaml", {}]
    (tracker,) = track.launch_setup(_FakeContext(track_configurations(variant="base", debug_image="False",
                                                                      compressed_input="1"), set()))
    params_file, overrides = tracker.kwargs["parameters"]
    assert params_file == "/share/tracker.yaml" and set(overrides) == {"variant", "debug_image", "compressed_input"}
    assert overrides["debug_image"] is False and overrides["compressed_input"] is True
    assert overrides["variant"].kwargs == {"value_type": str} and overrides["variant"].args == ("base",)
    with pytest.raises(ValueError, match="debug_image"):
        track.launch_setup(_FakeContext(track_configurations(debug_image="yes please"), set()))


def test_track_launch_topics_follow_image_and_namespace(load_with_stand_ins) -> None:
    """Input, compressed input and rqt_image_view clicks (<image>_mouse_left) follow ``image``, also in rviz2."""
    from asymtrack_ros.ros.parameters import PARAMETERS

    track = load_with_stand_ins(TRACK_LAUNCH)
    configurations = track_configurations(image="/cam/image_raw", namespace="/robot", rviz="true")
    rviz, tracker = track.launch_setup(_FakeContext(configurations, {"rviz2"}))
    expected = {"image": "/cam/image_raw", "image/compressed": "/cam/image_raw/compressed",
                PARAMETERS["click_topic"][0]: "/cam/image_raw_mouse_left"}
    for node in (rviz, tracker):
        assert dict(node.kwargs["remappings"]) == expected and node.kwargs["namespace"] == "/robot"
    assert rviz.kwargs["package"] == "rviz2" and tracker.kwargs["executable"] == "tracker_node"


def test_track_launch_managed_starts_the_lifecycle_node_and_activates_it_unless_told_not_to(
        load_with_stand_ins) -> None:
    track = load_with_stand_ins(TRACK_LAUNCH)
    tracker, handler, configure = track.launch_setup(_FakeContext(track_configurations(managed="true"), set()))
    assert type(tracker).__name__ == "LifecycleNode" and tracker.kwargs["executable"] == "managed_tracker_node"
    assert type(handler).__name__ == "RegisterEventHandler" and type(configure).__name__ == "EmitEvent"
    on_inactive = handler.args[0]
    assert on_inactive.kwargs["goal_state"] == "inactive" and on_inactive.kwargs["target_lifecycle_node"] is tracker
    (activate,) = on_inactive.kwargs["entities"]
    assert activate.kwargs["event"].kwargs["transition_id"] == 3  # TRANSITION_ACTIVATE
    assert configure.kwargs["event"].kwargs["transition_id"] == 1  # TRANSITION_CONFIGURE
    (idle,) = track.launch_setup(_FakeContext(track_configurations(managed="true", autostart="false"), set()))
    assert type(idle).__name__ == "LifecycleNode"


def test_track_launch_without_rviz2_fails_before_starting_anything(load_with_stand_ins) -> None:
    """The check raises inside the only action that creates nodes, so no tracker is left behind."""
    track = load_with_stand_ins(TRACK_LAUNCH)
    with pytest.raises(RuntimeError, match="rviz2"):
        track.launch_setup(_FakeContext(track_configurations(rviz="true"), set()))
    description = track.generate_launch_description()
    entities = description.args[0]
    assert [type(e).__name__ for e in entities].count("OpaqueFunction") == 1
    assert all(type(e).__name__ in ("DeclareLaunchArgument", "OpaqueFunction") for e in entities)


def test_demo_launch_needs_one_source_and_passes_image_through(load_with_stand_ins) -> None:
    demo = load_with_stand_ins(DEMO_LAUNCH)
    defaults = {name: default for name, (default, _) in module_constant(DEMO_LAUNCH, "ARGUMENTS").items()}
    with pytest.raises(ValueError, match="exactly one of video"):
        demo.launch_setup(_FakeContext(defaults, set()))
    with pytest.raises(ValueError, match="exactly one of video"):
        demo.launch_setup(_FakeContext(defaults | {"video": "a.mp4", "camera_index": "0"}, set()))
    with pytest.raises(ValueError, match="camera_index"):
        demo.launch_setup(_FakeContext(defaults | {"camera_index": "front"}, set()))
    given = defaults | {"camera_index": "2", "image": "/cam/image_raw", "compressed_input": "true"}
    include, source = demo.launch_setup(_FakeContext(given, set()))
    assert dict(include.kwargs["launch_arguments"])["image"] == "/cam/image_raw"
    assert dict(source.kwargs["remappings"])["image"] == "/cam/image_raw"
    parameters = source.kwargs["parameters"][0]
    assert parameters["camera_index"] == 2 and "video" not in parameters and parameters["compressed"] is True


LAUNCH_RUNNER = """
import sys
from launch import LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
service = LaunchService(noninteractive=True)
source = PythonLaunchDescriptionSource(sys.argv[1])
arguments = [a.split(":=", 1) for a in sys.argv[2:]]
service.include_launch_description(IncludeLaunchDescription(source, launch_arguments=arguments))
sys.exit(service.run())
"""


def test_track_launch_starts_the_node_when_launch_ros_is_installed() -> None:
    """A real ``ros2 launch`` equivalent (launch_ros has no PyPI wheel: CI relies on the static check)."""
    pytest.importorskip("launch_ros", reason="launch_ros is not installable from PyPI; the static check covers CI")
    from asymtrack_ros.srv import SetTarget

    from ros_fixtures import spinning_node, stop_process

    command = [sys.executable, "-c", LAUNCH_RUNNER, str(REPO / "launch" / "track.launch.py"),
               "backend:=opencv", "namespace:=/launched"]
    process = subprocess.Popen(command)
    try:
        with spinning_node("launch_checker") as node:
            client = node.create_client(SetTarget, "/launched/tracker/set_target")
            assert client.wait_for_service(timeout_sec=60), "the launched tracker never offered set_target"
            response = client.call(SetTarget.Request(), timeout_sec=20)
            assert not response.success and "no image received yet" in response.message
    finally:
        assert stop_process(process, timeout=20) == 0


def require_launch_ros() -> None:
    """Skip unless launch_ros and the ROS environment import (launch_ros has no PyPI wheel)."""
    pytest.importorskip("launch_ros", reason="launch_ros is not installable from PyPI; the checks above cover CI")
    from ros_fixtures import require_ros

    require_ros()


def unique_namespace() -> str:
    return f"/launch_check_{uuid.uuid4().hex[:8]}"


def processes_in_namespace(namespace: str) -> list[int]:
    """Pids of running processes started into ``namespace`` (their command line holds ``__ns:=<namespace>``)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if f"__ns:={namespace}".encode() in arguments:
            pids.append(int(cmdline.parent.name))
    return pids


@contextmanager
def launched(path: Path, *arguments: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A real ``ros2 launch`` equivalent, stopped with SIGINT like a terminal would; must exit cleanly."""
    from ros_fixtures import stop_process

    process = subprocess.Popen([sys.executable, "-c", LAUNCH_RUNNER, str(path), *arguments], env=env)
    try:
        yield process
    except BaseException:
        stop_process(process, timeout=20)
        raise
    assert stop_process(process, timeout=20) == 0, "the launch did not exit cleanly on SIGINT"


def node_topics(node, name: str, namespace: str) -> tuple[set[str], set[str]]:
    """(subscribed, published) topic names of the node ``namespace/name`` as the ROS graph shows them (empty sets
    while it is not discovered yet)."""
    from rclpy.node import NodeNameNonExistentError

    try:
        subscribed = node.get_subscriber_names_and_types_by_node(name, namespace)
        published = node.get_publisher_names_and_types_by_node(name, namespace)
    except NodeNameNonExistentError:
        return set(), set()
    return {topic for topic, _ in subscribed}, {topic for topic, _ in published}


def test_launched_tracker_keeps_params_file_values_unless_given_and_follows_image(tmp_path: Path) -> None:
    """For real: params_file values stay unless a launch argument is given; topics follow namespace and image."""
    require_launch_ros()
    from rcl_interfaces.srv import GetParameters
    from rclpy.parameter import parameter_value_to_python

    from ros_fixtures import spinning_node, wait_until

    params = tmp_path / "params.yaml"
    file_values = {"backend": "opencv", "model": "hit", "variant": "small", "debug_image": False}
    params.write_text(yaml.safe_dump({"/**": {"ros__parameters": file_values}}))
    namespace = unique_namespace()
    arguments = (f"namespace:={namespace}", f"params_file:={params}", "variant:=base", "compressed_input:=true",
                 "image:=/cam/image_raw")
    with launched(TRACK_LAUNCH, *arguments), spinning_node("launch_parameter_checker") as node:
        client = node.create_client(GetParameters, f"{namespace}/tracker/get_parameters")
        assert client.wait_for_service(timeout_sec=60), "the launched tracker never came up"
        names = ["backend", "model", "variant", "debug_image", "compressed_input"]
        response = client.call(GetParameters.Request(names=names), timeout_sec=20)
        values = dict(zip(names, map(parameter_value_to_python, response.values), strict=True))
        assert values == file_values | {"variant": "base", "compressed_input": True}
        expected = {"/cam/image_raw/compressed", "/cam/image_raw_mouse_left"}
        assert wait_until(lambda: expected <= node_topics(node, "tracker", namespace)[0], timeout=10), \
            node_topics(node, "tracker", namespace)
        assert f"{namespace}/tracker/debug_image" in node_topics(node, "tracker", namespace)[1]


def test_launch_with_rviz_but_no_rviz2_fails_and_leaves_no_process() -> None:
    """For real: rviz:=true where rviz2 is missing fails before anything starts (no orphaned tracker)."""
    require_launch_ros()
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    with suppress(PackageNotFoundError):
        pytest.skip(f"rviz2 is installed at {get_package_prefix('rviz2')}: it would start")
    namespace = unique_namespace()
    result = subprocess.run([sys.executable, "-c", LAUNCH_RUNNER, str(TRACK_LAUNCH), "rviz:=true", "backend:=opencv",
                             f"namespace:={namespace}"], capture_output=True, text=True, timeout=60)
    time.sleep(1)
    leftovers = processes_in_namespace(namespace)
    for pid in leftovers:
        os.kill(pid, signal.SIGINT)
    assert result.returncode != 0 and "rviz2" in result.stdout + result.stderr
    assert leftovers == [], "a failed launch left processes running"


FAKE_RVIZ2 = '''
"""Stand-in for rviz2: resolves the display topics of its -d config in its node namespace, with its remaps."""
import json, os, sys
import rclpy, yaml
def topics(config):
    if isinstance(config, list):
        return [topic for item in config for topic in topics(item)]
    if not isinstance(config, dict):
        return []
    own = [config["Topic"]["Value"]] if isinstance(config.get("Topic"), dict) else []
    return own + [topic for key, value in config.items() if key != "Topic" for topic in topics(value)]
with open(sys.argv[sys.argv.index("-d") + 1]) as handle:
    config = yaml.safe_load(handle)
rclpy.init(args=sys.argv)
node = rclpy.create_node("rviz")
out = os.environ["ASYMTRACK_FAKE_RVIZ2_OUT"]
with open(out + ".part", "w") as handle:
    json.dump({topic: node.resolve_topic_name(topic) for topic in topics(config)}, handle)
os.replace(out + ".part", out)
node.destroy_node()
rclpy.shutdown()
'''


def test_rviz_displays_follow_namespace_and_image_remap(tmp_path: Path) -> None:
    """For real, with a stand-in rviz2 on AMENT_PREFIX_PATH: the shipped config's topics resolve in the namespace."""
    require_launch_ros()
    from ros_fixtures import wait_until

    prefix = tmp_path / "prefix"
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "rviz2").touch()
    executable = prefix / "lib" / "rviz2" / "rviz2"
    executable.parent.mkdir(parents=True)
    executable.write_text(f"#!{sys.executable}{FAKE_RVIZ2}")
    executable.chmod(0o755)
    out = tmp_path / "rviz_topics.json"
    env = os.environ | {"AMENT_PREFIX_PATH": f"{prefix}{os.pathsep}{os.environ.get('AMENT_PREFIX_PATH', '')}",
                        "ASYMTRACK_FAKE_RVIZ2_OUT": str(out)}
    namespace = unique_namespace()
    with launched(TRACK_LAUNCH, "rviz:=true", "backend:=opencv", f"namespace:={namespace}", "image:=/cam/image_raw",
                  env=env):
        assert wait_until(out.exists, timeout=60), "the stand-in rviz2 never ran"
    assert json.loads(out.read_text()) == {"tracker/debug_image": f"{namespace}/tracker/debug_image",
                                           "image": "/cam/image_raw"}


def test_demo_launch_plays_a_video_into_the_tracker_on_the_given_image_topic(tmp_path: Path) -> None:
    """For real: demo.launch.py passes image:= to both the video source and the tracker."""
    require_launch_ros()
    import cv2
    import numpy as np

    from ros_fixtures import spinning_node, wait_until

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    namespace = unique_namespace()
    with launched(DEMO_LAUNCH, f"video:={video}", "backend:=opencv", f"namespace:={namespace}",
                  "image:=/cam/image_raw"), spinning_node("demo_launch_checker") as node:
        assert wait_until(lambda: "/cam/image_raw" in node_topics(node, "tracker", namespace)[0]
                          and "/cam/image_raw" in node_topics(node, "video_source", namespace)[1], timeout=60)
