"""builtin_interfaces/Time <-> integer nanoseconds (stamps as dictionary keys and in arithmetic)."""

from __future__ import annotations

from builtin_interfaces.msg import Time

NANOSECONDS = 1_000_000_000


def stamp_ns(stamp: Time) -> int:
    """The stamp as nanoseconds since its clock's epoch."""
    return stamp.sec * NANOSECONDS + stamp.nanosec


def ns_stamp(nanoseconds: int) -> Time:
    """The Time message of ``nanoseconds``."""
    return Time(sec=nanoseconds // NANOSECONDS, nanosec=nanoseconds % NANOSECONDS)
