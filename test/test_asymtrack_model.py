"""AsymTrack model family against the official checkpoint layout and reference outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from asymtrack_ros.models.asymtrack import OPE, AsymTrack
from asymtrack_ros.models.factory import available_models, build_model, model_family
from asymtrack_ros.reference import vector_files

from conftest import as_tensor, read_keys_manifest, state_dict_from_vectors, vectors_or_skip

checkpoint_filter = model_family("asymtrack").checkpoint_filter

VARIANTS = ("tiny", "small", "base")
BOX_ATOL = 1e-5
FEATURE_ATOL = 2e-4
VECTOR_FILES = vector_files("asymtrack")

torch.set_num_threads(1)


@pytest.fixture(scope="module", params=VECTOR_FILES or [None], ids=lambda path: path.stem if path else "none")
def vectors(request: pytest.FixtureRequest) -> tuple[dict[str, np.ndarray], dict]:
    return vectors_or_skip(request.param, "asymtrack")


@pytest.fixture(scope="module")
def keys_manifest() -> dict:
    return read_keys_manifest("asymtrack")


tensor = as_tensor


def loaded_model(arrays: dict[str, np.ndarray], meta: dict) -> AsymTrack:
    """Fresh model of the file's variant with its weights, strictly loaded, in eval mode."""
    model = build_model("asymtrack", meta["variant"])
    model.load_state_dict(checkpoint_filter(state_dict_from_vectors(arrays, meta)), strict=True)
    return model.eval()


def assert_boxes(actual: torch.Tensor, arrays: dict[str, np.ndarray], key: str) -> None:
    expected = tensor(arrays, key).reshape(actual.shape)
    torch.testing.assert_close(actual, expected, rtol=0, atol=BOX_ATOL, msg=lambda m: f"{key}: {m}")


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_strict_load_and_training_form_forward(vectors: tuple[dict, dict]) -> None:
    arrays, meta = vectors
    model = loaded_model(arrays, meta)
    template, search = tensor(arrays, "template"), tensor(arrays, "search")
    with torch.no_grad():
        assert_boxes(model(template, search)["pred_boxes"], arrays, "pred_boxes_train")
        model.train()
        assert_boxes(model(template, search)["pred_boxes"], arrays, "pred_boxes_train_bnbatch")


def test_template_state_matches_official_caches(vectors: tuple[dict, dict]) -> None:
    arrays, meta = vectors
    model = loaded_model(arrays, meta)
    with torch.no_grad():
        state = model.encode_template(tensor(arrays, "template"))
    etm_keys = sorted(key for key in arrays if key.startswith("cache__etm_kernels__"))
    references = [*(tensor(arrays, key) for key in etm_keys), tensor(arrays, "cache__attn_template_tokens__0")]
    for name, actual, expected in zip(state._fields, state, references, strict=True):
        # Prototypes are sums over the template map (|values| up to ~1e5): compare relative to their scale.
        atol = 2e-5 * expected.abs().max().item()
        torch.testing.assert_close(actual, expected, rtol=0, atol=atol, msg=lambda m, n=name: f"{n}: {m}")


def test_cached_search_pass_matches_deploy(vectors: tuple[dict, dict]) -> None:
    arrays, meta = vectors
    model = loaded_model(arrays, meta)
    template, search, search2 = (tensor(arrays, key) for key in ("template", "search", "search2"))
    with torch.no_grad():
        joint = model(template, search)
        state = model.encode_template(template)
        cached = model.track_search(search, state)
        for key in ("pred_boxes", "prob_tl", "prob_br"):
            torch.testing.assert_close(cached[key], joint[key], rtol=0, atol=1e-6)
        assert joint["prob_tl"].shape == (1, model.feat_size**2)
        torch.testing.assert_close(joint["prob_tl"].sum(dim=1), torch.ones(1))

        assert model.fuse() is model
        assert_boxes(model.track_search(search, state)["pred_boxes"], arrays, "pred_boxes_deploy")
        assert_boxes(model.track_search(search2, state)["pred_boxes"], arrays, "pred_boxes_deploy_search2")
        fused_state = model.encode_template(template)
        assert_boxes(model.track_search(search, fused_state)["pred_boxes"], arrays, "pred_boxes_deploy")
        assert_boxes(model(template, search)["pred_boxes"], arrays, "pred_boxes_deploy_first")
        features = model.backbone(search, fused_state)
    torch.testing.assert_close(features, tensor(arrays, "deploy_feat_out1"), rtol=0, atol=FEATURE_ATOL)


