"""Reduced-precision graphs derived from the validated fp32 ones; graph inputs and outputs stay float32.

* ``fp16`` (for GPU providers; onnxruntime's CPU provider runs it too, slowly): both graphs in float16,
  except the nodes whose activations on calibration crops come near the float16 range (AsymTrack's
  ETM prototypes are sums over the feature map and can reach 1e5 and far beyond): those stay fp32.
* ``int8`` (for CPU): ``search.onnx`` statically quantised, QDQ format, per-channel int8 weights and
  uint8 activations calibrated (min/max) on generated crops. Only nodes where int8 pays off are quantised
  (:func:`quantizable_nodes`; each rule measured with onnxruntime 1.31 on an AVX-512 VNNI CPU, 1 thread):

  - Conv, Gemm and MatMul with a weight operand; element-wise ops stay fp32 (their Quantize/Dequantize
    work exceeds the saving on these small maps), and so do activation x activation MatMuls (attention,
    dynamic prototype kernels: the most range-sensitive);
  - dense convolutions only: onnxruntime's int8 depthwise and 3-channel (RGB stem) convolutions ran up to
    2.6x slower than its fp32 NCHWc kernels;
  - products with a reduction depth of at least ``INT8_MIN_DEPTH``: below it the int8 GEMM plus the bias
    Add it can no longer fuse cost more than the fp32 Gemm;
  - more than ``INT8_NARROW_OUTPUT`` output channels: the narrow ones (corner score maps, kernel and
    attention projections) cost nothing in fp32 and their rounding goes straight into the boxes (6 of 33
    AsymTrack-T nodes, half of the per-step box deviation on the Megamind frames);
  - inputs within ``INT8_SAFE_PEAK`` on the calibration crops: one uint8 step of a wider range is
    coarser than the features it carries (AsymTrack's ETM weight and MLP-output MatMuls).

  ``template.onnx`` stays fp32 (it runs once per target).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from tempfile import TemporaryDirectory

import onnx
from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from onnxruntime.transformers.float16 import convert_float_to_float16
from onnxruntime.transformers.onnx_model import OnnxModel

from asymtrack_ros.export.calibration import FeedReader, activation_peaks, calibration_feeds
from asymtrack_ros.tracking.manifest import SEARCH_FILE, TEMPLATE_FILE

FP16_SAFE_PEAK = 2048.0  # float16 tops out at 65504: a 32x margin for inputs beyond the calibration crops
INT8_SAFE_PEAK = 16.0  # |activation| above which a node's input stays fp32 (uint8 step > 0.12)
INT8_MIN_DEPTH = 128  # shortest reduction (input features) of a MatMul/Gemm worth quantising
INT8_NARROW_OUTPUT = 4  # nodes with at most this many output channels stay fp32
LOGGER = logging.getLogger(__name__)


def convert_fp16(source: Path, target: Path, calibration_samples: int = 32) -> dict[str, int]:
    """Both graphs to float16 inside; returns the number of nodes kept in fp32 per file."""
    feeds = calibration_feeds(source, calibration_samples)
    kept = {}
    for name in (TEMPLATE_FILE, SEARCH_FILE):
        model = onnx.load(str(source / name))
        peaks = activation_peaks(source / name, feeds[name])
        large = [node.name for node in model.graph.node
                 if any(peaks.get(tensor, 0.0) > FP16_SAFE_PEAK for tensor in [*node.input, *node.output])]
        converted = OnnxModel(convert_float_to_float16(model, keep_io_types=True, node_block_list=large))
        simplify_casts(converted.model.graph)
        converted.topological_sort()  # the converter appends its boundary casts after their consumers
        onnx.save(converted.model, str(target / name))
        onnx.checker.check_model(str(target / name), full_check=True)
        kept[name] = len(large)
    LOGGER.info("fp16: nodes kept in fp32 (activations above %.0f): %s", FP16_SAFE_PEAK, kept)
    return kept


def _cast_target(node: onnx.NodeProto) -> int | None:
    return next((attr.i for attr in node.attribute if attr.name == "to"), None) if node.op_type == "Cast" else None


def simplify_casts(graph: onnx.GraphProto) -> None:
    """Repair and tidy the float16 converter's casts, in place.

    * Two blocked consumers of one float16 tensor get two identical Casts of one name: keep the first.
    * float32 -> float16 -> float32 round trips (a graph input or a blocked node's output feeding blocked
      nodes) would still clip to the float16 range: they become an Identity of the float32 tensor.
    """
    produced: set[str] = set()
    for node in list(graph.node):
        if produced.intersection(node.output):
            graph.node.remove(node)
        produced.update(node.output)
    producers = {output: node for node in graph.node for output in node.output}
    for node in list(graph.node):
        source = producers.get(node.input[0]) if node.input else None
        if _cast_target(node) == onnx.TensorProto.FLOAT and source is not None \
                and _cast_target(source) == onnx.TensorProto.FLOAT16:
            node.op_type, node.input[0] = "Identity", source.input[0]
            del node.attribute[:]
    used = {name for node in graph.node for name in node.input} | {value.name for value in graph.output}
    for node in list(graph.node):
        if node.op_type == "Cast" and not used.intersection(node.output):
            graph.node.remove(node)


def _attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    return next((attr.i for attr in node.attribute if attr.name == name), default)


def _int8_pays_off(node: onnx.NodeProto, weight: onnx.TensorProto) -> bool:
    """The shape rules of the module docstring for a Conv, Gemm or MatMul with ``weight``."""
    if node.op_type == "Conv":  # weight (out, in / group, kh, kw)
        return _attribute(node, "group", 1) == 1 and weight.dims[1] > 3 and weight.dims[0] > INT8_NARROW_OUTPUT
    if len(weight.dims) < 2:
        return False
    depth, outputs = weight.dims[-2], weight.dims[-1]
    if node.op_type == "Gemm" and _attribute(node, "transB", 0):
        depth, outputs = outputs, depth
    return depth >= INT8_MIN_DEPTH and outputs > INT8_NARROW_OUTPUT


def quantizable_nodes(model: onnx.ModelProto, peaks: dict[str, float] | None = None) -> list[str]:
    """Conv, Gemm and MatMul nodes with a weight (second input) that pass the shape rules (module docstring) and
    whose activation inputs stay within ``INT8_SAFE_PEAK`` in ``peaks`` (tensor name -> largest |value| on
    calibration inputs)."""
    weights = {initializer.name: initializer for initializer in model.graph.initializer}
    peaks = peaks or {}
    selected = []
    for node in model.graph.node:
        weight = next((weights[name] for name in node.input[1:2] if name in weights), None)
        if node.op_type in ("Conv", "Gemm", "MatMul") and weight is not None and _int8_pays_off(node, weight) \
                and all(peaks.get(tensor, 0.0) <= INT8_SAFE_PEAK for tensor in node.input if tensor not in weights):
            selected.append(node.name)
    return selected


def quantize_int8(source: Path, target: Path, calibration_samples: int = 32) -> None:
    """Static QDQ quantisation of ``search.onnx``; ``template.onnx`` is copied unchanged."""
    shutil.copyfile(source / TEMPLATE_FILE, target / TEMPLATE_FILE)
    feeds = calibration_feeds(source, calibration_samples)[SEARCH_FILE]
    root = logging.getLogger()  # onnxruntime.quantization logs a notice per tensor on the root logger
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with TemporaryDirectory() as scratch:
            prepared = Path(scratch) / SEARCH_FILE
            # shape inference only: onnxruntime's pre-optimisation (MatMul+Add -> Gemm) measured slower here
            quant_pre_process(str(source / SEARCH_FILE), str(prepared), skip_optimization=True)
            quantize_static(
                str(prepared), str(target / SEARCH_FILE), FeedReader(feeds), quant_format=QuantFormat.QDQ,
                nodes_to_quantize=quantizable_nodes(onnx.load(str(prepared)), activation_peaks(prepared, feeds)),
                per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            )
    finally:
        root.setLevel(level)
    onnx.checker.check_model(str(target / SEARCH_FILE), full_check=True)
