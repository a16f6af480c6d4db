"""ONNX model directories: ``template.onnx``, ``search.onnx`` and ``model.json`` (read, validate, write).

``model.json`` is the only description of the model the ONNX backend gets (it never imports torch):
crop geometry, normalisation, graph input/output names and shapes, the sha256 of each ONNX file,
the source checkpoint, the exporting tool versions and, optional, the box smoothing that suits the model
(``"tracker"``, ``box_smoothing.py``; absent: none) and its score calibration (``"score_calibration"``,
``confidence.py``; absent: raw scores). Every problem raises :class:`ModelDirError`
naming the offending file.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from asymtrack_ros.models.config import ModelConfig, canonical_variant
from asymtrack_ros.tracking.box_smoothing import NO_SMOOTHING, BoxSmoothing
from asymtrack_ros.tracking.confidence import IDENTITY, ScoreCalibration

MODEL_JSON = "model.json"
TEMPLATE_FILE = "template.onnx"
SEARCH_FILE = "search.onnx"
FORMAT_VERSION = 1
PRECISIONS = ("fp32", "fp16", "int8")
SEARCH_OUTPUTS = ("pred_boxes", "prob_tl", "prob_br")
MIN_OPSET = 17


def _models_roots(package: Path) -> tuple[Path, ...]:
    """Where shipped models live, first match wins: a source checkout's models/, then share/asymtrack_ros/models
    beside the package (pip --target) or in its install prefix (colcon and pip put the package in
    <prefix>/lib/pythonX.Y/site-packages)."""
    roots = [package.parent / "models", package.parent / "share" / "asymtrack_ros" / "models"]
    if len(package.parents) > 3:
        roots.append(package.parents[3] / "share" / "asymtrack_ros" / "models")
    return tuple(roots)


MODELS_ROOTS = _models_roots(Path(__file__).resolve().parents[1])


class ModelDirError(ValueError):
    """A model directory is missing, corrupt or inconsistent; the message names the file."""


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name and static shape (float32 at the graph boundary)."""

    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class GraphSpec:
    """One ONNX file of the directory: its name, checksum and boundary tensors in order."""

    file: str
    sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class ModelManifest:
    """Parsed ``model.json``."""

    config: ModelConfig
    precision: str
    opset: int
    template: GraphSpec
    search: GraphSpec
    source_checkpoint: dict[str, str] | None = None
    exporter: dict[str, str] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    smoothing: BoxSmoothing = NO_SMOOTHING
    calibration: ScoreCalibration = IDENTITY

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the cached template tensors (template outputs = search inputs after ``search``)."""
        return tuple(spec.name for spec in self.template.outputs)

    def to_json(self) -> dict[str, Any]:
        """The ``model.json`` content."""
        config = asdict(self.config)
        return {
            "format_version": FORMAT_VERSION,
            "model": config.pop("name"),
            **config,
            "precision": self.precision,
            "opset": self.opset,
            "graphs": {"template": asdict(self.template), "search": asdict(self.search)},
            "source_checkpoint": self.source_checkpoint,
            "exporter": self.exporter,
            "validation": self.validation,
            "tracker": self.smoothing.to_json(),
            "score_calibration": asdict(self.calibration),
        }


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_model_dir(model: str = "asymtrack", variant: str = "tiny") -> Path:
    """The shipped model directory (e.g. ``models/asymtrack-tiny``) in the first of :data:`MODELS_ROOTS`
    that has it: a source checkout, a colcon install or a pip install."""
    name = f"{model.lower()}-{canonical_variant(variant)}"
    for root in MODELS_ROOTS:
        if (root / name / MODEL_JSON).is_file():
            return root / name
    raise ModelDirError(
        f"no shipped model directory {name} (no {MODEL_JSON}) under {', '.join(map(str, MODELS_ROOTS))}; pass "
        f"model_dir=... or create one with `asymtrack-export CHECKPOINT --model {model} --variant {variant} "
        f"--out {MODELS_ROOTS[0] / name}`"
    )


def write_manifest(directory: Path, manifest: ModelManifest) -> Path:
    """Write ``model.json`` into ``directory``; returns its path."""
    path = directory / MODEL_JSON
    path.write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    return path


def read_manifest(directory: str | Path) -> ModelManifest:
    """Parse and validate ``directory/model.json`` and check every ONNX file against its checksum."""
    directory = Path(directory)
    path = directory / MODEL_JSON
    if not directory.is_dir():
        raise ModelDirError(f"model directory {directory} does not exist")
    if not path.is_file():
        raise ModelDirError(f"{path} is missing (not an exported model directory)")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelDirError(f"{path} is not readable JSON: {error}") from error
    problems = manifest_problems(data)
    if problems:
        raise ModelDirError(f"{path} is invalid: " + "; ".join(problems))
    manifest = _manifest_from_json(data)
    for graph in (manifest.template, manifest.search):
        verify_checksum(directory / graph.file, graph.sha256, path)
    return manifest


def verify_checksum(path: Path, expected: str, manifest_path: Path) -> None:
    """Require ``path`` to exist with the sha256 recorded in ``manifest_path``."""
    if not path.is_file():
        raise ModelDirError(f"{path} is missing (listed in {manifest_path})")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelDirError(
            f"{path} does not match {manifest_path}: sha256 {actual[:12]}... != recorded {expected[:12]}... "
            "(file replaced or corrupt; re-export the model directory)"
        )


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _is_triple(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(_is_number(v) for v in value)


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(_is_str(k) and isinstance(v, str) for k, v in value.items())


# The model.json schema: top-level key -> check of its value.
SCHEMA: dict[str, Callable[[Any], bool]] = {
    "format_version": lambda v: v == FORMAT_VERSION,
    "model": _is_str,
    "variant": _is_str,
    "template_size": _is_int,
    "search_size": _is_int,
    "template_factor": _is_number,
    "search_factor": _is_number,
    "mean": _is_triple,
    "std": _is_triple,
    "precision": lambda v: v in PRECISIONS,
    "opset": lambda v: _is_int(v) and v >= MIN_OPSET,
    "graphs": lambda v: isinstance(v, dict) and set(v) == {"template", "search"},
    "source_checkpoint": lambda v: v is None or (_is_str_map(v) and {"file", "sha256"} <= set(v)),
    "exporter": lambda v: _is_str_map(v) and "asymtrack_ros" in v,
    "validation": lambda v: isinstance(v, dict),
}
# Keys that may be absent (older model directories).
OPTIONAL_SCHEMA: dict[str, Callable[[Any], bool]] = {
    "tracker": lambda v: isinstance(v, dict) and _is_smoothing(v),
    "score_calibration": lambda v: isinstance(v, dict) and _is_calibration(v),
}


def _is_calibration(value: Mapping[str, Any]) -> bool:
    if set(value) != {"slope", "intercept"} or not all(_is_float(v) for v in value.values()):
        return False
    try:
        ScoreCalibration(**value)
    except ValueError:
        return False
    return True


def _is_float(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_smoothing(value: Mapping[str, Any]) -> bool:
    try:
        BoxSmoothing.from_mapping(value)
    except ValueError:
        return False
    return True


def manifest_problems(data: Any) -> list[str]:
    """Every schema violation of parsed ``model.json`` content (empty when valid)."""
    if not isinstance(data, dict):
        return ["top level is not a JSON object"]
    problems = [f"missing key {key!r}" for key in SCHEMA if key not in data]
    checks = {**SCHEMA, **OPTIONAL_SCHEMA}
    problems += [f"unexpected key {key!r}" for key in data if key not in checks]
    problems += [f"bad value for {key!r}: {data[key]!r}" for key, check in checks.items()
                 if key in data and not check(data[key])]
    if problems:
        return problems
    for name, expected_file in (("template", TEMPLATE_FILE), ("search", SEARCH_FILE)):
        problems += _graph_problems(name, data["graphs"][name], expected_file)
    if problems:
        return problems
    return _consistency_problems(data)


def _graph_problems(name: str, graph: Any, expected_file: str) -> list[str]:
    where = f"graphs.{name}"
    if not isinstance(graph, dict) or set(graph) != {"file", "sha256", "inputs", "outputs"}:
        return [f"{where} must have exactly file, sha256, inputs, outputs"]
    problems = []
    if graph["file"] != expected_file:
        problems.append(f"{where}.file must be {expected_file!r}, got {graph['file']!r}")
    sha = graph["sha256"]
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        problems.append(f"{where}.sha256 is not a hex sha256")
    for kind in ("inputs", "outputs"):
        tensors = graph[kind]
        if not isinstance(tensors, list) or not tensors or not all(_is_tensor(t) for t in tensors):
            problems.append(f"{where}.{kind} must be a non-empty list of {{name, shape}} with positive int dims")
    return problems


def _is_tensor(value: Any) -> bool:
    return (
        isinstance(value, dict) and set(value) == {"name", "shape"} and _is_str(value["name"])
        and isinstance(value["shape"], list) and all(_is_int(d) for d in value["shape"])
    )


def _consistency_problems(data: Mapping[str, Any]) -> list[str]:
    """Graph boundaries must fit each other and the crop sizes."""
    template, search = data["graphs"]["template"], data["graphs"]["search"]
    problems = []
    if [t["shape"] for t in template["inputs"]] != [[1, 3, data["template_size"], data["template_size"]]]:
        problems.append(f"graphs.template.inputs must be one (1, 3, {data['template_size']}, ...) tensor")
    if search["inputs"][0]["shape"] != [1, 3, data["search_size"], data["search_size"]]:
        problems.append(f"graphs.search.inputs[0] must be (1, 3, {data['search_size']}, {data['search_size']})")
    if search["inputs"][1:] != template["outputs"]:
        problems.append("graphs.search.inputs after the search image must equal graphs.template.outputs")
    if tuple(t["name"] for t in search["outputs"]) != SEARCH_OUTPUTS:
        problems.append(f"graphs.search.outputs must be named {list(SEARCH_OUTPUTS)}")
    return problems


def _graph_from_json(graph: Mapping[str, Any]) -> GraphSpec:
    def tensors(items: list[dict]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(t["name"], tuple(t["shape"])) for t in items)

    return GraphSpec(graph["file"], graph["sha256"], tensors(graph["inputs"]), tensors(graph["outputs"]))


def _manifest_from_json(data: Mapping[str, Any]) -> ModelManifest:
    config = ModelConfig(
        name=data["model"], variant=data["variant"],
        template_size=data["template_size"], search_size=data["search_size"],
        template_factor=float(data["template_factor"]), search_factor=float(data["search_factor"]),
        mean=tuple(float(v) for v in data["mean"]), std=tuple(float(v) for v in data["std"]),
    )
    return ModelManifest(
        config=config, precision=data["precision"], opset=data["opset"],
        template=_graph_from_json(data["graphs"]["template"]), search=_graph_from_json(data["graphs"]["search"]),
        source_checkpoint=data["source_checkpoint"], exporter=data["exporter"], validation=data["validation"],
        smoothing=BoxSmoothing.from_mapping(data.get("tracker", {})),
        calibration=ScoreCalibration(**data.get("score_calibration", {})),
    )
