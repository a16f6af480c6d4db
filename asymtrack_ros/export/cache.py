"""Authors' checkpoints at ONNX speed in one step: export once into a cache, reuse it on the next start.

An entry lives in ``~/.cache/asymtrack_ros/models/<model>-<variant>-<key>`` (``$XDG_CACHE_HOME`` respected),
``key`` a sha256 of the checkpoint's bytes and of the export settings. An entry is reused only if its
``model.json`` parses, names this checkpoint's sha256, and every ONNX file matches its recorded sha256;
otherwise (tampered, half-written) it is discarded and exported again. The checkpoint is read with the
same restricted loader as the torch backend, so a hostile file is refused the same way. Importing this
module registers :func:`cached_export` as the ONNX backend's weights exporter.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from asymtrack_ros.checkpoint import CheckpointError, read_checkpoint
from asymtrack_ros.export.pipeline import export_model
from asymtrack_ros.tracking.checksums import ChecksumError, sha256_file
from asymtrack_ros.tracking.manifest import MIN_OPSET, ManifestError, read_manifest
from asymtrack_ros.tracking.weights_export import register_weights_exporter

LOGGER = logging.getLogger(__name__)
CACHE_FORMAT = 1  # bump when an export of the same checkpoint would differ


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/asymtrack_ros/models`` (default ``~/.cache/...``)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "asymtrack_ros" / "models"


def entry_name(checkpoint_sha256: str, model: str, variant: str) -> str:
    """The cache directory name of one checkpoint exported with this package's settings."""
    settings = {"checkpoint": checkpoint_sha256, "model": model, "variant": variant, "precision": "fp32",
                "opset": MIN_OPSET, "format": CACHE_FORMAT}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]
    return f"{model}-{variant}-{key}"


def entry_problem(entry: Path, checkpoint_sha256: str) -> str:
    """Why ``entry`` cannot be reused ("" when it can)."""
    try:
        manifest = read_manifest(entry)  # checks every ONNX file against its recorded sha256
    except (ManifestError, ChecksumError, OSError, ValueError) as error:
        return str(error)
    source = manifest.source_checkpoint or {}
    if source.get("sha256") != checkpoint_sha256:
        return f"it was exported from another checkpoint ({source.get('sha256', 'none')[:12]}...)"
    return ""


def cached_export(weights: Path, model: str, variant: str, root: Path | None = None) -> Path:
    """The verified cache entry of ``weights`` as ``model``/``variant``, exported now if needed."""
    if not weights.is_file():
        raise CheckpointError(f"checkpoint {weights} does not exist")
    read_checkpoint(weights)  # refuses hostile or corrupt files before anything is exported or cached
    digest = sha256_file(weights)
    entry = (root or cache_root()) / entry_name(digest, model, variant)
    if entry.is_dir():
        problem = entry_problem(entry, digest)
        if not problem:
            LOGGER.info("reusing the ONNX export of %s in %s", weights, entry)
            return entry
        LOGGER.warning("discarding the cached export %s: %s; exporting again", entry, problem)
        shutil.rmtree(entry)
    LOGGER.info("exporting %s (%s-%s) to ONNX into %s (once; later starts reuse it)", weights, model, variant, entry)
    export_model(entry, model, variant, weights)
    return entry


register_weights_exporter(cached_export)
