"""``python -m asymtrack_ros.training``: same as ``asymtrack-train`` (and what ``torchrun -m`` starts)."""

from asymtrack_ros.training.cli import main

raise SystemExit(main())
