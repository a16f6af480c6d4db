"""Corner box head shared by AsymTrack and HiT (the STARK corner predictor).

Two conv towers predict top-left and bottom-right corner score maps; each corner is the
soft-argmax (expected position under the softmax distribution) of its map.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 conv (with bias) + BatchNorm + ReLU, keys ``0`` (conv) and ``1`` (bn)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=True),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def soft_argmax(score_map: torch.Tensor, coord: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Expected (x, y) of a (B, 1, H, W) logit map; ``coord`` is (2, H*W) pixel positions.

    Returns ``(x, y, prob)`` with ``prob`` the (B, H*W) softmax distribution.
    """
    prob = torch.softmax(score_map.flatten(1), dim=1)
    return (coord[0] * prob).sum(dim=1), (coord[1] * prob).sum(dim=1), prob


class CornerHead(nn.Module):
    """Corner predictor: features (B, C, fs, fs) -> normalised (x1, y1, x2, y2) and corner probabilities."""

    coord: torch.Tensor  # buffer (2, fs*fs): the pixel position of every feature cell

    def __init__(self, in_channels: int = 256, channels: int = 256, feat_size: int = 8, stride: int = 32) -> None:
        super().__init__()
        self.feat_size = feat_size
        self.stride = stride
        self.img_size = feat_size * stride
        widths = [in_channels, channels, channels // 2, channels // 4, channels // 8]
        for corner in ("tl", "br"):
            for i in range(4):
                setattr(self, f"conv{i + 1}_{corner}", conv_bn_relu(widths[i], widths[i + 1]))
            setattr(self, f"conv5_{corner}", nn.Conv2d(widths[4], 1, kernel_size=1))
        index = torch.arange(feat_size, dtype=torch.float32) * stride
        grid_y, grid_x = torch.meshgrid(index, index, indexing="ij")
        self.register_buffer("coord", torch.stack((grid_x.flatten(), grid_y.flatten())), persistent=False)

    def _tower(self, x: torch.Tensor, corner: str) -> torch.Tensor:
        for i in range(1, 6):
            x = getattr(self, f"conv{i}_{corner}")(x)
        return x

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return ``boxes_xyxy`` (B, 4) normalised by the search size and ``prob_tl``/``prob_br`` (B, fs*fs)."""
        x_tl, y_tl, prob_tl = soft_argmax(self._tower(features, "tl"), self.coord)
        x_br, y_br, prob_br = soft_argmax(self._tower(features, "br"), self.coord)
        boxes = torch.stack((x_tl, y_tl, x_br, y_br), dim=1) / self.img_size
        return {"boxes_xyxy": boxes, "prob_tl": prob_tl, "prob_br": prob_br}


def xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """(x1, y1, x2, y2) -> (cx, cy, w, h) along the last dimension."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def running_stats(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """``(running_mean, running_var)`` of a BatchNorm that tracks them (ValueError otherwise)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{bn} has no running statistics to fold")
    return bn.running_mean, bn.running_var


def _pair(values: tuple[int, ...]) -> tuple[int, int]:
    first, second = values
    return first, second


def conv_like(conv: nn.Conv2d, device: torch.device | None = None, dtype: torch.dtype | None = None) -> nn.Conv2d:
    """A new conv with a bias and ``conv``'s channels, kernel size, stride, padding, dilation and groups."""
    padding = conv.padding if isinstance(conv.padding, str) else _pair(conv.padding)
    return nn.Conv2d(
        conv.in_channels, conv.out_channels, _pair(conv.kernel_size), _pair(conv.stride), padding,
        _pair(conv.dilation), conv.groups, bias=True, device=device, dtype=dtype,
    )


def conv_bias(conv: nn.Conv2d) -> torch.Tensor:
    """The bias of a conv built with one (ValueError otherwise)."""
    if conv.bias is None:
        raise ValueError(f"{conv} has no bias")
    return conv.bias


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """Fold an eval-mode BatchNorm into the preceding conv (exact up to float rounding)."""
    running_mean, running_var = running_stats(bn)
    scale = bn.weight / torch.sqrt(running_var + bn.eps)
    fused = conv_like(conv, device=conv.weight.device, dtype=conv.weight.dtype)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(running_mean)
    with torch.no_grad():
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        conv_bias(fused).copy_((bias - running_mean) * scale + bn.bias)
    return fused


def fuse_corner_head(head: CornerHead) -> None:
    """Fold every conv+BN pair of the head in place (``convN_xx`` becomes conv + ReLU)."""
    for corner in ("tl", "br"):
        for i in range(1, 5):
            block = getattr(head, f"conv{i}_{corner}")
            if isinstance(block[1], nn.BatchNorm2d):
                fused = nn.Sequential(fuse_conv_bn(block[0], block[1]), nn.ReLU(inplace=True))
                setattr(head, f"conv{i}_{corner}", fused)
