"""AsymTrack (tiny / small / base): asymmetric EfficientMod-xxs backbone with a cached template branch.

The template branch runs once (:meth:`AsymTrack.encode_template`) and yields an explicit
:class:`TemplateState`; every frame then runs only the search branch (:meth:`AsymTrack.track_search`).
Parameter names equal the official checkpoint keys, so ``load_state_dict(ckpt["net"], strict=True)``
works on the released checkpoints (training form); :meth:`AsymTrack.fuse` converts to deploy form.

Feature maps inside the backbone are channels-last ``(B, H, W, C)``, as in the official code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from asymtrack_ros.models.config import ModelConfig
from asymtrack_ros.models.heads import CornerHead, fuse_corner_head, xyxy_to_cxcywh
from asymtrack_ros.models.network import TrackerNetwork, tensor_sum, typed_module, typed_modules
from asymtrack_ros.models.registry import register_model, strip_data_parallel_prefix

STAGE_DIMS = (32, 64, 128)
STAGE_OUT_DIMS = (64, 128, 256)
ETM_STAGES = (1, 2)
ATTENTION_STAGE = 2
KERNEL_SIZE = 7
TOTAL_STRIDE = 32
HIDDEN_DIM = 256


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W, C) -> (B, C, H, W)."""
    return x.permute(0, 3, 1, 2)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H, W, C)."""
    return x.permute(0, 2, 3, 1)


class PatchEmbed(nn.Module):
    """Strided conv + LayerNorm on channels-last maps (stem and stage downsampling)."""

    def __init__(self, in_dim: int, out_dim: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_dim, out_dim, kernel_size, stride=stride, padding=padding)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(channels_last(self.proj(channels_first(x))))


class ContextLayer(nn.Module):
    """Context branch of the modulation: g(GELU(DWConv7x7(f(x))))."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.f = nn.Linear(dim, dim)
        self.g = nn.Linear(dim, dim)
        self.context_list = nn.ModuleList(
            [nn.Conv2d(dim, dim, KERNEL_SIZE, padding=KERNEL_SIZE // 2, groups=dim)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = F.gelu(self.context_list[0](channels_first(self.f(x))))
        return self.g(channels_last(context))


class ModulationMlp(nn.Module):
    """fc2(act(fc1(x)) * tile(context(x), ratio)); with ratio 1 there is no activation."""

    def __init__(self, dim: int, ratio: int) -> None:
        super().__init__()
        self.ratio = ratio
        self.fc1 = nn.Linear(dim, dim * ratio)
        self.context_layer = ContextLayer(dim)
        self.fc2 = nn.Linear(dim * ratio, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = self.context_layer(x)
        hidden = self.fc1(x)
        if self.ratio == 1:
            return self.fc2(hidden * context)
        return self.fc2(F.gelu(hidden) * context.repeat(1, 1, 1, self.ratio))


class ModulationBlock(nn.Module):
    """EfficientMod basic block: x + gamma * mlp(LN(x))."""

    def __init__(self, dim: int, ratio: int) -> None:
        super().__init__()
        self.gamma_1 = nn.Parameter(torch.full((dim,), 1e-4))
        self.norm = nn.LayerNorm(dim)
        self.mlp = ModulationMlp(dim, ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gamma_1 * self.mlp(self.norm(x))


def prototypes(weights: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Prototypes (B, n, C) = sum over h, w of weights (B, H, W, n) times features (B, H, W, C)."""
    return torch.einsum("bhwn,bhwc->bnc", weights, features)


class DynamicPrototypeConv(nn.Module):
    """Template-conditioned 1-D convs over the channel axis of the search prototypes.

    A linear layer maps each template prototype to a 3-tap depthwise kernel and a row of an
    (n, n) pointwise kernel; both are applied to the search prototypes ('same' padding),
    with ReLU in between, then LayerNorm over channels.
    """

    taps = 3

    def __init__(self, dim: int, num_prototypes: int) -> None:
        super().__init__()
        self.weight_linear = nn.Linear(dim, num_prototypes + self.taps)
        self.norm = nn.LayerNorm(dim)

    def forward(self, template_prototypes: torch.Tensor, search_prototypes: torch.Tensor) -> torch.Tensor:
        weights = self.weight_linear(template_prototypes)
        depthwise, pointwise = weights[..., : self.taps], weights[..., self.taps:]
        channels = search_prototypes.shape[-1]
        padded = F.pad(search_prototypes, (self.taps // 2, self.taps // 2))
        out = sum(depthwise[..., k: k + 1] * padded[..., k: k + channels] for k in range(self.taps))
        return self.norm(torch.matmul(pointwise, F.relu(out)))


class ETM(nn.Module):
    """Efficient template modulation: search features correlated with template-modulated prototypes."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        num_prototypes = dim // 32
        self.pre_kernels = nn.Linear(dim, num_prototypes)
        self.pre_kernels_x = nn.Linear(dim, num_prototypes)
        # post_kernels and downsample never affect the output; they exist for strict checkpoint loading.
        self.post_kernels = nn.Linear(num_prototypes, dim)
        self.downsample = PatchEmbed(dim, dim, kernel_size=3, stride=2, padding=1)
        self.proj_Cto1 = nn.Linear(dim, 1)
        self.ln = nn.LayerNorm(dim)
        self.conv_att = DynamicPrototypeConv(dim, num_prototypes)

    def template_prototypes(self, z: torch.Tensor) -> torch.Tensor:
        """Template prototypes (B, n, C); detached, as officially (pre_kernels gets no gradient)."""
        return prototypes(self.pre_kernels(z), z).detach()

    def forward(self, x: torch.Tensor, template_prototypes: torch.Tensor) -> torch.Tensor:
        weights = self.pre_kernels_x(x)
        kernels = self.conv_att(template_prototypes, prototypes(weights, x))
        correlated = torch.einsum("bnc,bhwn->bhwc", kernels, weights)
        gate = torch.sigmoid(torch.einsum("bnd,bnc->bdc", self.proj_Cto1(kernels), kernels))
        return x + F.relu(self.ln(correlated * gate.unsqueeze(1)))


class OPE(nn.Module):
    """Re-parameterisable 3x3 conv block: x + ibe_scale * ReLU(LN(conv(x))).

    Training form: conv(x) = sum_i conv_i(x) - sigmoid(theta) * conv1x1(x, sum_i sum_hw W_i).
    :meth:`fuse` folds it into a single bias-free 3x3 conv ``rbr_reparam`` (deploy form).
    """

    branches = 3

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.zeros(1))
        self.ibe_scale = nn.Parameter(torch.zeros(dim))
        self.rbr_conv = nn.ModuleList(
            [nn.Conv2d(dim, dim, 3, padding=1, bias=False) for _ in range(self.branches)]
        )
        self.ln = nn.LayerNorm(dim)
        self.fused = False

    def _conv(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused:
            return self.rbr_reparam(x)
        branches = typed_modules(self.rbr_conv, nn.Conv2d)
        centre_kernel = tensor_sum(conv.weight.sum(dim=(2, 3), keepdim=True) for conv in branches)
        out = tensor_sum(conv(x) for conv in branches)
        return out - torch.sigmoid(self.theta) * F.conv2d(x, centre_kernel)

    def fused_weight(self) -> torch.Tensor:
        """W = sum_i (W_i - pad1(sigmoid(theta) * sum_hw W_i))."""
        theta = torch.sigmoid(self.theta)
        return tensor_sum(
            conv.weight - F.pad(theta * conv.weight.sum(dim=(2, 3), keepdim=True), (1, 1, 1, 1))
            for conv in typed_modules(self.rbr_conv, nn.Conv2d)
        )

    @torch.no_grad()
    def fuse(self) -> None:
        """Replace the training branches (rbr_conv, theta) by ``rbr_reparam``, in place."""
        if self.fused:
            return
        weight = self.fused_weight()
        del self.rbr_conv, self.theta
        self.rbr_reparam = nn.Conv2d(
            weight.shape[1], weight.shape[0], 3, padding=1, bias=False, device=weight.device, dtype=weight.dtype
        )
        self.rbr_reparam.weight.copy_(weight)
        self.fused = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.ibe_scale * F.relu(self.ln(channels_last(self._conv(channels_first(x)))))


class FeedForward(nn.Module):
    """fc2(GELU(fc1(x)))."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head attention of query tokens over query + memory tokens (no qkv bias)."""

    def __init__(self, dim: int, num_heads: int = 8, head_dim: int = 32) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.qkv = nn.Linear(dim, 3 * num_heads * head_dim, bias=False)
        self.proj = nn.Linear(num_heads * head_dim, dim)

    def forward(self, tokens: torch.Tensor, num_queries: int) -> torch.Tensor:
        """Attend from the first ``num_queries`` of ``tokens`` (B, N, C) over all of them."""
        batch, length, _ = tokens.shape
        qkv = self.qkv(tokens).reshape(batch, length, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        out = F.scaled_dot_product_attention(q[:, :, :num_queries], k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, num_queries, self.num_heads * self.head_dim))


class AttentionBlock(nn.Module):
    """Pre-norm transformer block; search tokens attend over [search; template] and only they are kept."""

    def __init__(self, dim: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor, template_tokens: torch.Tensor) -> torch.Tensor:
        batch, height, width, dim = x.shape
        search = x.reshape(batch, height * width, dim)
        tokens = torch.cat([search, template_tokens], dim=1)
        search = search + self.attn(self.norm1(tokens), num_queries=height * width)
        search = search + self.mlp(self.norm2(search))
        return search.reshape(batch, height, width, dim)


class Stage(nn.Module):
    """One backbone stage: modulation blocks, [ETM], OPE, [attention], then a stride-2 downsample.

    All blocks live in one ``blocks`` list so that parameter names match the checkpoint.
    """

    def __init__(self, dim: int, out_dim: int, depth: int, etm: bool, attention: bool) -> None:
        super().__init__()
        self.depth = depth
        self.has_etm = etm
        self.has_attention = attention
        blocks: list[nn.Module] = [ModulationBlock(dim, 1 if i % 2 == 0 else 6) for i in range(depth)]
        blocks += [ETM(dim)] if etm else []
        blocks.append(OPE(dim))
        blocks += [AttentionBlock(dim)] if attention else []
        self.blocks = nn.ModuleList(blocks)
        self.downsample = PatchEmbed(dim, out_dim, kernel_size=3, stride=2, padding=1)

    @property
    def etm(self) -> ETM:
        return typed_module(self.blocks[self.depth], ETM)

    @property
    def ope(self) -> OPE:
        return typed_module(self.blocks[self.depth + self.has_etm], OPE)

    @property
    def attention(self) -> AttentionBlock:
        return typed_module(self.blocks[-1], AttentionBlock)

    def modulate(self, x: torch.Tensor) -> torch.Tensor:
        """Run the modulation blocks."""
        for block in self.blocks[: self.depth]:
            x = block(x)
        return x


class TemplateState(NamedTuple):
    """Everything the search pass needs from the template, computed once per target.

    etm1_prototypes: (B, 2, 64) stage-1 ETM template prototypes.
    etm2_prototypes: (B, 4, 128) stage-2 ETM template prototypes.
    template_tokens: (B, Nz, 128) stage-2 template tokens after OPE (memory of the attention block).
    """

    etm1_prototypes: torch.Tensor
    etm2_prototypes: torch.Tensor
    template_tokens: torch.Tensor


class EfficientModBackbone(nn.Module):
    """Three-stage EfficientMod-xxs with ETM and template attention; total stride 32."""

    def __init__(self, last_stage_depth: int) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(3, STAGE_DIMS[0], kernel_size=7, stride=4, padding=3)
        depths = (2, 2, last_stage_depth)
        self.layers = nn.ModuleList(
            Stage(dim, out_dim, depth, etm=i in ETM_STAGES, attention=i == ATTENTION_STAGE)
            for i, (dim, out_dim, depth) in enumerate(zip(STAGE_DIMS, STAGE_OUT_DIMS, depths, strict=True))
        )

    def encode_template(self, template: torch.Tensor) -> TemplateState:
        """Template image (B, 3, H, W) -> :class:`TemplateState`."""
        z = self.patch_embed(channels_last(template))
        etm_prototypes = []
        for stage in typed_modules(self.layers, Stage):
            z = stage.modulate(z)
            if stage.has_etm:
                etm_prototypes.append(stage.etm.template_prototypes(z))
            z = stage.ope(z)
            if not stage.has_attention:  # the attention stage's OPE output is the template memory: stop there
                z = stage.downsample(z)
        etm1_prototypes, etm2_prototypes = etm_prototypes
        return TemplateState(etm1_prototypes, etm2_prototypes, template_tokens=z.flatten(1, 2))

    def forward(self, search: torch.Tensor, state: TemplateState) -> torch.Tensor:
        """Search image (B, 3, H, W) -> channels-last features (B, H/32, W/32, 256)."""
        x = self.patch_embed(channels_last(search))
        etm_prototypes = iter((state.etm1_prototypes, state.etm2_prototypes))
        for stage in typed_modules(self.layers, Stage):
            x = stage.modulate(x)
            if stage.has_etm:
                x = stage.etm(x, next(etm_prototypes))
            x = stage.ope(x)
            if stage.has_attention:
                x = stage.attention(x, state.template_tokens)
            x = stage.downsample(x)
        return x


@dataclass(frozen=True)
class AsymTrackVariant:
    """What distinguishes the variants: last-stage depth and input sizes."""

    last_stage_depth: int
    template_size: int
    search_size: int


VARIANTS = {
    "tiny": AsymTrackVariant(last_stage_depth=1, template_size=128, search_size=256),
    "small": AsymTrackVariant(last_stage_depth=3, template_size=128, search_size=256),
    "base": AsymTrackVariant(last_stage_depth=3, template_size=192, search_size=384),
}


class AsymTrack(TrackerNetwork):
    """Backbone + linear bottleneck + corner head; outputs normalised (cx, cy, w, h) in the search crop."""

    def __init__(self, variant: str) -> None:
        super().__init__()
        spec = VARIANTS[variant]
        self.config = ModelConfig(
            name="asymtrack", variant=variant, template_size=spec.template_size, search_size=spec.search_size,
            template_factor=2.0, search_factor=4.0,
        )
        self.feat_size = spec.search_size // TOTAL_STRIDE
        self.backbone = EfficientModBackbone(spec.last_stage_depth)
        self.box_head = CornerHead(HIDDEN_DIM, HIDDEN_DIM, feat_size=self.feat_size, stride=TOTAL_STRIDE)
        self.bottleneck = nn.Linear(STAGE_OUT_DIMS[-1], HIDDEN_DIM)

    def encode_template(self, template: torch.Tensor) -> TemplateState:
        """Run the template branch once; the result is all the search pass needs."""
        return self.backbone.encode_template(template)

    def track_search(self, search: torch.Tensor, state: TemplateState) -> dict[str, torch.Tensor]:
        """Search pass: ``pred_boxes`` (B, 4) cx, cy, w, h and ``prob_tl``/``prob_br`` (B, fs*fs)."""
        features = self.bottleneck(self.backbone(search, state).flatten(1, 2))
        features = features.transpose(1, 2).reshape(-1, HIDDEN_DIM, self.feat_size, self.feat_size)
        head = self.box_head(features)
        return {"pred_boxes": xyxy_to_cxcywh(head.pop("boxes_xyxy")), **head}

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.track_search(search, self.encode_template(template))

    def fuse(self, fold_batchnorm: bool = False) -> AsymTrack:
        """Deploy form, in place (call in eval mode): fold every OPE's branches into one 3x3 conv.

        By default the state dict then equals the official deploy form (``switch_to_deploy``), keys
        and parameter count included. ``fold_batchnorm=True`` also folds the corner head's
        BatchNorms into its convs (what the ONNX export does; equal up to float rounding).
        """
        for module in self.modules():
            if isinstance(module, OPE):
                module.fuse()
        if fold_batchnorm:
            fuse_corner_head(self.box_head)
        return self



@register_model("asymtrack", tuple(VARIANTS), strip_data_parallel_prefix)
def build_asymtrack(variant: str) -> AsymTrack:
    """AsymTrack in checkpoint (training) form, randomly initialised."""
    return AsymTrack(variant)
