"""``model.json``, the description of an exported model directory, parsed and validated in one pass.

A model directory holds :data:`TEMPLATE_FILE`, :data:`SEARCH_FILE` and :data:`MODEL_JSON`. ``model.json`` is
the only description of the model the ONNX backend gets (it never imports torch): crop geometry,
normalisation, graph input/output names and shapes, the sha256 of each ONNX file, the source checkpoint, the
exporting tool versions and, optional, the box smoothing and the global re-detection settings that suit the model
(``"tracker"``, ``box_smoothing.py`` and ``redetection.py``; absent: no smoothing, the default re-detection) and its
score calibration (``"score_calibration"``, ``confidence.py``; absent: raw scores), the local tracker fused with
the network (``"fusion"``, ``fusion.py``; absent: none), the learned target verifier (``"verification"``,
``verification.py``; absent: the appearance check) and the head that confirms a box while LOST
(``"confirmation"``, ``confirmation.py``; absent: the verifier's re-identification). An early-exit model (DyTrack)
adds ``"early_exit"``: one graph per segment and one box head per exit, and the default exit thresholds
(:class:`EarlyExitSpec`; absent: a model without exits). Every problem raises :class:`ModelDirError` naming the
offending file.

Shapes are static, except that the search graph may take any batch size: its first dimension is then
:data:`BATCH` (``"batch"``) in every search input and output (``asymtrack-export --dynamic-batch``), and the
backend runs the search crops of several targets in one pass.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.tracking.box_smoothing import NO_SMOOTHING, BoxSmoothing
from asymtrack_ros.tracking.checksums import ChecksumError, verify_checksum
from asymtrack_ros.tracking.confidence import IDENTITY, ScoreCalibration
from asymtrack_ros.tracking.confirmation import ConfirmationHead
from asymtrack_ros.tracking.fusion import NO_FUSION, FusionSettings
from asymtrack_ros.tracking.redetection import DEFAULT_REDETECTION, REDETECTION_KEYS, RedetectionSettings
from asymtrack_ros.tracking.verification import VerificationHead

MODEL_JSON = "model.json"
TEMPLATE_FILE = "template.onnx"
SEARCH_FILE = "search.onnx"
FORMAT_VERSION = 1
PRECISIONS = ("fp32", "fp16", "int8")
SEARCH_OUTPUTS = ("pred_boxes", "prob_tl", "prob_br")
MIN_OPSET = 17
BATCH = "batch"  # the name of a dynamic batch dimension (the first one of the search graph's tensors)
SEGMENT_OUTPUTS = ("hidden", "recycled", "iou")  # names of segment k's outputs, suffixed with their layer / exit


def segment_file(exit: int) -> str:
    """The graph of the encoder layers up to exit ``exit`` and its decisioner."""
    return f"segment_{exit}.onnx"


def head_file(exit: int) -> str:
    """The box head of exit ``exit``."""
    return f"head_{exit}.onnx"


class ModelDirError(ValueError):
    """A model directory is missing, corrupt or inconsistent; the message names the file."""


class ManifestError(ValueError):
    """``model.json`` content that is not a valid manifest; ``problems`` lists every violation found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name and shape (float32 at the graph boundary); static but for a leading
    :data:`BATCH`."""

    name: str
    shape: tuple[int | str, ...]

    @property
    def sample_shape(self) -> tuple[int | str, ...]:
        """The shape without its batch dimension."""
        return self.shape[1:]


@dataclass(frozen=True)
class GraphSpec:
    """One ONNX file of the directory: its name, checksum and boundary tensors in order."""

    file: str
    sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class EarlyExitSpec:
    """``"early_exit"`` of an early-exit model: per exit k, ``segments[k-1]`` (the previous segment's outputs, or the
    search crop and the template state for k = 1 -> this segment's hidden states, decisioner output and IoU
    prediction, named by the ONNX files) and ``heads[k-1]`` (decisioner output -> :data:`SEARCH_OUTPUTS`);
    ``thresholds``: the default tau_1..tau_{K-1}."""

    thresholds: tuple[float, ...]
    segments: tuple[GraphSpec, ...]
    heads: tuple[GraphSpec, ...]

    @property
    def graphs(self) -> tuple[GraphSpec, ...]:
        return self.segments + self.heads

    def to_json(self) -> dict[str, Any]:
        return {"thresholds": list(self.thresholds), "segments": [asdict(g) for g in self.segments],
                "heads": [asdict(g) for g in self.heads]}


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
    redetection: RedetectionSettings = DEFAULT_REDETECTION
    early_exit: EarlyExitSpec | None = None
    fusion: FusionSettings = NO_FUSION
    verification: VerificationHead | None = None
    confirmation: ConfirmationHead | None = None

    @property
    def graphs(self) -> tuple[GraphSpec, ...]:
        """Every ONNX file of the directory."""
        return (self.template, self.search, *(self.early_exit.graphs if self.early_exit else ()))

    @property
    def batched_search(self) -> bool:
        """True when the search graph takes any batch size (:data:`BATCH`)."""
        return self.search.inputs[0].shape[0] == BATCH

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the cached template tensors (template outputs = search inputs after ``search``)."""
        return tuple(spec.name for spec in self.template.outputs)

    @classmethod
    def from_json(cls, data: Any) -> ModelManifest:
        """Parse ``model.json`` content; :class:`ManifestError` lists every problem."""
        if not isinstance(data, dict):
            raise ManifestError(["top level is not a JSON object"])
        problems = [f"missing key {key!r}" for key in FIELDS if key not in data]
        problems += [f"unexpected key {key!r}" for key in data if key not in FIELDS and key not in OPTIONAL_FIELDS]
        values = {}
        for key, parse in {**FIELDS, **OPTIONAL_FIELDS}.items():
            if key in data:
                try:
                    values[key] = parse(data[key])
                except ManifestError as error:  # nested problems that name their place
                    problems += error.problems
                except (TypeError, ValueError) as error:
                    problems.append(f"bad value for {key!r}: {data[key]!r} ({error})")
        if problems:
            raise ManifestError(problems)
        manifest = cls(
            config=ModelConfig(
                name=values["model"], variant=values["variant"],
                template_size=values["template_size"], search_size=values["search_size"],
                template_factor=values["template_factor"], search_factor=values["search_factor"],
                mean=values["mean"], std=values["std"],
            ),
            precision=values["precision"], opset=values["opset"], template=values["graphs"]["template"],
            search=values["graphs"]["search"], source_checkpoint=values["source_checkpoint"],
            exporter=values["exporter"], validation=values["validation"],
            calibration=values.get("score_calibration", IDENTITY),
            early_exit=values.get("early_exit"),
            fusion=values.get("fusion", NO_FUSION),
            verification=values.get("verification"),
            confirmation=values.get("confirmation"),
            **values.get("tracker", {}),
        )
        problems = manifest.consistency_problems()
        if problems:
            raise ManifestError(problems)
        return manifest

    def consistency_problems(self) -> list[str]:
        """Graph boundaries must fit each other and the crop sizes."""
        template_size, search_size = self.config.template_size, self.config.search_size
        problems = []
        if [t.shape for t in self.template.inputs] != [(1, 3, template_size, template_size)]:
            problems.append(f"graphs.template.inputs must be one (1, 3, {template_size}, ...) tensor")
        if self.search.inputs[0].sample_shape != (3, search_size, search_size):
            problems.append(f"graphs.search.inputs[0] must be (1, 3, {search_size}, {search_size}) or (batch, 3, ...)")
        batch = self.search.inputs[0].shape[0]
        if batch not in (1, BATCH) or any(t.shape[0] != batch for t in (*self.search.inputs, *self.search.outputs)):
            problems.append(f"graphs.search tensors must all have batch 1 or all {BATCH!r} first")
        if [(t.name, t.sample_shape) for t in self.search.inputs[1:]] \
                != [(t.name, t.sample_shape) for t in self.template.outputs]:
            problems.append("graphs.search.inputs after the search image must equal graphs.template.outputs")
        if tuple(t.name for t in self.search.outputs) != SEARCH_OUTPUTS:
            problems.append(f"graphs.search.outputs must be named {list(SEARCH_OUTPUTS)}")
        if self.early_exit is not None:
            first = self.early_exit.segments[0]
            if first.inputs[:1] != self.search.inputs[:1] or first.inputs[1:] != self.template.outputs:
                problems.append("early_exit.segments[0].inputs must be the search image and graphs.template.outputs")
            if any(tuple(t.name for t in head.outputs) != SEARCH_OUTPUTS for head in self.early_exit.heads):
                problems.append(f"early_exit.heads outputs must be named {list(SEARCH_OUTPUTS)}")
        return problems

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
            "tracker": {**self.smoothing.to_json(), **self.redetection.to_json()},
            "score_calibration": asdict(self.calibration),
            **({"early_exit": self.early_exit.to_json()} if self.early_exit else {}),
            **({"fusion": self.fusion.to_json()} if self.fusion.enabled else {}),
            **({"verification": self.verification.to_json()} if self.verification else {}),
            **({"confirmation": self.confirmation.to_json()} if self.confirmation else {}),
        }

    def with_verification(self, head: VerificationHead) -> ModelManifest:
        """A copy carrying the verification head ``head``."""
        return replace(self, verification=head)

    def with_confirmation(self, head: ConfirmationHead) -> ModelManifest:
        """A copy carrying the LOST confirmation head ``head``."""
        return replace(self, confirmation=head)


