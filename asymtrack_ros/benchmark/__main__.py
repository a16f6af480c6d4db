"""``python -m asymtrack_ros.benchmark``: same as ``asymtrack-bench``."""

from asymtrack_ros.benchmark.cli import main

raise SystemExit(main())
