"""HiT (Kang et al., ICCV 2023): a one-stream tracker on a LeViT body, a Bridge neck and a corner head.

Search and template tokens are concatenated and processed jointly by three LeViT stages joined by
shrink attention (stride 2); attention biases follow the dual-image position encoding (template
grid placed diagonally after the search grid). The Bridge neck upsamples stage 3 into stage 2 and
stage 1 (search part), projects to 256 channels and re-weights every position by its similarity
to the global vector (mean of the stage-3 tokens); the corner head reads the 16x16 result.

Module and parameter names equal the authors' checkpoint keys (``backbone.body.*``,
``box_head.*``, ``bottleneck.*``), so their files load with ``strict=True``. The attention-bias
table is gathered on every forward (never cached), so loading and mode switches may happen in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise, product
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.models.heads import CornerHead, conv_bias, conv_like, fuse_corner_head, running_stats, xyxy_to_cxcywh
from asymtrack_ros.models.network import TrackerNetwork
from asymtrack_ros.models.registry import register_model, strip_data_parallel_prefix

PATCH_STRIDE = 16
HIDDEN_DIM = 256
SHRINK_STRIDE = 2


@dataclass(frozen=True)
class LeViTSpec:
    """LeViT body dimensions: channels, heads and attention blocks per stage, key dim, drop-path rate."""

    embed_dims: tuple[int, int, int]
    num_heads: tuple[int, int, int]
    depths: tuple[int, int, int]
    key_dim: int
    drop_path: float


VARIANTS: dict[str, LeViTSpec] = {
    "tiny": LeViTSpec((128, 256, 384), (4, 6, 8), (2, 3, 4), key_dim=16, drop_path=0.0),  # LeViT_128S
    "small": LeViTSpec((128, 256, 384), (4, 8, 12), (4, 4, 4), key_dim=16, drop_path=0.0),  # LeViT_128
    "base": LeViTSpec((384, 512, 768), (6, 9, 12), (4, 4, 4), key_dim=32, drop_path=0.1),  # LeViT_384
}


def folded_batchnorm(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel ``(scale, shift)`` of an eval-mode BatchNorm.

    Evaluated in the authors' arithmetic order (``shift = beta - mean * gamma / std``), which makes the fused
    body bit-identical to their ``replace_batchnorm`` (``heads.fuse_conv_bn`` rounds differently, ~4e-6 on boxes).
    """
    running_mean, running_var = running_stats(bn)
    std = (running_var + bn.eps) ** 0.5
    return bn.weight / std, bn.bias - running_mean * bn.weight / std


