"""QoS of the tracker's services: the ROS default for services (reliable, volatile) with a deeper queue."""

from __future__ import annotations

from rclpy.qos import QoSProfile, qos_profile_services_default

# Requests (server side) or responses (client side) held while an executor is busy. With the default depth of 10 a
# burst can overflow a queue: a flood test once saw 57 of 1000 set_target calls (200 per second) go unanswered on a
# loaded 2-core machine, and the node answers every call in its callback, so a full queue is the likely loss.
SERVICE_DEPTH = 100

SERVICE_QOS = QoSProfile(history=qos_profile_services_default.history, depth=SERVICE_DEPTH,
                         reliability=qos_profile_services_default.reliability,
                         durability=qos_profile_services_default.durability)
