"""Cell operations of NAS-Bench-201 and the DARTS ops, as PyTorch modules, behind one registry.

The definitions follow the benchmark's own code (AutoDL-Projects `models/cell_operations.py`, the code
that produced NAS-Bench-201 / NATS-Bench) so that parameter counts match the table exactly: convolutions
have no bias, every BatchNorm is affine and tracks running statistics, `avg_pool_3x3` excludes padding
from the average, and an op whose input and output channels differ gets a 1x1 ReLU-Conv-BN in front
(pooling) or becomes a FactorizedReduce (skip). The DARTS ops use DARTS's definitions: `sep_conv_kxk` is
two stacked ReLU-depthwise-pointwise-BN blocks (AutoDL's `dua_sepc_kxk`), `dil_conv_kxk` one dilated
block with dilation 2 (AutoDL's `dil_sepc_kxk`).

Every factory in `OPS` takes (c_in, c_out, stride) and returns a module mapping (N, c_in, H, W) to
(N, c_out, ceil(H / stride), ceil(W / stride)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

import torch
from torch import nn

from nasbench_suite.errors import ConfigError

OpFactory = Callable[[int, int, int], nn.Module]


# ================================================================ building blocks
class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv (no bias) -> BatchNorm: NAS-Bench-201's `nor_conv_kxk`."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out),
        )


class SepConv(nn.Sequential):
    """ReLU -> depthwise kxk (optionally dilated) -> pointwise 1x1 -> BatchNorm (DARTS's DilConv)."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=c_in, bias=False
            ),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )


class DualSepConv(nn.Sequential):
    """Two stacked SepConvs, the first carrying the stride (DARTS's SepConv)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            SepConv(c_in, c_in, kernel, stride, padding),
            SepConv(c_in, c_out, kernel, 1, padding),
        )


class Pooling(nn.Module):
    """3x3 pooling; a 1x1 ReLU-Conv-BN first when the channel count changes."""

    def __init__(self, c_in: int, c_out: int, stride: int, mode: str) -> None:
        super().__init__()
        self.preprocess = ReLUConvBN(c_in, c_out, 1, 1, 0) if c_in != c_out else None
        if mode == "avg":
            self.pool: nn.Module = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        elif mode == "max":
            self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            raise ConfigError(f"pooling mode must be 'avg' or 'max', got {mode!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x if self.preprocess is None else self.preprocess(x))


class Zero(nn.Module):
    """The `none` op: zeros of the output shape. Like the reference it multiplies the input by 0 when the
    shape allows, so a cell of only `none` edges still has a (zero) gradient path."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.c_in == self.c_out:
            return x.mul(0.0)
        n, _, h, w = x.shape
        return x.new_zeros((n, self.c_out, h, w))

    def extra_repr(self) -> str:
        return f"c_in={self.c_in}, c_out={self.c_out}, stride={self.stride}"


class FactorizedReduce(nn.Module):
    """`skip_connect` when the shape changes: at stride 2, ReLU then two 1x1 stride-2 convs (the second
    offset by one pixel) concatenated; at stride 1 a 1x1 conv without the ReLU (as in the reference);
    then BatchNorm."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"FactorizedReduce supports stride 1 or 2, got stride={stride}")
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        halves = (c_out // 2, c_out - c_out // 2) if stride == 2 else (c_out,)
        self.convs = nn.ModuleList(nn.Conv2d(c_in, c, 1, stride=stride, bias=False) for c in halves)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return self.bn(self.convs[0](x))
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1))


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201's reduction block between stages: two 3x3 ReLU-Conv-BN (the first strided) plus a
    shortcut (2x2 average pooling + 1x1 conv at stride 2, a 1x1 ReLU-Conv-BN if only channels change)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"ResNetBasicBlock supports stride 1 or 2, got stride={stride}")
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample: nn.Module | None
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


# ================================================================ registry
def _skip(c_in: int, c_out: int, stride: int) -> nn.Module:
    return nn.Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out, stride)


def _conv(kernel: int) -> OpFactory:
    return lambda c_in, c_out, stride: ReLUConvBN(c_in, c_out, kernel, stride, kernel // 2)


def _sep_conv(kernel: int) -> OpFactory:
    return lambda c_in, c_out, stride: DualSepConv(c_in, c_out, kernel, stride, kernel // 2)


def _dil_conv(kernel: int) -> OpFactory:
    return lambda c_in, c_out, stride: SepConv(c_in, c_out, kernel, stride, kernel - 1, dilation=2)


OPS: Mapping[str, OpFactory] = MappingProxyType(
    {
        # NAS-Bench-201
        "none": Zero,
        "skip_connect": _skip,
        "nor_conv_1x1": _conv(1),
        "nor_conv_3x3": _conv(3),
        "avg_pool_3x3": lambda c_in, c_out, stride: Pooling(c_in, c_out, stride, "avg"),
        # beyond the benchmark
        "nor_conv_5x5": _conv(5),
        "nor_conv_7x7": _conv(7),
        "max_pool_3x3": lambda c_in, c_out, stride: Pooling(c_in, c_out, stride, "max"),
        "sep_conv_3x3": _sep_conv(3),
        "sep_conv_5x5": _sep_conv(5),
        "dil_conv_3x3": _dil_conv(3),
        "dil_conv_5x5": _dil_conv(5),
    }
)


def check_ops(names: Iterable[str]) -> None:
    """Raise ConfigError naming every op without an implementation."""
    missing = [name for name in names if name not in OPS]
    if missing:
        raise ConfigError(
            f"no implementation for op(s) {', '.join(map(repr, missing))} in live_training.ops; "
            f"implemented: {', '.join(OPS)}"
        )


def make_op(name: str, c_in: int, c_out: int, stride: int = 1) -> nn.Module:
    """The module for op `name` mapping c_in to c_out channels at `stride`."""
    check_ops([name])
    return OPS[name](c_in, c_out, stride)
