"""ROS 2 wrappers around the tracker core: nodes, message conversion, launch helpers."""
