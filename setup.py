"""pip install of the ROS-free tracker core (``pip install .``).

The ROS 2 package itself builds with colcon (ament_cmake, see CMakeLists.txt); this file lets
plain Python users install the models, backends, export, evaluation and training tools.
"""

from pathlib import Path

from setuptools import find_packages, setup


def shipped_models() -> list[tuple[str, list[str]]]:
    """``models/`` as data files under ``<prefix>/share/asymtrack_ros/`` (where the default model is looked up)."""
    return [
        (f"share/asymtrack_ros/{directory}", [str(path) for path in sorted(directory.iterdir()) if path.is_file()])
        for directory in sorted({path.parent for path in Path("models").rglob("*") if path.is_file()})
    ]


setup(
    name="asymtrack_ros",
    version="0.1.0",
    description="Single-object visual tracking (AsymTrack, HiT) with PyTorch, ONNX Runtime and OpenCV backends",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["asymtrack_ros", "asymtrack_ros.*"]),
    package_data={"asymtrack_ros": ["py.typed"]},
    data_files=shipped_models(),
    install_requires=["numpy>=1.24", "opencv-contrib-python-headless<5", "onnxruntime>=1.17"],
    extras_require={
        "torch": ["torch==2.13.0", "onnx>=1.16", "onnxscript>=0.2", "PyYAML>=6"],
        "eval": ["matplotlib>=3.7", "rosbags==0.11.9"],
        "vot": ["vot-trax==4.0.2"],  # asymtrack-trax (the VOT toolkit itself runs in its own environment)
    },
    entry_points={
        "console_scripts": [
            "asymtrack-eval = asymtrack_ros.evaluation.cli:main",
            "asymtrack-export = asymtrack_ros.export.cli:main",
            "asymtrack-bench = asymtrack_ros.benchmark.cli:main",
            "asymtrack-generate = asymtrack_ros.data.cli:main",
            "asymtrack-train = asymtrack_ros.training.cli:main",
            "asymtrack-trax = asymtrack_ros.evaluation.trax_server:main",
            "tracker_node = asymtrack_ros.ros.tracker_node:main",
            "managed_tracker_node = asymtrack_ros.ros.managed_tracker_node:main",
            "video_source_node = asymtrack_ros.ros.video_source_node:main",
        ]
    },
)
