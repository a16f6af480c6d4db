"""HiT model family against the official checkpoint layout and reference outputs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from asymtrack_ros.models.factory import build_model, model_family
from asymtrack_ros.models.hit import HiT
from asymtrack_ros.reference import vector_files

from conftest import as_tensor, read_keys_manifest, state_dict_from_vectors, vectors_or_skip

checkpoint_filter = model_family("hit").checkpoint_filter

VARIANTS = ("tiny", "small", "base")
BOX_ATOL = 1e-5
FEATURE_ATOL = 2e-4
VECTOR_FILES = vector_files("hit")

torch.set_num_threads(1)


@pytest.fixture(scope="module", params=VECTOR_FILES or [None], ids=lambda path: path.stem if path else "none")
def vectors(request: pytest.FixtureRequest) -> tuple[dict[str, np.ndarray], dict]:
    return vectors_or_skip(request.param, "hit")


@pytest.fixture(scope="module")
def keys_manifest() -> dict:
    return read_keys_manifest("hit")


tensor = as_tensor


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float, name: str) -> None:
    torch.testing.assert_close(actual, expected.reshape(actual.shape), rtol=0, atol=atol, msg=lambda m: f"{name}: {m}")


def key_layout(model: nn.Module) -> list[list]:
    """``[key, shape, dtype]`` per state-dict entry, in the manifest's format."""
    state = model.state_dict()
    return [[key, list(value.shape), str(value.dtype).removeprefix("torch.")] for key, value in state.items()]


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def manifest_param_count(entries: list[list], buffers: set[str]) -> int:
    """Parameters implied by a key list: every entry that is not a buffer (BN statistics, int64 index tables)."""
    return sum(math.prod(shape) for key, shape, _ in entries if key not in buffers)


