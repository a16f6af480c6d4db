"""One dependency direction: no subpackage imports one above it, and no two import each other.

The order (README "Layout"): ``models``, ``checkpoint`` < ``tracking`` < ``export`` < ``benchmark``;
``evaluation``, ``data`` < ``training``; ``ros`` on top, and nothing imports ``ros``. The neutral
modules at the package root (boxes, sequences, devices, ...) sit below all of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "asymtrack_ros"
# Layer of every unit: a subpackage, or a module at the package root. Lower layers never import higher
# ones; units of the same layer never import each other.
LAYERS: dict[str, int] = {
    "boxes": 0, "devices": 0, "host": 0, "progress": 0, "cli_support": 0, "reference": 0, "restricted_pickle": 0,
    "sequences": 0, "compressed_header": 0, "image_messages": 1, "dataset_layouts": 1, "checkpoint": 1, "models": 1,
    "tracking": 2,
    "data": 3, "evaluation": 3, "visualization": 3,
    "export": 4, "training": 4,
    "benchmark": 5,
    "ros": 9, "msg": 9, "srv": 9,
}


def unit_of(module: str) -> str | None:
    """``asymtrack_ros.tracking.siamese`` -> ``tracking``; None outside the package or for a plain name."""
    parts = module.split(".")
    if parts[0] != "asymtrack_ros" or len(parts) == 1:
        return None
    is_unit = (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file() or parts[1] in ("msg", "srv")
    return parts[1] if is_unit else None


def imported_units(path: Path) -> set[str]:
    """Units of the package that the file at ``path`` imports (absolute and relative imports)."""
    own = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(own[: len(own) - node.level]) if node.level else ""
            module = f"{base}.{node.module}" if base and node.module else base or node.module or ""
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {unit for unit in map(unit_of, names) if unit is not None}
    return found


def unit_edges() -> dict[tuple[str, str], str]:
    """(importer unit, imported unit) -> one file where it happens, across units only."""
    edges: dict[tuple[str, str], str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for imported in imported_units(path) - {importer}:
            edges.setdefault((importer, imported), str(path.relative_to(PACKAGE.parent)))
    return edges


def test_every_unit_of_the_package_has_a_layer() -> None:
    units = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in PACKAGE.rglob("*.py")}
    missing = units - {"__init__", "__main__"} - set(LAYERS)
    assert not missing, f"give these a layer: {missing}"


def test_no_unit_imports_a_higher_or_equal_layer() -> None:
    unplaced = len(LAYERS)  # a unit without a layer counts as the top one (the test above names it)
    wrong = [f"{where}: {importer} imports {imported}" for (importer, imported), where in unit_edges().items()
             if imported not in ("msg", "srv") and LAYERS.get(imported, unplaced) >= LAYERS.get(importer, unplaced)]
    assert not wrong, "upward or sideways imports:\n" + "\n".join(wrong)


def test_nothing_but_ros_imports_ros_or_the_generated_interfaces() -> None:
    wrong = [where for (importer, imported), where in unit_edges().items()
             if imported in ("ros", "msg", "srv") and importer != "ros"]
    assert not wrong, f"only asymtrack_ros.ros may import ROS code: {wrong}"


def test_the_check_sees_relative_and_absolute_imports(tmp_path: Path) -> None:
    assert unit_of("asymtrack_ros.tracking.siamese") == "tracking" and unit_of("numpy") is None
    probe = PACKAGE / "export" / "graphs.py"
    assert "tracking" in imported_units(probe) or "models" in imported_units(probe)
