"""Location of the authors' reference data (key manifests, test vectors, Megamind frames).

Read in place, never copied: ``ASYMTRACK_REFERENCE_DIR`` overrides the default
``<repository>/../shared/reference``.
"""

from __future__ import annotations

import os
from pathlib import Path

REFERENCE_ENV = "ASYMTRACK_REFERENCE_DIR"


def reference_dir() -> Path:
    """The reference directory (it may not exist)."""
    configured = os.environ.get(REFERENCE_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def vector_files(model: str) -> list[Path]:
    """Every ``<model>_*_vectors.npz`` in the reference directory, sorted."""
    directory = reference_dir()
    return sorted(directory.glob(f"{model}_*_vectors.npz")) if directory.is_dir() else []
