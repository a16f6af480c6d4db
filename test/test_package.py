"""The repository is one ROS 2 package, its core installs with plain pip and imports no ROS module."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE_MODULES = ["asymtrack_ros.models", "asymtrack_ros.tracking", "asymtrack_ros.reference"]


def test_repository_root_has_the_design_card_directories_and_files() -> None:
    for entry in ["asymtrack_ros", "launch", "config", "msg", "srv", "models", "test", "package.xml", "setup.py"]:
        assert (REPO / entry).exists(), f"{entry} missing at the repository root"


def test_package_xml_is_format_3_and_depends_on_the_real_vision_msgs() -> None:
    root = ET.parse(REPO / "package.xml").getroot()
    assert root.get("format") == "3" and root.findtext("name") == "asymtrack_ros"
    assert "vision_msgs" in [d.text for d in root.iter("depend")]
    assert root.findtext("export/build_type") == "ament_cmake"
    assert root.findtext("member_of_group") == "rosidl_interface_packages"


def test_package_xml_metadata_is_complete_and_valid_for_catkin_pkg() -> None:
    catkin_pkg = pytest.importorskip("catkin_pkg.package", reason="catkin_pkg not installed (make setup installs it)")
    package = catkin_pkg.parse_package(str(REPO / "package.xml"))
    package.validate()  # strict: rejects maintainer emails such as a@b.c
    assert package.maintainers and all(m.name and m.email for m in package.maintainers)
    assert {url.type for url in package.urls} == {"website", "repository", "bugtracker"}
    assert {"rclpy", "rcl_interfaces", "launch", "launch_ros", "rviz2"} <= {d.name for d in package.exec_depends}
    assert {"ament_cmake_pytest", "launch_testing"} <= {d.name for d in package.test_depends}
    assert package.licenses == ["Apache-2.0"]


def test_license_file_is_the_full_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_text()
    for part in ("Apache License", "Version 2.0, January 2004", "TERMS AND CONDITIONS FOR USE, REPRODUCTION",
                 "9. Accepting Warranty or Additional Liability", "END OF TERMS AND CONDITIONS", "APPENDIX"):
        assert part in text, f"LICENSE lacks {part!r}"
    assert 'license="Apache-2.0"' in (REPO / "setup.py").read_text()


def test_cmake_uses_public_ament_api_and_colcon_test_runs_the_pytest_suite() -> None:
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert "_ament_cmake_python_get_python_install_dir" not in cmake and "ament_get_python_install_dir(" in cmake
    testing = cmake[cmake.index("if(BUILD_TESTING)"):cmake.index("endif()", cmake.index("if(BUILD_TESTING)"))]
    assert "find_package(ament_cmake_pytest REQUIRED)" in testing
    assert "ament_add_ros_isolated_pytest_test(${PROJECT_NAME}_pytest test" in testing
    assert "ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST" in testing, "colcon test must keep DDS on this machine"
    assert "-DBUILD_TESTING=OFF" not in (REPO / "scripts" / "setup.sh").read_text(), "colcon test would run nothing"


def test_colcon_discovers_only_asymtrack_ros_from_the_repository() -> None:
    """The bundled vision_msgs definitions must never shadow a system vision_msgs."""
    colcon = Path(sys.executable).with_name("colcon")
    listing = subprocess.run(
        [str(colcon), "--log-base", "/dev/null", "list", "--names-only", "--base-paths", str(REPO)],
        capture_output=True, text=True, check=True,
    )
    assert listing.stdout.split() == ["asymtrack_ros"]


def test_core_imports_no_ros_module() -> None:
    code = (
        f"import sys; import {', '.join(CORE_MODULES)}; "
        "ros = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rclpy', 'rosidl_runtime_py', 'std_msgs', 'sensor_msgs', 'vision_msgs', 'builtin_interfaces')); "
        "print(ros); sys.exit(1 if ros else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_model_config_imports_no_torch() -> None:
    """The ONNX backend describes its model with ``ModelConfig`` on robots without PyTorch."""
    code = "import sys, asymtrack_ros.models.config, asymtrack_ros.models.registry; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_core_installs_with_plain_pip(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(tmp_path / "site"), str(REPO)],
        check=True, capture_output=True,
    )
    installed = tmp_path / "site" / "asymtrack_ros"
    assert (installed / "models" / "registry.py").is_file() and (installed / "tracking" / "base.py").is_file()
    assert _default_model_dir_seen_by(tmp_path / "site").is_relative_to(tmp_path / "site" / "share")


def _default_model_dir_seen_by(site_packages: Path) -> Path:
    """``default_model_dir()`` as seen by a process importing asymtrack_ros from ``site_packages``."""
    code = "from asymtrack_ros.tracking.installed_models import default_model_dir; print(default_model_dir())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=site_packages,
                            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(site_packages)})
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


def test_ament_index_share_directory_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ament_index_python")
    from asymtrack_ros.tracking.installed_models import models_roots

    index = tmp_path / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    (index / "asymtrack_ros").touch()
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    assert models_roots()[-1] == tmp_path / "share" / "asymtrack_ros" / "models"


def test_colcon_install_finds_the_shipped_model() -> None:
    """``ros2 launch`` from an install (no source tree on the path) loads the default model from share/."""
    prefix = REPO / "install" / "asymtrack_ros"
    site_packages = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    if not (site_packages / "asymtrack_ros").is_dir():
        pytest.skip(f"no colcon install at {prefix} (make setup builds it)")
    assert _default_model_dir_seen_by(site_packages) == prefix / "share" / "asymtrack_ros" / "models" / "asymtrack-tiny"