def randomized(model: HiT, seed: int = 0) -> HiT:
    """Model with every float entry drawn at random, in eval mode; corner score maps get a std of ~6.

    Weights N(0, 1 / fan_in), BN scales 1 + N(0, 0.04), BN variances 1 + |N(0, 0.25)|, everything else N(0, 0.04).
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if not value.is_floating_point():
                continue
            sample = torch.randn(value.shape, generator=generator)
            if value.dim() >= 2 and not key.endswith("attention_biases"):
                value.copy_(sample / math.sqrt(value[0].numel()))
            elif key.endswith("running_var"):
                value.copy_(sample.abs() * 0.5 + 1.0)
            else:
                value.copy_(sample * 0.2 + (1.0 if key.endswith("weight") else 0.0))
    return model.eval()


def test_reference_outputs_unfused_and_fused(vectors: tuple[dict, dict]) -> None:
    arrays, meta = vectors
    model = build_model("hit", meta["variant"]).eval()  # eval before loading: no stale attention-bias cache
    state_dict = checkpoint_filter(state_dict_from_vectors(arrays, meta))
    for key, value in model.state_dict().items():
        if key.endswith("attention_bias_idxs"):  # our dual-image position tables equal the authors'
            assert torch.equal(value, state_dict[key]), key
    model.load_state_dict(state_dict, strict=True)
    template, search = tensor(arrays, "template"), tensor(arrays, "search")
    with torch.no_grad():
        unfused = model(template, search)
        assert_close(unfused["pred_boxes"], tensor(arrays, "pred_boxes_unfused"), BOX_ATOL, "pred_boxes_unfused")
        model.fuse()
        body = model.backbone.body
        features = body(body.embed(search), body.embed(template))
        for name, feature in zip(("feat_out0", "feat_out1", "feat_out2"), features, strict=True):
            assert_close(feature, tensor(arrays, name), FEATURE_ATOL, name)
        fused = model(template, search)
        assert_close(fused["pred_boxes"], tensor(arrays, "pred_boxes"), BOX_ATOL, "pred_boxes")
        tracked = model.track_search(search, model.encode_template(template))
    for key in ("pred_boxes", "prob_tl", "prob_br"):
        assert torch.equal(tracked[key], fused[key]), key
    assert fused["prob_tl"].shape == (1, 256)
    torch.testing.assert_close(fused["prob_tl"].sum(dim=1), torch.ones(1))


@pytest.mark.parametrize("variant", VARIANTS)
def test_hit_key_layout_and_param_counts_match_the_manifest_before_and_after_fusing(
    variant: str, keys_manifest: dict
) -> None:
    entry = keys_manifest[variant]
    buffers = set(entry["buffers"])
    model = build_model("hit", variant)
    assert model.config.variant == variant
    assert (model.config.template_size, model.config.search_size) == (128, 256)
    assert key_layout(model) == entry["checkpoint_keys"]
    # Parameters only: BN running statistics, num_batches_tracked and attention_bias_idxs are buffers.
    assert param_count(model) == manifest_param_count(entry["checkpoint_keys"], buffers)
    assert param_count(model) == entry["config"]["num_params_checkpoint_form"]
    model.fuse()
    assert key_layout(model) == entry["fused_keys_after_replace_batchnorm"]
    assert param_count(model) == entry["config"]["num_params_fused"]


def test_strict_load_reports_missing_key() -> None:
    model = build_model("hit", "tiny")
    state_dict = model.state_dict()
    missing = "backbone.body.blocks.4.attention_bias_idxs"
    del state_dict[missing]
    with pytest.raises(RuntimeError, match=f"Missing key.*{re.escape(missing)}"):
        build_model("hit", "tiny").load_state_dict(state_dict, strict=True)


def test_checkpoint_filter_strips_data_parallel_prefix() -> None:
    state_dict = build_model("hit", "tiny").state_dict()
    wrapped = {f"module.{key}": value for key, value in state_dict.items()}
    assert checkpoint_filter(wrapped).keys() == state_dict.keys()
    assert checkpoint_filter(state_dict).keys() == state_dict.keys()


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
def test_batch_of_two_equals_single_runs(fuse: bool) -> None:
    model = randomized(build_model("hit", "tiny"))
    if fuse:
        model.fuse()
    generator = torch.Generator().manual_seed(1)
    template = torch.randn(2, 3, 128, 128, generator=generator)
    search = torch.randn(2, 3, 256, 256, generator=generator)
    with torch.no_grad():
        batched = model(template, search)
        singles = [model(template[i : i + 1], search[i : i + 1]) for i in range(2)]
    for key in ("pred_boxes", "prob_tl", "prob_br"):
        assert_close(batched[key], torch.cat([single[key] for single in singles]), BOX_ATOL, key)


def test_training_mode_backpropagates_to_every_parameter() -> None:
    model = randomized(build_model("hit", "tiny")).train()
    generator = torch.Generator().manual_seed(2)
    output = model(torch.randn(2, 3, 128, 128, generator=generator), torch.randn(2, 3, 256, 256, generator=generator))
    (output["pred_boxes"].sum() + output["prob_tl"].square().sum()).backward()
    without_gradient = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.isfinite().all()]
    assert without_gradient == []


@pytest.mark.slow
def test_onnx_export_matches_pytorch(tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = randomized(build_model("hit", "tiny")).fuse()
    generator = torch.Generator().manual_seed(3)
    template = torch.randn(1, 3, 128, 128, generator=generator)
    search = torch.randn(1, 3, 256, 256, generator=generator)
    path = tmp_path / "hit_tiny.onnx"
    torch.onnx.export(
        model,
        (template, search),
        path,
        input_names=["template", "search"],
        output_names=["pred_boxes", "prob_tl", "prob_br"],
        opset_version=18,
        dynamo=True,
        verbose=False,
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"template": template.numpy(), "search": search.numpy()})
    with torch.no_grad():
        expected = model(template, search)
    for name, actual in zip(("pred_boxes", "prob_tl", "prob_br"), outputs, strict=True):
        assert_close(torch.from_numpy(actual), expected[name], 1e-5, name)
