"""``python -m asymtrack_ros.export``: same as ``asymtrack-export``."""

from asymtrack_ros.export.cli import main

raise SystemExit(main())