class ConvBN(nn.Sequential):
    """Bias-free conv + BatchNorm2d (keys ``c``, ``bn``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.c = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def fused(self) -> nn.Conv2d:
        """The equivalent single conv (eval-mode BatchNorm folded in)."""
        c = self.c
        scale, shift = folded_batchnorm(self.bn)
        fused = conv_like(c)
        with torch.no_grad():
            fused.weight.copy_(c.weight * scale[:, None, None, None])
            conv_bias(fused).copy_(shift)
        return fused


class LinearBN(nn.Module):
    """Bias-free linear + BatchNorm1d over all tokens (keys ``c``, ``bn``); input (B, N, C)."""

    def __init__(self, in_features: int, out_features: int, bn_weight_init: float = 1.0) -> None:
        super().__init__()
        self.c = nn.Linear(in_features, out_features, bias=False)
        self.bn = nn.BatchNorm1d(out_features)
        nn.init.constant_(self.bn.weight, bn_weight_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c(x)
        return self.bn(y.flatten(0, 1)).reshape_as(y)

    def fused(self) -> nn.Linear:
        """The equivalent single linear layer (eval-mode BatchNorm folded in)."""
        scale, shift = folded_batchnorm(self.bn)
        fused = nn.Linear(self.c.in_features, self.c.out_features)
        with torch.no_grad():
            fused.weight.copy_(self.c.weight * scale[:, None])
            fused.bias.copy_(shift)
        return fused


def fold_levit_batchnorm(module: nn.Module) -> None:
    """Replace every ``ConvBN``/``LinearBN`` below ``module`` by its fused layer, in place."""
    for name, child in module.named_children():
        if isinstance(child, (ConvBN, LinearBN)):
            setattr(module, name, child.fused())
        else:
            fold_levit_batchnorm(child)


def mlp(dim: int, ratio: int = 2) -> nn.Sequential:
    """LeViT feed-forward: LinearBN, Hardswish, LinearBN (keys ``0``, ``2``)."""
    return nn.Sequential(LinearBN(dim, dim * ratio), nn.Hardswish(), LinearBN(dim * ratio, dim, bn_weight_init=0.0))


class Residual(nn.Module):
    """``x + m(x)`` with per-sample stochastic depth in training (key ``m``)."""

    def __init__(self, m: nn.Module, drop: float) -> None:
        super().__init__()
        self.m = m
        self.drop = drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.drop > 0:
            keep = torch.rand(x.shape[0], 1, 1, device=x.device).ge(self.drop).to(x.dtype) / (1 - self.drop)
            return x + self.m(x) * keep
        return x + self.m(x)


@dataclass(frozen=True)
class TokenGrid:
    """Token layout: a ``search`` x ``search`` grid followed by a ``template`` x ``template`` grid."""

    search: int
    template: int

    def shrink(self, stride: int) -> TokenGrid:
        return TokenGrid((self.search - 1) // stride + 1, (self.template - 1) // stride + 1)

    def points(self) -> np.ndarray:
        """Dual-image positions (N, 2): search at (0..s-1)^2, template diagonally after it at (s..s+t-1)^2."""
        s, t = self.search, self.template
        grid = list(product(range(s), range(s))) + list(product(range(s, s + t), range(s, s + t)))
        return np.array(grid, dtype=np.int64)


def relative_bias_index(queries: np.ndarray, keys: np.ndarray, query_stride: int) -> tuple[torch.Tensor, int]:
    """Index of the offset (|dy|, |dx|) between every query and key position, numbered by first occurrence.

    Query positions are scaled by ``query_stride`` (shrink attention queries live on the coarse grid).
    Returns the (Nq, Nk) int64 index table and the number of distinct offsets.
    """
    offsets = np.abs(queries[:, None, :] * query_stride - keys[None, :, :]).reshape(-1, 2)
    codes = offsets[:, 0] * (offsets[:, 1].max() + 1) + offsets[:, 1]
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty_like(first)
    rank[np.argsort(first)] = np.arange(len(first))
    table = torch.from_numpy(rank[inverse.reshape(-1)].reshape(len(queries), len(keys)))
    return table, len(first)


class BiasedAttention(nn.Module):
    """Shared part of LeViT attention: learned relative-position biases and the attention product."""

    attention_bias_idxs: torch.Tensor  # buffer (Nq, Nk): index into ``attention_biases`` per query/key pair

    def __init__(
        self, num_heads: int, key_dim: int, value_dim: int, queries: TokenGrid, keys: TokenGrid, query_stride: int
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.scale = key_dim**-0.5
        table, num_offsets = relative_bias_index(queries.points(), keys.points(), query_stride)
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, num_offsets))
        self.register_buffer("attention_bias_idxs", table)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q, k, v (B, heads, N, d) -> (B, Nq, heads * value_dim)."""
        bias = self.attention_biases[:, self.attention_bias_idxs]
        attn = ((q @ k.transpose(-2, -1)) * self.scale + bias).softmax(dim=-1)
        return (attn @ v).transpose(1, 2).flatten(2)


class Attention(BiasedAttention):
    """LeViT multi-head attention over all tokens (keys ``qkv``, ``proj.1``); value dim = 2 x key dim."""

    def __init__(self, dim: int, key_dim: int, num_heads: int, grid: TokenGrid, attn_ratio: int = 2) -> None:
        super().__init__(num_heads, key_dim, attn_ratio * key_dim, grid, grid, query_stride=1)
        self.qkv = LinearBN(dim, num_heads * (2 * key_dim + self.value_dim))
        self.proj = nn.Sequential(nn.Hardswish(), LinearBN(num_heads * self.value_dim, dim, bn_weight_init=0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        qkv = self.qkv(x).view(batch, tokens, self.num_heads, -1).transpose(1, 2)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.value_dim], dim=3)
        return self.proj(self.attend(q, k, v))


