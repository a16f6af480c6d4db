"""Where the shipped model directories are installed: a source checkout, a pip or colcon install, the ament index."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from asymtrack_ros.models.config import canonical_variant
from asymtrack_ros.tracking.manifest import MODEL_JSON, ModelDirError

PACKAGE = "asymtrack_ros"


def models_roots() -> tuple[Path, ...]:
    """Where shipped models live, first match wins: a source checkout's ``models/``, then
    ``share/asymtrack_ros/models`` beside the package (pip --target) or in its install prefix (colcon and pip
    put the package in ``<prefix>/lib/pythonX.Y/site-packages``), then the ament index's share directory."""
    package = Path(str(files(PACKAGE)))
    roots = [package.parent / "models", package.parent / "share" / PACKAGE / "models"]
    if len(package.parents) > 3:
        roots.append(package.parents[3] / "share" / PACKAGE / "models")
    share = ament_share_directory()
    if share is not None:
        roots.append(share / "models")
    return tuple(dict.fromkeys(roots))


def ament_share_directory() -> Path | None:
    """This package's share directory in the ament index; None without ament_index_python or an index entry."""
    try:
        from ament_index_python.packages import get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (LookupError, OSError, ValueError):  # not indexed, or AMENT_PREFIX_PATH unset
        return None


def default_model_dir(model: str = "asymtrack", variant: str = "tiny") -> Path:
    """The shipped model directory (e.g. ``models/asymtrack-tiny``) in the first of :func:`models_roots` that
    has it."""
    name = f"{model.lower()}-{canonical_variant(variant)}"
    roots = models_roots()
    for root in roots:
        if (root / name / MODEL_JSON).is_file():
            return root / name
    raise ModelDirError(
        f"no shipped model directory {name} (no {MODEL_JSON}) under {', '.join(map(str, roots))}; pass "
        f"model_dir=... or create one with `asymtrack-export CHECKPOINT --model {model} --variant {variant} "
        f"--out {roots[0] / name}`"
    )
