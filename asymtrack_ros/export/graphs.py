"""Torch model -> ``template.onnx`` + ``search.onnx`` (TorchScript exporter, static shapes but an optional dynamic
batch of the search graph), checked and validated."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from asymtrack_ros.models.network import TrackerNetwork
from asymtrack_ros.tracking.manifest import BATCH, SEARCH_FILE, SEARCH_OUTPUTS, TEMPLATE_FILE, TensorSpec


class ExportError(RuntimeError):
    """The export produced no valid model directory (parity, checker or quantisation failure)."""


class TemplateGraph(nn.Module):
    """template -> the state tuple of ``encode_template`` (flattened NamedTuple)."""

    def __init__(self, model: TrackerNetwork) -> None:
        super().__init__()
        self.model = model

    def forward(self, template: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.model.encode_template(template))


class SearchGraph(nn.Module):
    """search + state tensors -> pred_boxes, prob_tl, prob_br of ``track_search``."""

    def __init__(self, model: TrackerNetwork, state_type: type) -> None:
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
    path: Path, opset: int, dynamic_batch: bool = False,
) -> None:
    """Static-shape (but for a leading :data:`BATCH` of every input and output with ``dynamic_batch``),
    constant-folded export, then ``onnx.checker`` (full check)."""
    names = (*input_names, *output_names)
    dynamic_axes = {name: {0: BATCH} for name in names} if dynamic_batch else None
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(
            module, inputs, str(path), input_names=list(input_names), output_names=list(output_names),
            opset_version=opset, do_constant_folding=True, dynamo=False, dynamic_axes=dynamic_axes,
            # PRESERVE (the model is in eval mode) skips the exporter's eval-mode Conv+BatchNorm peephole,
            # which folds ConvTranspose+BatchNorm along the wrong weight axis (HiT's neck).
            training=torch.onnx.TrainingMode.PRESERVE,
        )
        example_outputs = module(*inputs)
    proto = onnx.load(str(path))
    for value, tensor in zip(proto.graph.output, example_outputs, strict=True):
        dims = value.type.tensor_type.shape.dim  # reshape(-1, ...) leaves symbolic output dims: pin them
        del dims[:]
        for axis, size in enumerate(tensor.shape):
            if dynamic_batch and axis == 0:
                dims.add().dim_param = BATCH
            else:
                dims.add().dim_value = size
    onnx.save(onnx.shape_inference.infer_shapes(proto, strict_mode=True), str(path))
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as error:
        raise ExportError(f"{path} fails onnx.checker: {error}") from error


def boundary(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """(inputs, outputs) of an ONNX file; every dimension must be static but a leading :data:`BATCH`."""
    graph = onnx.load(str(path), load_external_data=False).graph

    def specs(values: Sequence[onnx.ValueInfoProto]) -> tuple[TensorSpec, ...]:
        result = []
        for value in values:
            dims = value.type.tensor_type.shape.dim
            shape = tuple(BATCH if axis == 0 and d.dim_param == BATCH else d.dim_value for axis, d in enumerate(dims))
            if not all(d.HasField("dim_value") for d in dims[1:]) or not shape or shape[0] == 0:
                raise ExportError(f"{path}: {value.name} has a dynamic shape")
            result.append(TensorSpec(value.name, shape))
        return tuple(result)

    return specs(graph.input), specs(graph.output)


def export_graphs(model: TrackerNetwork, directory: Path, opset: int, dynamic_batch: bool = False) -> tuple[str, ...]:
    """Write ``template.onnx`` and ``search.onnx`` of a deploy-form model (``dynamic_batch``: the search graph takes
    any batch, one sample per target); returns the state names."""
    config = model.config
    template = torch.zeros(1, 3, config.template_size, config.template_size)
    search = torch.zeros(1, 3, config.search_size, config.search_size)
    with torch.no_grad():
        state = model.encode_template(template)
    names = state_names(state)
    export_graph(TemplateGraph(model), (template,), ["template"], names, directory / TEMPLATE_FILE, opset)
    export_graph(
        SearchGraph(model, type(state)), (search, *state), ["search", *names], SEARCH_OUTPUTS,
        directory / SEARCH_FILE, opset, dynamic_batch,
    )
    return names


def torch_parity(model: TrackerNetwork, directory: Path, samples: int = 3, seed: int = 0) -> dict[str, float]:
    """ORT vs torch on random crops (normal, seeded), each running its own template graph.

    ``max_abs_diff_vs_torch``: over the search outputs (boxes and corner maps, what the tracker uses);
    ``state_max_rel_diff_vs_torch``: the cached template tensors relative to their largest magnitude
    (ETM prototypes are sums over the template and reach 1e5 with large weights).
    """
    config = model.config
    rng = np.random.default_rng(seed)
    template_session = ort.InferenceSession(str(directory / TEMPLATE_FILE), providers=["CPUExecutionProvider"])
    search_session = ort.InferenceSession(str(directory / SEARCH_FILE), providers=["CPUExecutionProvider"])
    state_inputs = [node.name for node in search_session.get_inputs()[1:]]
    per_output = dict.fromkeys(SEARCH_OUTPUTS, 0.0)
    state_rel = 0.0
    for _ in range(samples):
        template = rng.standard_normal((1, 3, config.template_size, config.template_size), dtype=np.float32)
        search = rng.standard_normal((1, 3, config.search_size, config.search_size), dtype=np.float32)
        with torch.no_grad():
            state = model.encode_template(torch.from_numpy(template))
            expected = model.track_search(torch.from_numpy(search), state)
        ort_state = template_session.run(None, {"template": template})
        ort_out = search_session.run(None, {"search": search, **dict(zip(state_inputs, ort_state, strict=True))})
        for got, want in zip(ort_state, state, strict=True):
            state_rel = max(state_rel, float(np.abs(got - want.numpy()).max() / max(np.abs(want.numpy()).max(), 1.0)))
        for name, got in zip(SEARCH_OUTPUTS, ort_out, strict=True):
            per_output[name] = max(per_output[name], float(np.abs(got - expected[name].numpy()).max()))
    return {
        "max_abs_diff_vs_torch": max(per_output.values()),
        **{f"max_abs_diff_{name}": value for name, value in per_output.items()},
        "state_max_rel_diff_vs_torch": state_rel,
    }


def batch_parity(directory: Path, batch: int = 3, seed: int = 0) -> float:
    """Max abs diff of a dynamic-batch ``search.onnx`` run on ``batch`` samples at once vs one at a time."""
    rng = np.random.default_rng(seed)
    template_session = ort.InferenceSession(str(directory / TEMPLATE_FILE), providers=["CPUExecutionProvider"])
    search_session = ort.InferenceSession(str(directory / SEARCH_FILE), providers=["CPUExecutionProvider"])
    template_input, (search_input, *state_inputs) = template_session.get_inputs()[0], search_session.get_inputs()
    samples = []
    for _ in range(batch):
        template = rng.standard_normal(template_input.shape, dtype=np.float32)
        search = rng.standard_normal((1, *search_input.shape[1:]), dtype=np.float32)
        samples.append({search_input.name: search, **dict(zip(
            (node.name for node in state_inputs), template_session.run(None, {template_input.name: template}),
            strict=True))})
    together = search_session.run(None, {name: np.concatenate([s[name] for s in samples]) for name in samples[0]})
    diff = 0.0
    for index, sample in enumerate(samples):
        for got, want in zip(together, search_session.run(None, sample), strict=True):
            diff = max(diff, float(np.abs(got[index:index + 1] - want).max()))
    return diff