def manifest_problems(data: Any) -> list[str]:
    """Every problem of parsed ``model.json`` content (empty when it is a valid manifest)."""
    try:
        ModelManifest.from_json(data)
    except ManifestError as error:
        return error.problems
    return []


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
    try:
        manifest = ModelManifest.from_json(data)
        for graph in manifest.graphs:
            verify_checksum(directory / graph.file, graph.sha256, path)
    except ManifestError as error:
        raise ModelDirError(f"{path} is invalid: {error}") from error
    except ChecksumError as error:
        raise ModelDirError(str(error)) from error
    return manifest


def write_manifest(directory: Path, manifest: ModelManifest) -> Path:
    """Write ``model.json`` into ``directory``; returns its path."""
    path = directory / MODEL_JSON
    path.write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    return path


# Parsers of the values of model.json's keys: each returns the typed value or raises ValueError.

def _text(value: Any) -> str:
    if not (isinstance(value, str) and value):
        raise ValueError("not a non-empty string")
    return value


def _positive_int(value: Any) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        raise ValueError("not a positive integer")
    return value


def _positive_number(value: Any) -> float:
    if not (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        raise ValueError("not a positive finite number")
    return float(value)


def _triple(value: Any) -> tuple[float, float, float]:
    if not (isinstance(value, list) and len(value) == 3):
        raise ValueError("not a list of 3 numbers")
    first, second, third = (_positive_number(v) for v in value)
    return first, second, third


def _str_map(value: Any) -> dict[str, str]:
    if not (isinstance(value, dict) and all(isinstance(k, str) and k and isinstance(v, str) for k, v in value.items())):
        raise ValueError("not an object of strings")
    return value


def _with_keys(parse: Callable[[Any], dict], required: set[str]) -> Callable[[Any], dict]:
    def parse_with_keys(value: Any) -> dict:
        parsed = parse(value)
        if not required <= set(parsed):
            raise ValueError(f"needs the keys {sorted(required)}")
        return parsed

    return parse_with_keys


def _source_checkpoint(value: Any) -> dict[str, str] | None:
    return None if value is None else _with_keys(_str_map, {"file", "sha256"})(value)


def _one_of(*allowed: Any) -> Callable[[Any], Any]:
    def parse_one_of(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"not one of {list(allowed)}")
        return value

    return parse_one_of


def _opset(value: Any) -> int:
    if _positive_int(value) < MIN_OPSET:
        raise ValueError(f"below {MIN_OPSET}")
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _calibration(value: Any) -> ScoreCalibration:
    numbers = _object(value)
    if set(numbers) != {"slope", "intercept"} or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in numbers.values()
    ):
        raise ValueError("needs the numbers slope and intercept")
    return ScoreCalibration(**numbers)


