"""DyTrack (Zhu et al., "Exploring Dynamic Transformer for Efficient Object Tracking"): a one-stream ViT with
K = 3 early exits.

No public code exists: this module follows the paper (``shared/papers/dytrack.txt``) section by section.

- Sec. III-A, "Feature Extraction and Box Head": template (128 px, crop factor 2) and search region (256 px,
  factor 4) are split into 16 px patches, projected, given position embeddings and concatenated after a learned
  IoU token, ``O^0 = [O_s, O_z, O_x]``; a stack of ViT encoder layers processes all tokens jointly.
- Sec. IV-A, "Model": exits after encoder layers 2, 6 and 12; decisioner adapters of 2, 1 and 0 transformer
  layers.
- Sec. III-A, "Decisioner Network", and III-B, schema (b): decisioner k adds the previous decisioner's output
  element-wise to its input features (Eq. 2; decisioner 1 gets the encoder features alone), runs its adapter, a
  3-layer MLP on the IoU token predicts the frame's IoU ``s_k`` and, after a linear projection, the search
  tokens feed exit k's corner head.
- Eq. (1): the answer comes from the first exit with ``s_k > tau_k``; the last exit always answers. Only the
  answering exit runs its box head (the others need only their IoU token and the recycled features).

Deviations, each a choice the paper leaves open or a reuse asked for: the box heads are the shared STARK corner
head (``heads.py``) with plain conv+BN layers (the paper uses RepVGG blocks, an inference-time re-parametrisation
of the same 3x3 convolutions); ``s_k`` is a sigmoid so that it lies in [0, 1] like an IoU; the decisioner output
that is recycled is its adapter's output (before the LayerNorm that feeds the IoU MLP and the projection).
The paper gives no numeric ``tau_k``: :data:`DEFAULT_EXIT_THRESHOLDS` serves a network built here; an export
records a trained model's own, picked from its speed/accuracy curve (``asymtrack-export --exit-thresholds``,
``evaluation/exit_curve.py``; the shipped ``models/dytrack-tiny`` has 0.6, 0.6). Training (target-aware
self-distillation, Sec. III-C; two stages, Sec. IV-A) is in ``training/distillation.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.models.heads import CornerHead, fuse_corner_head, xyxy_to_cxcywh
from asymtrack_ros.models.network import TrackerNetwork, typed_module
from asymtrack_ros.models.registry import register_model, strip_data_parallel_prefix

PATCH_SIZE = 16
EXIT_LAYERS = (2, 6, 12)  # Sec. IV-A: exits after encoder layers 2, 6 and 12
ADAPTER_DEPTHS = (2, 1, 0)  # Sec. IV-A: adapter transformer layers of decisioners 1, 2, 3
DEFAULT_EXIT_THRESHOLDS = (0.7, 0.7)  # tau_1, tau_2 (Eq. 1) of an untrained build; see the module docstring
NEVER_EXIT = (1.0, 1.0)  # s_k is a sigmoid, never > 1: every frame runs to the last exit


@dataclass(frozen=True)
class DyTrackSpec:
    """ViT width, heads and depth, MLP ratio and the corner head's channels of one variant."""

    width: int
    heads: int
    depth: int = 12
    mlp_ratio: int = 4
    head_channels: int = 256


VARIANTS: dict[str, DyTrackSpec] = {
    "tiny": DyTrackSpec(width=192, heads=3, head_channels=128),  # ViT-Ti/16 encoder
    "base": DyTrackSpec(width=768, heads=12),  # Sec. IV-A: ViT-B/16 (the paper's DyTrack)
}


class Attention(nn.Module):
    """Multi-head self-attention over all tokens (timm names ``qkv``, ``proj``)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(batch, tokens, dim))


class Block(nn.Module):
    """Pre-norm ViT encoder layer (timm names ``norm1``, ``attn``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential()
        self.mlp.add_module("fc1", nn.Linear(dim, dim * mlp_ratio))
        self.mlp.add_module("act", nn.GELU())
        self.mlp.add_module("fc2", nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def iou_mlp(dim: int) -> nn.Sequential:
    """Sec. III-A: the 3-layer MLP on the IoU token (dim -> dim -> dim -> 1, ReLU between)."""
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 1))


