"""Torch model -> ``template.onnx`` + ``search.onnx`` (TorchScript exporter, static shapes), checked and validated."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from asymtrack_ros.tracking.model_dir import SEARCH_OUTPUTS, TensorSpec


class ExportError(RuntimeError):
    """The export produced no valid model directory (parity, checker or quantisation failure)."""


class TemplateGraph(nn.Module):
    """template -> the state tuple of ``encode_template`` (flattened NamedTuple)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, template: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.model.encode_template(template))


class SearchGraph(nn.Module):
    """search + state tensors -> pred_boxes, prob_tl, prob_br of ``track_search``."""

    def __init__(self, model: nn.Module, state_type: type) -> None:
        super().__init__()
        self.model = model
        self.state_type = state_type

    def forward(self, search: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model.track_search(search, self.state_type(*state))
        return tuple(out[name] for name in SEARCH_OUTPUTS)


def state_names(state: tuple) -> tuple[str, ...]:
    """Tensor names of a template state: the NamedTuple's fields (``state_i`` for a plain tuple)."""
    return tuple(getattr(state, "_fields", ())) or tuple(f"state_{i}" for i in range(len(state)))


def export_graph(
    module: nn.Module, inputs: tuple[torch.Tensor, ...], input_names: Sequence[str], output_names: Sequence[str],
    path: Path, opset: int,
) -> None:
    """Static-shape, constant-folded export, then ``onnx.checker`` (full check)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(
            module, inputs, str(path), input_names=list(input_names), output_names=list(output_names),
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as error:
        raise ExportError(f"{path} fails onnx.checker: {error}") from error


def boundary(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """(inputs, outputs) of an ONNX file; every dimension must be static."""
    graph = onnx.load(str(path), load_external_data=False).graph

    def specs(values: Sequence[onnx.ValueInfoProto]) -> tuple[TensorSpec, ...]:
        result = []
        for value in values:
            dims = value.type.tensor_type.shape.dim
            if not all(d.HasField("dim_value") for d in dims):
                raise ExportError(f"{path}: {value.name} has a dynamic shape")
            result.append(TensorSpec(value.name, tuple(d.dim_value for d in dims)))
        return tuple(result)

    return specs(graph.input), specs(graph.output)


def export_graphs(model: nn.Module, directory: Path, opset: int) -> tuple[str, ...]:
    """Write ``template.onnx`` and ``search.onnx`` of a deploy-form model; returns the state names."""
    config = model.config
    template = torch.zeros(1, 3, config.template_size, config.template_size)
    search = torch.zeros(1, 3, config.search_size, config.search_size)
    with torch.no_grad():
        state = model.encode_template(template)
    names = state_names(state)
    export_graph(TemplateGraph(model), (template,), ["template"], names, directory / "template.onnx", opset)
    export_graph(
        SearchGraph(model, type(state)), (search, *state), ["search", *names], SEARCH_OUTPUTS,
        directory / "search.onnx", opset,
    )
    return names


def parity_max_abs_diff(model: nn.Module, directory: Path, samples: int = 3, seed: int = 0) -> float:
    """Max |ORT - torch| over every template and search output, on random crops (normal, seeded)."""
    config = model.config
    rng = np.random.default_rng(seed)
    template_session = ort.InferenceSession(str(directory / "template.onnx"), providers=["CPUExecutionProvider"])
    search_session = ort.InferenceSession(str(directory / "search.onnx"), providers=["CPUExecutionProvider"])
    state_inputs = [node.name for node in search_session.get_inputs()[1:]]
    worst = 0.0
    for _ in range(samples):
        template = rng.standard_normal((1, 3, config.template_size, config.template_size), dtype=np.float32)
        search = rng.standard_normal((1, 3, config.search_size, config.search_size), dtype=np.float32)
        with torch.no_grad():
            state = model.encode_template(torch.from_numpy(template))
            expected = model.track_search(torch.from_numpy(search), state)
        ort_state = template_session.run(None, {"template": template})
        ort_out = search_session.run(None, {"search": search, **dict(zip(state_inputs, ort_state, strict=True))})
        pairs = [*zip(ort_state, state, strict=True), *zip(ort_out, (expected[k] for k in SEARCH_OUTPUTS), strict=True)]
        worst = max(worst, *(float(np.abs(got - want.numpy()).max()) for got, want in pairs))
    return worst
