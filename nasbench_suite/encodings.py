"""Fixed-length vector encodings of cells for performance predictors (GP, BANANAS, ...).

All take a sequence of archs and return a float32 matrix with one row per arch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache

import numpy as np

from nasbench_suite.space import ZERO_OP, Arch, CellSpace


def _op_matrix(space: CellSpace, archs: Sequence[Arch]) -> np.ndarray:
    return np.array([a.ops for a in archs], dtype=np.int64).reshape(len(archs), space.n_edges)


def one_hot(space: CellSpace, archs: Sequence[Arch]) -> np.ndarray:
    """The op on every edge, one-hot: n_edges * n_ops columns (30 on NAS-Bench-201)."""
    ops = _op_matrix(space, archs)
    out = np.zeros((len(archs), space.n_edges, space.n_ops), dtype=np.float32)
    np.put_along_axis(out, ops[:, :, None], 1.0, axis=2)
    return out.reshape(len(archs), -1)


def adjacency(space: CellSpace, archs: Sequence[Arch]) -> np.ndarray:
    """Ops-on-nodes DAG (as BANANAS encodes NAS-Bench-101): one graph node per edge of the cell plus
    input and output, the flattened upper-triangular adjacency (edges with `none` are disconnected)
    followed by the one-hot op of every op node."""
    n_graph = space.n_edges + 2  # 0 = input, 1..n_edges = ops, last = output
    rows, cols = np.triu_indices(n_graph, k=1)
    zero = space.ops.index(ZERO_OP) if ZERO_OP in space.ops else -1
    last = space.n_nodes - 1
    out = np.zeros((len(archs), len(rows)), dtype=np.float32)
    for r, arch in enumerate(archs):
        adj = np.zeros((n_graph, n_graph), dtype=np.float32)
        live = [op != zero for op in arch.ops]
        for e, (src, dst) in enumerate(space.edges):
            if not live[e]:
                continue
            if src == 0:
                adj[0, e + 1] = 1
            for f, (_, dst_f) in enumerate(space.edges):
                if dst_f == src and live[f]:
                    adj[f + 1, e + 1] = 1
            if dst == last:
                adj[e + 1, n_graph - 1] = 1
        out[r] = adj[rows, cols]
    return np.concatenate([out, one_hot(space, archs)], axis=1)


@cache
def _routes(space: CellSpace) -> tuple[tuple[int, ...], ...]:
    """Every input-to-output route through the cell as a tuple of edge positions."""
    edge_pos = {edge: k for k, edge in enumerate(space.edges)}
    last = space.n_nodes - 1
    routes = []
    for length in range(1, last + 1):
        for middle in itertools.combinations(range(1, last), length - 1):
            nodes = (0, *middle, last)
            routes.append(tuple(edge_pos[(a, b)] for a, b in itertools.pairwise(nodes)))
    return tuple(routes)


def path_length(space: CellSpace) -> int:
    """Columns of the path encoding: op sequences of length 1..n_nodes-1 over the non-zero ops."""
    k = space.n_ops - (ZERO_OP in space.ops)
    return sum(k**length for length in range(1, space.n_nodes))


def path(space: CellSpace, archs: Sequence[Arch]) -> np.ndarray:
    """BANANAS path encoding (White et al., AAAI 2021): one binary column per sequence of ops that can
    form an input-to-output path; a column is 1 when some route through the cell carries that sequence.

    Routes through a `none` edge carry no signal and are dropped (as in BANANAS' definition), so the
    vocabulary is over the non-zero ops: 4 + 16 + 64 = 84 columns on NAS-Bench-201. NASLib's NAS-Bench-201
    variant keeps `none` in its vocabulary (155 columns); the information is the same.
    """
    nonzero = [k for k, op in enumerate(space.ops) if op != ZERO_OP]
    rank = {op: r for r, op in enumerate(nonzero)}
    base = len(nonzero)
    offsets = np.cumsum([0] + [base**length for length in range(1, space.n_nodes)])
    out = np.zeros((len(archs), path_length(space)), dtype=np.float32)
    for r, arch in enumerate(archs):
        for route in _routes(space):
            ops = [arch.ops[e] for e in route]
            if any(op not in rank for op in ops):
                continue
            column = offsets[len(ops) - 1] + sum(rank[op] * base**j for j, op in enumerate(ops))
            out[r, column] = 1.0
    return out


ENCODINGS = {"one_hot": one_hot, "adjacency": adjacency, "path": path}
