"""The weight-sharing supernet: every op of a `CellSpace` on every edge, in NAS-Bench-201's macro skeleton.

The skeleton is the live trainer's `TinyNetwork` (stem, three stages of `cells_per_stage` cells at C,
2C, 4C with `ResNetBasicBlock` reductions, BN + ReLU, pooling, classifier); each cell is a `SearchCell`
whose edges hold one module per op (`live_training.ops`). As in NAS-Bench-201's search cells
(AutoDL-Projects `models/cell_searchs/search_cells.py`), the BatchNorms inside the candidate ops are
non-affine and use batch statistics in train and eval mode alike (`affine=False,
track_running_stats=False`): running statistics averaged over many sampled paths describe none of them.
Every cell of the network shares one choice per edge.

The supernet knows nothing of any search method. `forward(x, selection)` takes how each mixed edge
combines its ops:

- `Weighted(weights)`: sum over ops of weights[e, o] * op_o(x) (DARTS, SETN's arch step);
- `Hard(hardwise, index)`: only op index[e] runs; its output is scaled by hardwise[e, index[e]] and the
  other entries of hardwise[e] are added as constants, so a straight-through `hardwise` (value one-hot,
  gradient of the soft probabilities) passes gradient to every logit (GDAS; the official `forward_gdas`);
- `Path(arch)`: exactly the ops of one cell (RSPS, SETN, ENAS and the evaluation of any candidate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from nasbench_suite.errors import ConfigError
from nasbench_suite.live_training.ops import ResNetBasicBlock, check_ops, make_op
from nasbench_suite.space import Arch, CellSpace


# ================================================================ edge selections
@dataclass(frozen=True, eq=False)
class Weighted:
    """weights: (n_edges, n_ops); each edge outputs the weighted sum of all its ops."""

    weights: torch.Tensor


@dataclass(frozen=True, eq=False)
class Hard:
    """hardwise: (n_edges, n_ops) with a one-hot value per row (straight-through in GDAS); index: the
    op that runs on each edge (n_edges,)."""

    hardwise: torch.Tensor
    index: tuple[int, ...]


@dataclass(frozen=True)
class Path:
    """One cell: each edge runs only the op `arch.ops[e]`."""

    arch: Arch


Selection = Weighted | Hard | Path


# ================================================================ cells
def _search_batchnorms(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d below `module` by a non-affine one without running statistics."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.BatchNorm2d(child.num_features, affine=False, track_running_stats=False))
        else:
            _search_batchnorms(child)
    return module


class SearchCell(nn.Module):
    """A cell with every op of `space` on every edge; `edges[e][o]` is op o of edge e (string order)."""

    def __init__(self, space: CellSpace, channels: int) -> None:
        super().__init__()
        self.space = space
        self.edges = nn.ModuleList(
            nn.ModuleList(_search_batchnorms(make_op(op, channels, channels)) for op in space.ops)
            for _ in space.edges
        )
        self.inputs: tuple[tuple[tuple[int, int], ...], ...] = tuple(
            tuple((k, source) for k, (source, target) in enumerate(space.edges) if target == j)
            for j in range(1, space.n_nodes)
        )

    def _edge(self, k: int, x: torch.Tensor, selection: Selection) -> torch.Tensor:
        ops = cast(nn.ModuleList, self.edges[k])  # one ModuleList of ops per edge
        if isinstance(selection, Path):
            return ops[selection.arch.ops[k]](x)
        if isinstance(selection, Hard):
            chosen = selection.index[k]
            row = selection.hardwise[k]
            out = row[chosen] * ops[chosen](x)
            for o in range(len(ops)):
                if o != chosen:
                    out = out + row[o]  # value 0, gradient 1: the straight-through path to logit o
            return out
        row = selection.weights[k]
        out = row[0] * ops[0](x)
        for o in range(1, len(ops)):
            out = out + row[o] * ops[o](x)
        return out

    def forward(self, x: torch.Tensor, selection: Selection) -> torch.Tensor:
        nodes = [x]
        for node_inputs in self.inputs:
            total = self._edge(node_inputs[0][0], nodes[node_inputs[0][1]], selection)
            for k, source in node_inputs[1:]:
                total = total + self._edge(k, nodes[source], selection)
            nodes.append(total)
        return nodes[-1]


# ================================================================ network
class Supernet(nn.Module):
    """NAS-Bench-201's skeleton with `SearchCell`s; `forward(x, selection)` returns the logits."""

    def __init__(self, space: CellSpace, *, num_classes: int, channels: int, cells_per_stage: int) -> None:
        super().__init__()
        check_ops(space.ops)
        for name, value in (("num_classes", num_classes), ("channels", channels), ("cells", cells_per_stage)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"The {name!r} parameter of Supernet must be an int >= 1. Got {value!r} instead."
                )
        self.space = space
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        blocks: list[nn.Module] = []
        c_prev = channels
        for stage in range(3):
            c = channels * 2**stage
            if stage > 0:
                blocks.append(ResNetBasicBlock(c_prev, c, 2))
            blocks.extend(SearchCell(space, c) for _ in range(cells_per_stage))
            c_prev = c
        self.blocks = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor, selection: Selection) -> torch.Tensor:
        self._check(selection)
        x = self.stem(x)
        for block in self.blocks:
            x = block(x, selection) if isinstance(block, SearchCell) else block(x)
        return self.classifier(self.global_pooling(self.lastact(x)).flatten(1))

    def _check(self, selection: Selection) -> None:
        shape = (self.space.n_edges, self.space.n_ops)
        if isinstance(selection, Path):
            self.space.validate(selection.arch)
        elif isinstance(selection, Weighted) and tuple(selection.weights.shape) != shape:
            raise ConfigError(
                f"Weighted needs weights of shape {shape}, got {tuple(selection.weights.shape)}"
            )
        elif isinstance(selection, Hard) and (
            tuple(selection.hardwise.shape) != shape or len(selection.index) != shape[0]
        ):
            raise ConfigError(f"Hard needs hardwise of shape {shape} and {shape[0]} indices")


def build_supernet(
    space: CellSpace,
    *,
    num_classes: int,
    channels: int = 16,
    cells_per_stage: int = 5,
    generator: torch.Generator | None = None,
) -> Supernet:
    """The supernet of `space` at this width and depth; `generator` draws PyTorch's default init."""
    from nasbench_suite.live_training.model import initialize_weights

    net = Supernet(space, num_classes=num_classes, channels=channels, cells_per_stage=cells_per_stage)
    if generator is not None:
        initialize_weights(net, generator)
    return net
