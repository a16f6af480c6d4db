"""Benchmarks of tracker backends (``asymtrack-bench``); the frames they run on come from ``data.frame_sources``."""
