"""asymtrack_ros: single-object visual tracking (AsymTrack, HiT) for ROS 2.

The tracker core (``models``, ``tracking``, ``export``, ``evaluation``, ``training``)
imports no ROS module; ROS wrappers live in ``asymtrack_ros.ros``.
"""

from pkgutil import extend_path

# The generated ``msg``/``srv`` modules live in the colcon install space; a source checkout
# earlier on sys.path must still find them.
__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"