def _tracker_section(value: Any) -> dict[str, Any]:
    """The ``"tracker"`` object as :class:`ModelManifest` fields: its smoothing and its re-detection keys."""
    section = _object(value)
    redetection = {key: number for key, number in section.items() if key in REDETECTION_KEYS}
    smoothing = {key: number for key, number in section.items() if key not in REDETECTION_KEYS}
    return {"smoothing": BoxSmoothing.from_mapping(smoothing),
            "redetection": RedetectionSettings.from_mapping(redetection)}


def _graphs(value: Any) -> dict[str, GraphSpec]:
    if not (isinstance(value, dict) and set(value) == {"template", "search"}):
        raise ValueError("needs exactly template and search")
    problems, graphs = [], {}
    for name, expected_file in (("template", TEMPLATE_FILE), ("search", SEARCH_FILE)):
        try:
            graphs[name] = _graph(f"graphs.{name}", value[name], expected_file)
        except ManifestError as error:
            problems += error.problems
    if problems:
        raise ManifestError(problems)
    return graphs


def _graph(where: str, graph: Any, expected_file: str) -> GraphSpec:
    if not isinstance(graph, dict) or set(graph) != {"file", "sha256", "inputs", "outputs"}:
        raise ManifestError([f"{where} must have exactly file, sha256, inputs, outputs"])
    problems = []
    if graph["file"] != expected_file:
        problems.append(f"{where}.file must be {expected_file!r}, got {graph['file']!r}")
    sha = graph["sha256"]
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        problems.append(f"{where}.sha256 is not a hex sha256")
    tensors = {}
    for kind in ("inputs", "outputs"):
        try:
            tensors[kind] = _tensors(graph[kind])
        except ValueError:
            problems.append(f"{where}.{kind} must be a non-empty list of {{name, shape}} with positive int dims "
                            f"(the first may be {BATCH!r})")
    if problems:
        raise ManifestError(problems)
    return GraphSpec(graph["file"], sha, tensors["inputs"], tensors["outputs"])