def test_fused_reparam_weights_match_official(vectors: tuple[dict, dict]) -> None:
    arrays, meta = vectors
    model = loaded_model(arrays, meta).fuse()
    fused = {f"deploy__{name}.rbr_reparam.weight": m for name, m in model.named_modules() if isinstance(m, OPE)}
    assert sorted(fused) == sorted(key for key in arrays if key.startswith("deploy__"))
    for key, module in fused.items():
        torch.testing.assert_close(module.rbr_reparam.weight, tensor(arrays, key), rtol=0, atol=1e-5)


def test_batch_results_equal_single_samples(vectors: tuple[dict, dict]) -> None:
    arrays, meta = vectors
    model = loaded_model(arrays, meta)
    templates = torch.cat([tensor(arrays, "template"), tensor(arrays, "template").flip(-1)])
    searches = torch.cat([tensor(arrays, "search"), tensor(arrays, "search2")])
    with torch.no_grad():
        batched = model(templates, searches)
        for i in range(2):
            single = model(templates[i: i + 1], searches[i: i + 1])
            for key, value in single.items():
                torch.testing.assert_close(batched[key][i: i + 1], value, rtol=0, atol=BOX_ATOL)


@pytest.mark.parametrize("variant", VARIANTS)
def test_state_dict_layout_and_param_counts(variant: str, keys_manifest: dict) -> None:
    manifest = keys_manifest[variant]
    model = build_model("asymtrack", variant)
    config = manifest["config"]
    assert (model.config.template_size, model.config.search_size) == (config["template_size"], config["search_size"])
    assert (model.config.template_factor, model.config.search_factor) == (2.0, 4.0)

    def layout(module: nn.Module) -> list[tuple[str, list[int]]]:
        return [(key, list(value.shape)) for key, value in module.state_dict().items()]

    assert layout(model) == [(key, shape) for key, shape, _ in manifest["checkpoint_keys"]]
    assert param_count(model) == config["num_params_train_form"]

    model.fuse()
    assert layout(model) == [(key, shape) for key, shape, _ in manifest["deploy_keys"]]
    assert param_count(model) == config["num_params_deploy"]

    batchnorm_affine = sum(
        param_count(m) for m in model.box_head.modules() if isinstance(m, nn.BatchNorm2d)
    )
    model.fuse(fold_batchnorm=True)
    assert param_count(model) == config["num_params_deploy"] - batchnorm_affine


def test_gradients_flow_as_officially(keys_manifest: dict) -> None:
    model = build_model("asymtrack", "tiny").train()
    size = model.config
    template = torch.randn(2, 3, size.template_size, size.template_size)
    search = torch.randn(2, 3, size.search_size, size.search_size)
    model(template, search)["pred_boxes"].sum().backward()
    without_gradient = {name for name, p in model.named_parameters() if p.grad is None}
    assert without_gradient == set(keys_manifest["tiny"]["params_without_gradient_in_train_forward"])


@pytest.mark.parametrize("change", ["missing", "renamed"])
def test_strict_load_rejects_bad_keys(change: str) -> None:
    model = build_model("asymtrack", "tiny")
    state = dict(model.state_dict())
    key = "backbone.layers.1.blocks.2.pre_kernels.weight"
    value = state.pop(key)
    if change == "renamed":
        state[key.replace("pre_kernels", "prekernels")] = value
    with pytest.raises(RuntimeError, match=r"pre_kernels\.weight"):
        model.load_state_dict(state, strict=True)


def test_checkpoint_filter_strips_data_parallel_prefix() -> None:
    state = build_model("asymtrack", "t").state_dict()
    wrapped = {f"module.{key}": value for key, value in state.items()}
    assert list(checkpoint_filter(wrapped)) == list(state)
    assert checkpoint_filter(state).keys() == state.keys()


def test_family_registers_its_builder_and_checkpoint_filter() -> None:
    assert available_models()["asymtrack"] == ("tiny", "small", "base")
    assert model_family("AsymTrack").checkpoint_filter is checkpoint_filter
    with pytest.raises(ValueError, match="unknown model"):
        model_family("stark")
