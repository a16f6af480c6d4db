"""DyTrack export: one ONNX graph per segment and one per box head, so that ONNX Runtime stops early too.

Eq. (1) of the paper (Sec. III-A) answers from the first exit k with s_k > tau_k. Segment k runs the encoder
layers after exit k-1 up to exit k and decisioner k (feature recycling, Sec. III-B schema (b)): it takes the
previous segment's hidden states and decisioner output (segment 1: the search crop and the cached template tokens)
and returns its own, with s_k. Head k (``phi_k``) turns decisioner k's output into the box and corner maps; the
runner (``tracking/early_exit.py``) runs it only for the exit that answers. ``search.onnx`` stays the plain
full pass (every frame to the last exit), so tools that know only template + search still work.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from asymtrack_ros.export.graphs import boundary, export_graph
from asymtrack_ros.models.dytrack import DyTrack, DyTrackTemplate
from asymtrack_ros.tracking.checksums import sha256_file
from asymtrack_ros.tracking.manifest import (
    SEARCH_OUTPUTS,
    TEMPLATE_FILE,
    EarlyExitSpec,
    GraphSpec,
    head_file,
    segment_file,
)


def segment_names(model: DyTrack, exit: int) -> tuple[list[str], list[str]]:
    """(inputs, outputs) of segment ``exit``: ``hidden_<layer>`` (encoder states after that layer), ``recycled_<k>``
    (decisioner k's output), ``iou_<k>``; the last segment returns no hidden states (nothing follows it)."""
    last = exit == model.num_exits
    outputs = ([] if last else [f"hidden_{model.exit_layers[exit - 1]}"]) + [f"recycled_{exit}", f"iou_{exit}"]
    if exit == 1:
        return ["search", *DyTrackTemplate._fields], outputs
    return [f"hidden_{model.exit_layers[exit - 2]}", f"recycled_{exit - 1}"], outputs


class SegmentGraph(nn.Module):
    """Segment ``exit`` as a module of tensors only."""

    def __init__(self, model: DyTrack, exit: int) -> None:
        super().__init__()
        self.model = model
        self.exit = exit

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, ...]:
        model, exit = self.model, self.exit
        if exit == 1:
            hidden, recycled = model.embed_search(first, DyTrackTemplate(second)), None
        else:
            hidden, recycled = first, second
        segment = model.segment(exit, hidden, recycled)
        if exit == model.num_exits:
            return segment.recycled, segment.iou
        return tuple(segment)


class HeadGraph(nn.Module):
    """Box head ``exit``: decisioner output -> ``pred_boxes``, ``prob_tl``, ``prob_br``."""

    def __init__(self, model: DyTrack, exit: int) -> None:
        super().__init__()
        self.model = model
        self.exit = exit

    def forward(self, recycled: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model.locate(self.exit, recycled)
        return tuple(out[name] for name in SEARCH_OUTPUTS)


def segment_example(model: DyTrack) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero crops in the model's sizes: (template, search)."""
    config = model.config
    return (torch.zeros(1, 3, config.template_size, config.template_size),
            torch.zeros(1, 3, config.search_size, config.search_size))


def export_exit_graphs(model: DyTrack, directory: Path, opset: int, thresholds: tuple[float, ...]) -> EarlyExitSpec:
    """Write ``segment_<k>.onnx`` and ``head_<k>.onnx`` of a deploy-form model; their manifest section."""
    template, search = segment_example(model)
    with torch.no_grad():
        state = model.encode_template(template)
        inputs: tuple[torch.Tensor, torch.Tensor] = (search, state.template_tokens)
        segments, heads = [], []
        for exit in range(1, model.num_exits + 1):
            input_names, output_names = segment_names(model, exit)
            segment = SegmentGraph(model, exit)
            export_graph(segment, inputs, input_names, output_names, directory / segment_file(exit), opset)
            outputs = segment(*inputs)
            recycled = outputs[-2]
            export_graph(HeadGraph(model, exit), (recycled,), [f"recycled_{exit}"], SEARCH_OUTPUTS,
                         directory / head_file(exit), opset)
            segments.append(graph_spec(directory, segment_file(exit)))
            heads.append(graph_spec(directory, head_file(exit)))
            if exit < model.num_exits:
                inputs = (outputs[0], recycled)
    return EarlyExitSpec(thresholds, tuple(segments), tuple(heads))


def graph_spec(directory: Path, name: str) -> GraphSpec:
    """File name, checksum and boundary of one ONNX file of ``directory``."""
    inputs, outputs = boundary(directory / name)
    return GraphSpec(name, sha256_file(directory / name), inputs, outputs)


def exit_parity(model: DyTrack, directory: Path, spec: EarlyExitSpec, samples: int = 2, seed: int = 0) -> dict:
    """ORT (segment chain + every head) vs torch's full pass at every exit, on random crops (normal, seeded):
    ``exit_<k>_max_abs_diff`` over boxes, corner maps and the IoU prediction, and their maximum."""
    config = model.config
    rng = np.random.default_rng(seed)
    options = {"providers": ["CPUExecutionProvider"]}
    template_session = ort.InferenceSession(str(directory / TEMPLATE_FILE), **options)
    segments = [ort.InferenceSession(str(directory / g.file), **options) for g in spec.segments]
    heads = [ort.InferenceSession(str(directory / g.file), **options) for g in spec.heads]
    diffs = [0.0] * model.num_exits
    for _ in range(samples):
        template = rng.standard_normal((1, 3, config.template_size, config.template_size), dtype=np.float32)
        search = rng.standard_normal((1, 3, config.search_size, config.search_size), dtype=np.float32)
        with torch.no_grad():
            expected = model.exits(torch.from_numpy(search), model.encode_template(torch.from_numpy(template)))
        tensors = {"search": search, **dict(zip(DyTrackTemplate._fields, template_session.run(None, {
            "template": template}), strict=True))}
        for index, (segment, head, want) in enumerate(zip(segments, heads, expected, strict=True)):
            names = [node.name for node in segment.get_outputs()]
            tensors |= dict(zip(names, segment.run(None, {n.name: tensors[n.name] for n in segment.get_inputs()}),
                                strict=True))
            got = dict(zip(SEARCH_OUTPUTS, head.run(None, {f"recycled_{index + 1}": tensors[f"recycled_{index + 1}"]}),
                           strict=True))
            got["iou"] = tensors[f"iou_{index + 1}"]
            for name, value in got.items():
                diffs[index] = max(diffs[index], float(np.abs(value - want[name].numpy()).max()))
    return {"exits_max_abs_diff_vs_torch": max(diffs),
            **{f"exit_{index + 1}_max_abs_diff_vs_torch": diff for index, diff in enumerate(diffs)}}
