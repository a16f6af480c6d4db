"""Benchmarks of tracker backends (``asymtrack-bench``) and the generated test sequence they can run on."""
