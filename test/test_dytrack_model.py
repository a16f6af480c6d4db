"""DyTrack model (no public code; built from the paper): sizes, per-exit shapes, fixed exits = prefixes, Eq. (1)."""

from __future__ import annotations

import json

import pytest
import torch

from asymtrack_ros.models.dytrack import (
    DEFAULT_EXIT_THRESHOLDS,
    NEVER_EXIT,
    DyTrack,
    backbone_params,
    exit_costs,
    module_params,
    validated_thresholds,
)
from asymtrack_ros.models.factory import available_models, build_model

torch.set_num_threads(1)

VIT_B16_PARAMS = 85.8e6  # ViT-B/16 (timm vit_base_patch16_224): 85.8 M


def seeded(variant: str, seed: int = 0) -> DyTrack:
    torch.manual_seed(seed)
    model = build_model("dytrack", variant)
    assert isinstance(model, DyTrack)
    with torch.no_grad():  # BatchNorm statistics that are not the identity, so that they matter
        for name, buffer in model.named_buffers():
            if name.endswith("running_var"):
                buffer.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                buffer.uniform_(-0.1, 0.1)
    return model.eval()


def crops(model: DyTrack, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    size_z, size_x = model.config.template_size, model.config.search_size
    template = torch.randn(1, 3, size_z, size_z, generator=generator)
    return template, torch.randn(1, 3, size_x, size_x, generator=generator)


@pytest.fixture(scope="module")
def tiny() -> DyTrack:
    return seeded("tiny")


def test_registered() -> None:
    assert available_models()["dytrack"] == ("tiny", "base")


@pytest.mark.parametrize("variant", ["tiny", "base"])
def test_parameter_counts(variant: str) -> None:
    model = build_model("dytrack", variant)
    assert isinstance(model, DyTrack)
    backbone, total = backbone_params(model), module_params(model)
    decisioners = sum(module_params(d) - module_params(d.box_head) for d in map(model.decisioner, (1, 2, 3)))
    heads = sum(module_params(model.decisioner(k).box_head) for k in (1, 2, 3))
    print(f"dytrack-{variant}: total {total:,} = backbone {backbone:,} + decisioners {decisioners:,} + heads {heads:,}")
    assert backbone + decisioners + heads == total
    if variant == "base":
        assert abs(backbone - VIT_B16_PARAMS) / VIT_B16_PARAMS < 0.01
    else:
        assert 5.4e6 < backbone < 5.8e6  # ViT-Ti/16 (5.7 M with its classifier)


def test_exit_costs(tiny: DyTrack) -> None:
    costs = exit_costs(tiny)
    for cost in costs:
        print(f"dytrack-tiny exit {cost.exit}: {cost.params:,} params, {cost.flops / 1e9:.2f} GFLOPs")
    assert [c.encoder_layers for c in costs] == [2, 6, 12]
    assert [c.adapter_layers for c in costs] == [2, 3, 3]
    assert costs[0].flops < costs[1].flops < costs[2].flops
    assert costs[2].flops > 2 * costs[0].flops


def test_exit_shapes(tiny: DyTrack) -> None:
    template, search = crops(tiny)
    with torch.no_grad():
        state = tiny.encode_template(template)
        assert state.template_tokens.shape == (1, 64, 192)
        hidden = tiny.embed_search(search, state)
        assert hidden.shape == (1, 1 + 64 + 256, 192)
        answers = tiny.exits(search, state)
    assert len(answers) == 3
    for answer in answers:
        assert answer["pred_boxes"].shape == (1, 4)
        assert answer["prob_tl"].shape == answer["prob_br"].shape == (1, 256)
        assert answer["iou"].shape == (1, 1)
        assert 0 <= float(answer["iou"]) <= 1


@pytest.mark.parametrize("exit", [1, 2, 3])
def test_fixed_exit_is_prefix_of_full_pass(tiny: DyTrack, exit: int) -> None:
    template, search = crops(tiny)
    with torch.no_grad():
        state = tiny.encode_template(template)
        full = tiny.exits(search, state)[exit - 1]
        fixed = tiny.track_exit(search, state, exit)
    for name in ("pred_boxes", "prob_tl", "prob_br", "iou"):
        assert torch.equal(fixed[name], full[name]), name
    assert int(fixed["exit"]) == exit


def test_eq1_routing(tiny: DyTrack) -> None:
    template, search = crops(tiny)
    with torch.no_grad():
        state = tiny.encode_template(template)
        full = tiny.exits(search, state)
        s1, s2 = (float(full[k]["iou"]) for k in (0, 1))
        cases = {(0.0, 0.0): 1, NEVER_EXIT: 3, (s1 + 1e-3, s2 - 1e-3): 2, (s1 - 1e-3, 0.0): 1}
        for thresholds, expected in cases.items():
            tiny.exit_thresholds = thresholds
            answer = tiny.track_search(search, state)
            assert int(answer["exit"]) == expected, thresholds
            assert torch.equal(answer["pred_boxes"], full[expected - 1]["pred_boxes"])
    tiny.exit_thresholds = DEFAULT_EXIT_THRESHOLDS


def test_fuse_keeps_outputs(tiny: DyTrack) -> None:
    template, search = crops(tiny)
    model = seeded("tiny")
    with torch.no_grad():
        expected = model.exits(search, model.encode_template(template))
        model.fuse(fold_batchnorm=True)
        fused = model.exits(search, model.encode_template(template))
    for before, after in zip(expected, fused, strict=True):
        torch.testing.assert_close(after["pred_boxes"], before["pred_boxes"], rtol=0, atol=1e-5)


def test_validated_thresholds() -> None:
    assert validated_thresholds([0.5, 1]) == (0.5, 1.0)
    for bad in ([0.5], [0.5, 0.5, 0.5], [float("nan"), 0.5]):
        with pytest.raises(ValueError, match="exit_thresholds"):
            validated_thresholds(bad)


def test_models_command_prints_each_exit_of_each_variant(capsys: pytest.CaptureFixture[str]) -> None:
    from asymtrack_ros.models.__main__ import main

    assert main(["--exits", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["variant"], row["exit"]) for row in rows] == [(v, k) for v in ("tiny", "base") for k in (1, 2, 3)]
    tiny = [row for row in rows if row["variant"] == "tiny"]
    assert [row["encoder_layers"] for row in tiny] == [2, 6, 12] and tiny[0]["gflops"] < tiny[2]["gflops"]