class Decisioner(nn.Module):
    """Decisioner pi_k and box head phi_k of one exit (Sec. III-A, "Decisioner Network"; Sec. III-B schema (b)).

    ``decide``: Comp(h_k, h_{k-1}^R) = h_k + h_{k-1}^R (Eq. 2, schema (b)), the adapter, and s_k from the IoU
    token; ``locate``: the projected search tokens through the corner head.
    """

    def __init__(self, spec: DyTrackSpec, adapter_depth: int, search_side: int) -> None:
        super().__init__()
        dim = spec.width
        self.search_side = search_side
        self.adapter = nn.Sequential(*(Block(dim, spec.heads, spec.mlp_ratio) for _ in range(adapter_depth)))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.iou_head = iou_mlp(dim)
        self.proj = nn.Linear(dim, spec.head_channels)
        stride = PATCH_SIZE
        self.box_head = CornerHead(spec.head_channels, spec.head_channels, feat_size=search_side, stride=stride)

    def decide(self, features: torch.Tensor, recycled: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder features (B, N, D) (+ the previous decisioner's output) -> this decisioner's output (B, N, D)
        and s_k (B, 1) in [0, 1]."""
        composite = features if recycled is None else features + recycled
        output = self.adapter(composite)
        return output, torch.sigmoid(self.iou_head(self.norm(output[:, :1]))).flatten(1)

    def search_features(self, output: torch.Tensor) -> torch.Tensor:
        """Decisioner output -> the projected search tokens as a map (B, C, side, side): the box head's input and
        the feature f_k that target-aware self-distillation (Sec. III-C) compares across exits."""
        side = self.search_side
        tokens = self.proj(self.norm(output[:, -side * side :]))
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, side, side)

    def locate_features(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Search feature map -> ``pred_boxes`` (B, 4) cx, cy, w, h in the search crop, ``prob_tl``/``prob_br``."""
        corners = self.box_head(features)
        return {"pred_boxes": xyxy_to_cxcywh(corners["boxes_xyxy"]), "prob_tl": corners["prob_tl"],
                "prob_br": corners["prob_br"]}

    def locate(self, output: torch.Tensor) -> dict[str, torch.Tensor]:
        """Decisioner output -> the box head's answer (:meth:`locate_features` of :meth:`search_features`)."""
        return self.locate_features(self.search_features(output))


class DyTrackTemplate(NamedTuple):
    """Template state: the template's patch tokens with their position embedding (B, Nz, D).

    One-stream (Sec. III-A): every encoder layer mixes template and search tokens, so only the embedding of the
    template is cached; the encoder runs on template + search every frame.
    """

    template_tokens: torch.Tensor


class Segment(NamedTuple):
    """What the encoder layers up to exit k and decisioner k give: the encoder's hidden states (input of the next
    segment), the decisioner output h_k^R (recycled by the next decisioner, read by box head k) and s_k (B, 1)."""

    hidden: torch.Tensor
    recycled: torch.Tensor
    iou: torch.Tensor


class DyTrack(TrackerNetwork):
    """DyTrack network; ``track_search`` answers per Eq. (1) with ``exit_thresholds`` (tau_1..tau_{K-1}).

    The per-exit pieces (``embed_search``, ``segment``, ``locate``) are what the ONNX export cuts into one graph
    per segment, so that ONNX Runtime stops early too.
    """

    def __init__(self, variant: str) -> None:
        super().__init__()
        spec = VARIANTS[variant]
        self.spec = spec
        self.config = ModelConfig(name="dytrack", variant=variant, template_size=128, search_size=256)
        self.exit_layers = EXIT_LAYERS
        self.exit_thresholds: tuple[float, ...] = DEFAULT_EXIT_THRESHOLDS
        dim = spec.width
        template_side, search_side = self.config.template_size // PATCH_SIZE, self.config.search_size // PATCH_SIZE
        self.patch_embed = nn.Conv2d(3, dim, PATCH_SIZE, PATCH_SIZE)
        self.pos_embed_z = nn.Parameter(torch.zeros(1, template_side**2, dim))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, search_side**2, dim))
        self.iou_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.Sequential(*(Block(dim, spec.heads, spec.mlp_ratio) for _ in range(spec.depth)))
        self.decisioners = nn.ModuleList(Decisioner(spec, depth, search_side) for depth in ADAPTER_DEPTHS)
        for parameter in (self.pos_embed_z, self.pos_embed_x, self.iou_token):
            nn.init.trunc_normal_(parameter, std=0.02)

    @property
    def num_exits(self) -> int:
        return len(self.exit_layers)

    def decisioner(self, exit: int) -> Decisioner:
        """Decisioner of ``exit`` (1..K)."""
        return typed_module(self.decisioners[exit - 1], Decisioner)

    def _embed(self, image: torch.Tensor) -> torch.Tensor:
        return self.patch_embed(image).flatten(2).transpose(1, 2)

    def encode_template(self, template: torch.Tensor) -> DyTrackTemplate:
        """Template image (B, 3, 128, 128) -> its patch tokens + position embedding (Sec. III-A)."""
        return DyTrackTemplate(self._embed(template) + self.pos_embed_z)

    def embed_search(self, search: torch.Tensor, state: DyTrackTemplate) -> torch.Tensor:
        """Search image (B, 3, 256, 256) + template state -> ``O^0 = [O_s, O_z, O_x]`` (B, 1 + Nz + Nx, D)."""
        search_tokens = self._embed(search) + self.pos_embed_x
        iou_token = self.iou_token.expand(search.shape[0], -1, -1)
        return torch.cat((iou_token, state.template_tokens, search_tokens), dim=1)

    def segment(self, exit: int, hidden: torch.Tensor, recycled: torch.Tensor | None) -> Segment:
        """Encoder layers after exit ``exit - 1`` up to exit ``exit``, then decisioner ``exit`` (Eq. 2, schema (b))."""
        start = self.exit_layers[exit - 2] if exit > 1 else 0
        hidden = self.blocks[start : self.exit_layers[exit - 1]](hidden)
        output, iou = self.decisioner(exit).decide(hidden, recycled)
        return Segment(hidden, output, iou)

    def locate(self, exit: int, recycled: torch.Tensor) -> dict[str, torch.Tensor]:
        """Box head phi_k of ``exit`` on its decisioner output."""
        return self.decisioner(exit).locate(recycled)

    def exits(self, search: torch.Tensor, state: DyTrackTemplate) -> list[dict[str, torch.Tensor]]:
        """Every exit's answer (the full forward pass, training and tests): per exit ``pred_boxes``, ``prob_tl``,
        ``prob_br`` and ``iou`` (B, 1)."""
        hidden, recycled, answers = self.embed_search(search, state), None, []
        for exit in range(1, self.num_exits + 1):
            hidden, recycled, iou = self.segment(exit, hidden, recycled)
            answers.append({**self.locate(exit, recycled), "iou": iou})
        return answers

    def track_exit(self, search: torch.Tensor, state: DyTrackTemplate, exit: int) -> dict[str, torch.Tensor]:
        """The answer of ``exit`` (1..K), computing only what it needs (a fixed exit, Sec. IV-C "Fixed vs adaptive
        exiting")."""
        return self._answer(search, state, lambda k, _: k == exit)

    def track_search(self, search: torch.Tensor, state: DyTrackTemplate) -> dict[str, torch.Tensor]:
        """Eq. (1): the first exit k with s_k > tau_k answers (all samples of the batch must agree), the last exit
        always. ``pred_boxes``, ``prob_tl``, ``prob_br``, ``iou`` (B, 1) = s_k and ``exit`` (B,) of that exit.

        A threshold >= 1 never exits (s_k <= 1) and is skipped without a comparison, so a traced graph with
        :data:`NEVER_EXIT` thresholds is the plain full pass.
        """
        thresholds = self.exit_thresholds

        def answers(exit: int, iou: torch.Tensor) -> bool:
            if exit == self.num_exits:
                return True
            threshold = thresholds[exit - 1]
            return threshold < 1 and bool((iou > torch.tensor(threshold, dtype=iou.dtype)).all())

        return self._answer(search, state, answers)

    def _answer(
        self, search: torch.Tensor, state: DyTrackTemplate, stop: Callable[[int, torch.Tensor], bool]
    ) -> dict[str, torch.Tensor]:
        hidden, recycled = self.embed_search(search, state), None
        for exit in range(1, self.num_exits + 1):
            hidden, recycled, iou = self.segment(exit, hidden, recycled)
            if stop(exit, iou) or exit == self.num_exits:
                exit_index = torch.full((search.shape[0],), exit, dtype=torch.long)
                return {**self.locate(exit, recycled), "iou": iou, "exit": exit_index}
        raise AssertionError("unreachable: the last exit always answers")

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict[str, torch.Tensor]:
        """One tracking step from images: ``track_search(search, encode_template(template))``."""
        return self.track_search(search, self.encode_template(template))

    def fuse(self, fold_batchnorm: bool = False) -> DyTrack:
        """Deploy form, in place (eval mode); ``fold_batchnorm`` folds the corner heads' BatchNorms (the export)."""
        if fold_batchnorm:
            for exit in range(1, self.num_exits + 1):
                fuse_corner_head(self.decisioner(exit).box_head)
        return self.eval()


