"""Reduced-precision graphs derived from the validated fp32 ones; graph inputs and outputs stay float32.

* ``fp16`` (for GPU providers; onnxruntime's CPU provider runs it too, slowly): both graphs in float16,
  except the nodes whose activations on calibration crops come near the float16 range (AsymTrack's
  ETM prototypes are sums over the feature map and can reach 1e5 and far beyond): those stay fp32.
* ``int8`` (for CPU): ``search.onnx`` statically quantised, QDQ format, per-channel int8 weights and
  uint8 activations calibrated (min/max) on generated crops. Only Conv, Gemm and MatMul with a weight
  operand are quantised: quantising element-wise ops adds more Quantize/Dequantize work than it saves on
  these small maps, and activation x activation MatMuls (attention, dynamic prototype kernels) are the
  most range-sensitive. Nodes whose input activations reach beyond ``INT8_SAFE_PEAK`` on the calibration
  crops stay fp32 too: one uint8 step of such a range is coarser than the features it carries (AsymTrack's
  ETM weight and MLP-output MatMuls; with our trained model this took the per-step box deviation on the
  Megamind frames from 2.7 to 0.9 px). ``template.onnx`` stays fp32 (it runs once per target).
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
from asymtrack_ros.tracking.model_dir import SEARCH_FILE, TEMPLATE_FILE

FP16_SAFE_PEAK = 2048.0  # float16 tops out at 65504: a 32x margin for inputs beyond the calibration crops
INT8_SAFE_PEAK = 16.0  # |activation| above which a node's input stays fp32 (uint8 step > 0.12)
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


def quantizable_nodes(model: onnx.ModelProto, peaks: dict[str, float] | None = None) -> list[str]:
    """Conv and Gemm nodes, and MatMul nodes with a constant (weight) operand, whose activation inputs stay
    within ``INT8_SAFE_PEAK`` in ``peaks`` (tensor name -> largest |value| on calibration inputs)."""
    weights = {initializer.name for initializer in model.graph.initializer}
    peaks = peaks or {}
    return [
        node.name for node in model.graph.node
        if (node.op_type in ("Conv", "Gemm") or (node.op_type == "MatMul" and weights.intersection(node.input)))
        and all(peaks.get(tensor, 0.0) <= INT8_SAFE_PEAK for tensor in node.input if tensor not in weights)
    ]


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
