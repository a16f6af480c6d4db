"""Training: box losses, SSTrack scheduling and gradient scaling, the trainer, its config and ``asymtrack-train``."""