def validated_thresholds(thresholds: Sequence[float], num_exits: int = len(EXIT_LAYERS)) -> tuple[float, ...]:
    """tau_1..tau_{K-1} (Eq. 1) as floats; ValueError unless there are K - 1 finite numbers."""
    values = tuple(float(t) for t in thresholds)
    if len(values) != num_exits - 1 or not all(abs(v) != float("inf") and v == v for v in values):
        raise ValueError(f"exit_thresholds needs {num_exits - 1} finite numbers (tau_1..tau_{num_exits - 1}), "
                         f"got {tuple(thresholds)!r}")
    return values


@dataclass(frozen=True)
class ExitCost:
    """Parameters and FLOPs (2 per multiply-accumulate; matmuls and convolutions, as FlopCounterMode counts) of
    answering at one exit, batch 1."""

    exit: int
    encoder_layers: int
    adapter_layers: int
    params: int
    flops: int


def module_params(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def backbone_parameters(model: DyTrack) -> list[nn.Parameter]:
    """The one-stream ViT encoder's parameters: patch embedding, position embeddings, IoU token, encoder layers."""
    parts = (model.patch_embed, model.blocks)
    return [model.pos_embed_z, model.pos_embed_x, model.iou_token, *(p for part in parts for p in part.parameters())]


def backbone_params(model: DyTrack) -> int:
    """Number of parameters of the one-stream ViT encoder (:func:`backbone_parameters`)."""
    return sum(p.numel() for p in backbone_parameters(model))


def exit_costs(model: DyTrack) -> list[ExitCost]:
    """Per exit k: the parameters a frame answered at k uses (encoder to layer e_k, decisioners 1..k, head k) and
    its FLOPs, counted by ``torch.utils.flop_counter.FlopCounterMode`` on :meth:`DyTrack.track_exit`."""
    config = model.config
    template = torch.zeros(1, 3, config.template_size, config.template_size)
    search = torch.zeros(1, 3, config.search_size, config.search_size)
    costs = []
    with torch.no_grad():
        state = model.encode_template(template)
        for exit, layer in enumerate(model.exit_layers, start=1):
            counter = FlopCounterMode(display=False)
            with counter:
                model.track_exit(search, state, exit)
            blocks = typed_module(model.blocks, nn.Sequential)
            used = sum(module_params(block) for block in list(blocks)[:layer])
            used += backbone_params(model) - module_params(model.blocks)
            used += sum(module_params(model.decisioner(k)) - module_params(model.decisioner(k).box_head)
                        for k in range(1, exit + 1))
            used += module_params(model.decisioner(exit).box_head)
            adapters = sum(ADAPTER_DEPTHS[:exit])
            costs.append(ExitCost(exit, layer, adapters, used, counter.get_total_flops()))
    return costs



@register_model("dytrack", tuple(VARIANTS), strip_data_parallel_prefix)
def build_dytrack(variant: str) -> DyTrack:
    """DyTrack-Tiny/Base (ViT-Ti/16, ViT-B/16 encoders), randomly initialised."""
    return DyTrack(variant)