def _early_exit(value: Any) -> EarlyExitSpec:
    """The ``"early_exit"`` object: K segments, K heads and K - 1 finite thresholds."""
    if not (isinstance(value, dict) and set(value) == {"thresholds", "segments", "heads"}):
        raise ValueError("needs exactly thresholds, segments and heads")
    segments, heads, thresholds = value["segments"], value["heads"], value["thresholds"]
    if not (isinstance(segments, list) and isinstance(heads, list) and len(segments) == len(heads) >= 2):
        raise ValueError("segments and heads must be lists of the same length, at least 2")
    if not (isinstance(thresholds, list) and len(thresholds) == len(segments) - 1 and all(
            isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) for t in thresholds)):
        raise ValueError("thresholds must be one finite number per exit but the last")
    problems, specs = [], []
    for kind, graphs, file in (("segments", segments, segment_file), ("heads", heads, head_file)):
        for index, graph in enumerate(graphs):
            try:
                specs.append(_graph(f"early_exit.{kind}[{index}]", graph, file(index + 1)))
            except ManifestError as error:
                problems += error.problems
    if problems:
        raise ManifestError(problems)
    count = len(segments)
    return EarlyExitSpec(tuple(float(t) for t in thresholds), tuple(specs[:count]), tuple(specs[count:]))


def _tensors(value: Any) -> tuple[TensorSpec, ...]:
    if not (isinstance(value, list) and value):
        raise ValueError("not a non-empty list")
    specs = []
    for tensor in value:
        if not (isinstance(tensor, dict) and set(tensor) == {"name", "shape"} and isinstance(tensor["shape"], list)):
            raise ValueError("not a {name, shape} object")
        first, *rest = tensor["shape"] or [0]
        specs.append(TensorSpec(_text(tensor["name"]),
                                (BATCH if first == BATCH else _positive_int(first), *map(_positive_int, rest))))
    return tuple(specs)


# model.json's keys and the parsers of their values.
FIELDS: dict[str, Callable[[Any], Any]] = {
    "format_version": _one_of(FORMAT_VERSION),
    "model": _text,
    "variant": _text,
    "template_size": _positive_int,
    "search_size": _positive_int,
    "template_factor": _positive_number,
    "search_factor": _positive_number,
    "mean": _triple,
    "std": _triple,
    "precision": _one_of(*PRECISIONS),
    "opset": _opset,
    "graphs": _graphs,
    "source_checkpoint": _source_checkpoint,
    "exporter": _with_keys(_str_map, {"asymtrack_ros"}),
    "validation": _object,
}
# Keys that may be absent (older model directories).
OPTIONAL_FIELDS: dict[str, Callable[[Any], Any]] = {
    "tracker": _tracker_section,
    "score_calibration": _calibration,
    "early_exit": _early_exit,
    "fusion": FusionSettings.from_mapping,
    "verification": VerificationHead.from_mapping,
    "confirmation": ConfirmationHead.from_mapping,
}
