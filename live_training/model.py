"""The NAS-Bench-201 network for any cell of a `CellSpace`.

The macro skeleton is the benchmark's `TinyNetwork` (AutoDL-Projects `models/cell_infers/`): a 3x3 stem
conv + BN, three stages of `cells_per_stage` cells at channels C, 2C, 4C with a ResNet basic block
(stride 2) between stages, then BN + ReLU, global average pooling and a linear classifier. With the
defaults (C = 16, 5 cells per stage) the parameter count equals the table's `params_mb` (counted in
units of 1e6 parameters).

Out-of-table spaces use the same code: more ops (any name in `live_training.ops.OPS`), more nodes per
cell, other widths and depths.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nasbench_suite.errors import ConfigError
from nasbench_suite.live_training.ops import ResNetBasicBlock, check_ops, make_op
from nasbench_suite.space import Arch, CellSpace


# ================================================================ cell
class InferCell(nn.Module):
    """One cell: node 0 is the input, node j sums op_(i,j)(node i) over i < j, the last node is the output.
    Edges (and `layers`) are in the order of the official string."""

    def __init__(self, space: CellSpace, arch: Arch, c_in: int, c_out: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            make_op(space.ops[op], c_in if source == 0 else c_out, c_out)
            for (source, _), op in zip(space.edges, arch.ops, strict=True)
        )
        # per node 1..n-1: (layer index, source node) of each input
        self.inputs: tuple[tuple[tuple[int, int], ...], ...] = tuple(
            tuple((k, source) for k, (source, target) in enumerate(space.edges) if target == j)
            for j in range(1, space.n_nodes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for node_inputs in self.inputs:
            terms = [self.layers[k](nodes[source]) for k, source in node_inputs]
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            nodes.append(total)
        return nodes[-1]


# ================================================================ network
class TinyNetwork(nn.Module):
    """Stem, three stages of cells with reduction blocks between them, BN + ReLU, pooling, classifier.
    `forward` returns the logits."""

    def __init__(
        self, space: CellSpace, arch: Arch, *, num_classes: int, channels: int, cells_per_stage: int
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        cells: list[nn.Module] = []
        c_prev = channels
        for stage in range(3):
            c = channels * 2**stage
            if stage > 0:
                cells.append(ResNetBasicBlock(c_prev, c, 2))
            cells.extend(InferCell(space, arch, c, c) for _ in range(cells_per_stage))
            c_prev = c
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(features).flatten(1))


def build_network(
    space: CellSpace,
    arch: Arch,
    *,
    num_classes: int,
    channels: int = 16,
    cells_per_stage: int = 5,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """The NAS-Bench-201 network of `arch` (a cell of `space`), in float32 on the default device (the
    CPU unless a `torch.device(...)` context says otherwise; `torch.device("meta")` builds it without
    allocating weights, to count parameters).

    generator: draws the initial weights (PyTorch's default distributions) so that a seed fixes the
    network; None uses PyTorch's global generator.
    """
    _check_int("num_classes", num_classes, 1)
    _check_int("channels", channels, 1)
    _check_int("cells_per_stage", cells_per_stage, 1)
    space.validate(arch)
    check_ops(space.ops)
    model = TinyNetwork(
        space, arch, num_classes=num_classes, channels=channels, cells_per_stage=cells_per_stage
    )
    if generator is not None:
        initialize_weights(model, generator)
    return model


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(
            f"The {name!r} parameter of build_network must be an int >= {low}. Got {value!r} instead."
        )


def initialize_weights(model: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default init of every conv and linear layer, drawn from `generator`."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                bound = 1 / math.sqrt(module.weight[0].numel())
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)


# ================================================================ size and cost
def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def params_mb(model: nn.Module) -> float:
    """Parameters in millions: the benchmark's `params_mb` (NAS-Bench-201 divides by 1e6, not 2**20)."""
    return param_count(model) / 1e6


def flops_m(model: nn.Module, *, image_size: int) -> float:
    """Multiply-accumulates of one image in millions, counted as the benchmark counts them: conv and
    linear layers only (plus their biases), pooling, BN and activations free."""
    total = 0

    def conv_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, nn.Conv2d)
        positions = output.shape[2] * output.shape[3]
        total += module.weight.numel() * positions + (
            module.out_channels * positions if module.bias is not None else 0
        )

    def linear_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, nn.Linear)
        total += module.weight.numel() + (module.out_features if module.bias is not None else 0)

    handles = [
        m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else linear_hook)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    was_training = model.training
    try:
        model.eval()
        reference = next(model.parameters())
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, device=reference.device, dtype=reference.dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total / 1e6