class TokenSubsample(nn.Module):
    """Keep every ``stride``-th row and column of the search grid and of the template grid."""

    def __init__(self, grid: TokenGrid, stride: int) -> None:
        super().__init__()
        self.grid = grid
        self.stride = stride

    def _subsample(self, tokens: torch.Tensor, side: int) -> torch.Tensor:
        batch, _, channels = tokens.shape
        grid = tokens.reshape(batch, side, side, channels)[:, :: self.stride, :: self.stride]
        return grid.reshape(batch, -1, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        num_search = self.grid.search**2
        search = self._subsample(x[:, :num_search], self.grid.search)
        template = self._subsample(x[:, num_search:], self.grid.template)
        return torch.cat((search, template), dim=1)


class ShrinkAttention(BiasedAttention):
    """LeViT attention-subsample: queries from the stride-2 subsampled tokens, new width (keys ``kv``, ``q.1``,
    ``proj.1``); value dim = 4 x key dim, heads = in_dim // key_dim."""

    def __init__(self, in_dim: int, out_dim: int, key_dim: int, grid: TokenGrid, attn_ratio: int = 4) -> None:
        num_heads = in_dim // key_dim
        super().__init__(num_heads, key_dim, attn_ratio * key_dim, grid.shrink(SHRINK_STRIDE), grid, SHRINK_STRIDE)
        self.kv = LinearBN(in_dim, num_heads * (key_dim + self.value_dim))
        self.q = nn.Sequential(TokenSubsample(grid, SHRINK_STRIDE), LinearBN(in_dim, num_heads * key_dim))
        self.proj = nn.Sequential(nn.Hardswish(), LinearBN(num_heads * self.value_dim, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        kv = self.kv(x).view(batch, tokens, self.num_heads, -1).transpose(1, 2)
        k, v = kv.split([self.key_dim, self.value_dim], dim=3)
        q = self.q(x)
        q = q.view(batch, q.shape[1], self.num_heads, self.key_dim).transpose(1, 2)
        return self.proj(self.attend(q, k, v))


class LeViTFeatures(NamedTuple):
    """Token features of the three stages, search tokens first then template tokens.

    ``stage3`` starts with the global vector (mean of the stage-3 tokens): (B, 1 + Ns3 + Nt3, C3).
    """

    stage1: torch.Tensor
    stage2: torch.Tensor
    stage3: torch.Tensor


def patch_embedding(dim: int) -> nn.Sequential:
    """LeViT b16 stem: four 3x3 stride-2 ConvBN (3 -> dim/8 -> dim/4 -> dim/2 -> dim), Hardswish between."""
    widths = [3, dim // 8, dim // 4, dim // 2, dim]
    layers: list[nn.Module] = []
    for i in range(4):
        layers += [ConvBN(widths[i], widths[i + 1], 3, 2, 1), nn.Hardswish()]
    return nn.Sequential(*layers[:-1])


class LeViT(nn.Module):
    """LeViT body over concatenated search + template tokens (keys ``patch_embed``, ``blocks``)."""

    def __init__(self, spec: LeViTSpec, search_size: int, template_size: int) -> None:
        super().__init__()
        dims = spec.embed_dims
        self.patch_embed = patch_embedding(dims[0])
        grid = TokenGrid(search_size // PATCH_STRIDE, template_size // PATCH_STRIDE)
        blocks: list[nn.Module] = []
        stage_ends: list[int] = []
        for stage, (dim, heads, depth) in enumerate(zip(dims, spec.num_heads, spec.depths, strict=True)):
            for _ in range(depth):
                blocks.append(Residual(Attention(dim, spec.key_dim, heads, grid), spec.drop_path))
                blocks.append(Residual(mlp(dim), spec.drop_path))
            if stage + 1 < len(dims):
                stage_ends.append(len(blocks))
                blocks.append(ShrinkAttention(dim, dims[stage + 1], spec.key_dim, grid))
                grid = grid.shrink(SHRINK_STRIDE)
                blocks.append(Residual(mlp(dims[stage + 1]), spec.drop_path))
        self.blocks = nn.Sequential(*blocks)
        self.stage_ends = tuple(stage_ends)
        self.final_grid = grid

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """Normalised image (B, 3, H, W) -> tokens (B, H/16 * W/16, C1); each image is embedded on its own."""
        return self.patch_embed(image).flatten(2).transpose(1, 2)

    def forward(self, search_tokens: torch.Tensor, template_tokens: torch.Tensor) -> LeViTFeatures:
        first, second = self.stage_ends
        stage1 = self.blocks[:first](torch.cat((search_tokens, template_tokens), dim=1))
        stage2 = self.blocks[first:second](stage1)
        stage3 = self.blocks[second:](stage2)
        return LeViTFeatures(stage1, stage2, torch.cat((stage3.mean(dim=1, keepdim=True), stage3), dim=1))


class Backbone(nn.Module):
    """Container that gives the LeViT body the authors' key prefix ``backbone.body``."""

    def __init__(self, spec: LeViTSpec, search_size: int, template_size: int) -> None:
        super().__init__()
        self.body = LeViT(spec, search_size, template_size)


def search_map(tokens: torch.Tensor, side: int) -> torch.Tensor:
    """The first ``side**2`` (search) tokens (B, N, C) as a (B, C, side, side) map."""
    return tokens[:, : side * side].transpose(1, 2).reshape(tokens.shape[0], -1, side, side)


class BridgeNeck(nn.Module):
    """Bridge module + global-vector re-weighting (keys ``layers``, ``proj1``, ``proj2``).

    Stage-3 search map -> ConvTranspose2d(2x2, s2)+BN, add stage 2, ReLU -> ConvTranspose2d+BN, add
    stage 1; proj1 to ``HIDDEN_DIM``; each position scaled by its dot product with proj2(global vector).
    """

    def __init__(self, embed_dims: tuple[int, int, int], search_side: int) -> None:
        super().__init__()
        widths = embed_dims[::-1]
        self.layers = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(a, b, SHRINK_STRIDE, SHRINK_STRIDE), nn.BatchNorm2d(b))
            for a, b in pairwise(widths)
        )
        self.proj1 = nn.Linear(embed_dims[0], HIDDEN_DIM)
        self.proj2 = nn.Linear(embed_dims[-1], HIDDEN_DIM)
        self.search_sides = tuple(search_side * SHRINK_STRIDE**i for i in range(len(embed_dims)))  # stage 3, 2, 1

    def forward(self, features: LeViTFeatures) -> torch.Tensor:
        """Stage features -> re-weighted search feature map (B, HIDDEN_DIM, S, S), S = search_size / 16."""
        stage3 = features.stage3
        x = search_map(stage3[:, 1:], self.search_sides[0])
        skips = (features.stage2, features.stage1)
        for i, (layer, skip, side) in enumerate(zip(self.layers, skips, self.search_sides[1:], strict=True)):
            x = layer(x) + search_map(skip, side)
            if i + 1 < len(self.layers):
                x = F.relu(x)
        tokens = self.proj1(x.flatten(2).transpose(1, 2))  # (B, S*S, HIDDEN_DIM)
        global_vector = self.proj2(stage3[:, 0])  # (B, HIDDEN_DIM)
        weighted = tokens * (tokens @ global_vector.unsqueeze(-1))
        return weighted.transpose(1, 2).reshape(x.shape[0], HIDDEN_DIM, x.shape[2], x.shape[3])


class HiTTemplate(NamedTuple):
    """Template state of the one-stream HiT: only the template's patch-embedding tokens (B, Nt, C1).

    HiT has no template cache beyond its stem: every block after the per-image patch embedding mixes
    template and search tokens, so the template is re-encoded together with each search region.
    """

    template_tokens: torch.Tensor


class HiT(TrackerNetwork):
    """HiT tracker network in checkpoint form; ``fuse()`` gives the authors' tracker (inference) form."""

    def __init__(self, variant: str) -> None:
        super().__init__()
        spec = VARIANTS[variant]
        self.config = ModelConfig(name="hit", variant=variant, template_size=128, search_size=256)
        self.backbone = Backbone(spec, self.config.search_size, self.config.template_size)
        grid = self.backbone.body.final_grid
        feat_size = grid.search * SHRINK_STRIDE ** (len(spec.embed_dims) - 1)
        self.box_head = CornerHead(HIDDEN_DIM, feat_size=feat_size, stride=self.config.search_size // feat_size)
        self.bottleneck = BridgeNeck(spec.embed_dims, grid.search)

    def encode_template(self, template: torch.Tensor) -> HiTTemplate:
        """Template image (B, 3, 128, 128) -> its stem tokens (the rest is recomputed per search frame)."""
        return HiTTemplate(self.backbone.body.embed(template))

    def track_search(self, search: torch.Tensor, state: HiTTemplate) -> dict[str, torch.Tensor]:
        """Search image (B, 3, 256, 256) + template state -> ``pred_boxes`` (B, 4) normalised cx, cy, w, h in
        the search crop, ``prob_tl``/``prob_br`` (B, 256) corner distributions."""
        body = self.backbone.body
        features = body(body.embed(search), state.template_tokens)
        corners = self.box_head(self.bottleneck(features))
        return {
            "pred_boxes": xyxy_to_cxcywh(corners["boxes_xyxy"]),
            "prob_tl": corners["prob_tl"],
            "prob_br": corners["prob_br"],
        }

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict[str, torch.Tensor]:
        """One tracking step from images: ``track_search(search, encode_template(template))``."""
        return self.track_search(search, self.encode_template(template))

    def fuse(self, fold_batchnorm: bool = False) -> HiT:
        """Inference form, in place: fold the LeViT body's BatchNorms (the authors' ``replace_batchnorm``);
        switches to eval mode, since folded BatchNorms no longer train.

        By default the state dict equals the authors' tracker form, keys and parameter count;
        ``fold_batchnorm=True`` also folds the corner head's BatchNorms (as the ONNX export does).
        """
        fold_levit_batchnorm(self.backbone.body)
        if fold_batchnorm:
            fuse_corner_head(self.box_head)
        return self.eval()



@register_model("hit", ("tiny", "small", "base"), strip_data_parallel_prefix)
def build_hit(variant: str) -> HiT:
    """HiT-Tiny/Small/Base (LeViT_128S/128/384), randomly initialised, checkpoint form."""
    return HiT(variant)
