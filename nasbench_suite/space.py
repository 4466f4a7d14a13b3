"""Cell search spaces of the NAS-Bench-201 kind: a DAG of nodes where every earlier node feeds every
later node through one op, and a node sums its inputs.

`CellSpace.nb201()` is the benchmark's space (4 nodes, 6 edges, 5 ops, 15625 cells); a larger space
(more ops, more nodes) is the same code with other parameters, which the live trainer relies on.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from nasbench_suite.errors import InvalidArchError

_DIGITS = re.compile(r"[0-9]+")
NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
ZERO_OP = "none"
IDENTITY_OP = "skip_connect"


@dataclass(frozen=True, slots=True)
class Arch:
    """One cell: the op index of every edge, edges in the order of the official string."""

    ops: tuple[int, ...]


@dataclass(frozen=True)
class CellSpace:
    """All cells with `n_nodes` nodes (node 0 is the input, the last node the output) and `ops` per edge."""

    ops: tuple[str, ...] = NB201_OPS
    n_nodes: int = 4

    def __post_init__(self) -> None:
        if self.n_nodes < 2:
            raise InvalidArchError(f"a cell needs at least 2 nodes, got n_nodes={self.n_nodes}")
        if len(self.ops) < 2 or len(set(self.ops)) != len(self.ops):
            raise InvalidArchError(f"a cell space needs at least 2 distinct ops, got {self.ops}")
        bad = [op for op in self.ops if not op or any(c in op for c in "|~+")]
        if bad:
            raise InvalidArchError(f"op names may not be empty or contain '|', '~' or '+': {bad}")

    @classmethod
    def nb201(cls) -> CellSpace:
        return cls(NB201_OPS, 4)

    # ---------------------------------------------------------------- structure
    @cached_property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """(source, target) per edge, in string order: node 1's inputs, then node 2's, ..."""
        return tuple((i, j) for j in range(1, self.n_nodes) for i in range(j))

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def n_ops(self) -> int:
        return len(self.ops)

    @property
    def size(self) -> int:
        return int(self.n_ops**self.n_edges)

    @cached_property
    def _op_index(self) -> dict[str, int]:
        return {op: k for k, op in enumerate(self.ops)}

    @cached_property
    def _code_weights(self) -> np.ndarray:
        return self.n_ops ** np.arange(self.n_edges, dtype=np.int64)

    # ---------------------------------------------------------------- strings
    def format(self, arch: Arch) -> str:
        """The official string, e.g. `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|`."""
        self.validate(arch)
        nodes = []
        k = 0
        for j in range(1, self.n_nodes):
            inputs = []
            for i in range(j):
                inputs.append(f"{self.ops[arch.ops[k]]}~{i}")
                k += 1
            nodes.append("|" + "|".join(inputs) + "|")
        return "+".join(nodes)

    def parse(self, text: str) -> Arch:
        """Parse an official string; every edge must be given exactly once."""
        example = self.format(Arch((0,) * self.n_edges)) if self.n_edges <= 6 else "|op~0|+|op~0|op~1|+..."
        nodes = text.strip().split("+")
        if len(nodes) != self.n_nodes - 1:
            raise InvalidArchError(
                f"malformed arch string {text!r}: expected {self.n_nodes - 1} nodes separated by '+', "
                f"got {len(nodes)}; format: {example}"
            )
        ops: list[int] = []
        for j, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
                raise InvalidArchError(f"malformed arch string {text!r}: node {j} must look like |op~i|...|")
            seen: dict[int, int] = {}
            for token in node[1:-1].split("|"):
                op, sep, src = token.partition("~")
                if not sep or not _DIGITS.fullmatch(src):  # [0-9] only: str.isdigit takes '²' and '٣'
                    raise InvalidArchError(f"malformed arch string {text!r}: edge {token!r} is not 'op~i'")
                if op not in self._op_index:
                    raise InvalidArchError(
                        f"unknown op {op!r} in arch string; valid ops: {', '.join(self.ops)}"
                    )
                i = int(src)
                if i >= j or i in seen:
                    raise InvalidArchError(
                        f"malformed arch string {text!r}: node {j} must take each of nodes 0..{j - 1} once"
                    )
                seen[i] = self._op_index[op]
            if len(seen) != j:
                raise InvalidArchError(
                    f"malformed arch string {text!r}: node {j} has {len(seen)} inputs, needs {j}"
                )
            ops.extend(seen[i] for i in range(j))
        return Arch(tuple(ops))

    def validate(self, arch: object) -> Arch:
        """`arch`, checked to be an Arch of this space; InvalidArchError otherwise."""
        if not isinstance(arch, Arch):
            raise InvalidArchError(f"expected an Arch, got {type(arch).__name__}")
        if not isinstance(arch.ops, tuple) or not all(
            isinstance(o, (int, np.integer)) and not isinstance(o, (bool, np.bool_)) for o in arch.ops
        ):  # 1.0 or True are refused, not coerced to an op
            raise InvalidArchError(f"arch ops must be a tuple of whole numbers, got {arch.ops!r}")
        if len(arch.ops) != self.n_edges or not all(0 <= o < self.n_ops for o in arch.ops):
            raise InvalidArchError(
                f"arch {arch.ops} does not fit this space: needs {self.n_edges} op indices in 0..{self.n_ops - 1}"
            )
        return arch

    # ---------------------------------------------------------------- codes (dense integer ids)
    def code(self, arch: Arch) -> int:
        """A dense id in 0..size-1 (base-n_ops digits, edge 0 least significant). Not the benchmark index."""
        return int(np.dot(arch.ops, self._code_weights))

    def codes(self, ops: np.ndarray) -> np.ndarray:
        """`code` for a (n, n_edges) array of op indices."""
        codes: np.ndarray = np.asarray(ops, dtype=np.int64) @ self._code_weights
        return codes

    def from_code(self, code: int) -> Arch:
        digits = []
        for _ in range(self.n_edges):
            code, d = divmod(code, self.n_ops)
            digits.append(d)
        return Arch(tuple(digits))

    def enumerate(self) -> Iterator[Arch]:
        """Every cell, in code order (not benchmark index order)."""
        for ops in itertools.product(range(self.n_ops), repeat=self.n_edges):
            yield Arch(tuple(reversed(ops)))

    # ---------------------------------------------------------------- sampling and mutation
    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniform random cell."""
        return Arch(tuple(rng.integers(self.n_ops, size=self.n_edges).tolist()))

    def sample_many(self, rng: np.random.Generator, count: int) -> list[Arch]:
        """The `count` cells that `count` calls of `sample` would return, in order, leaving `rng` in the
        same state, at the cost of one call: numpy draws bounded integers one after the other from the
        generator's stream whatever the array's shape."""
        n = self.n_edges
        flat = rng.integers(self.n_ops, size=count * n).tolist()
        return [Arch(tuple(flat[k : k + n])) for k in range(0, count * n, n)]

    def neighbours(self, arch: Arch) -> list[Arch]:
        """All cells that differ in exactly one edge: n_edges * (n_ops - 1) of them (24 on NAS-Bench-201)."""
        out = []
        for e, current in enumerate(arch.ops):
            for op in range(self.n_ops):
                if op != current:
                    out.append(Arch((*arch.ops[:e], op, *arch.ops[e + 1 :])))
        return out

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """One uniformly chosen one-edge neighbour (NAS-Bench-201's mutation: a random edge gets a
        different op)."""
        e = int(rng.integers(self.n_edges))
        op = int(rng.integers(self.n_ops - 1))
        if op >= arch.ops[e]:
            op += 1
        return Arch((*arch.ops[:e], op, *arch.ops[e + 1 :]))

    # ---------------------------------------------------------------- isomorphism
    def canonical(self, arch: Arch, *, merge_zeros: bool = False) -> str:
        """A string equal for isomorphic cells.

        By default this is NAS-Bench-201's `to_unique_str(consider_zero=True)`, which gives the paper's
        6466 unique cells: `skip_connect` is the identity, other ops wrap their input, a sum is sorted,
        and a `none` edge (or an edge from a node that is exactly zero) leaves a zero term `#` in the sum.
        `merge_zeros=True` is full functional equivalence instead: zero terms vanish, sums flatten through
        identity edges, so x + 0 == x and skip(a + b) + c == a + b + c.
        """
        if merge_zeros:
            return repr(self._expression(arch))
        exprs = ["0"]
        k = 0
        for j in range(1, self.n_nodes):
            terms = []
            for i in range(j):
                op = self.ops[arch.ops[k]]
                k += 1
                if op == ZERO_OP or exprs[i] == "#":
                    terms.append("#")
                elif op == IDENTITY_OP:
                    terms.append(exprs[i])
                else:
                    terms.append(f"({exprs[i]})@{op}")
            exprs.append("+".join(sorted(terms)))
        return exprs[-1]

    def _expression(self, arch: Arch) -> tuple[Any, ...]:
        """The output as a sorted multiset of terms; a term is the input `()` or `(op, expression)`."""
        nodes: list[tuple[Any, ...]] = [((),)]
        k = 0
        for j in range(1, self.n_nodes):
            terms: list[tuple[Any, ...]] = []
            for i in range(j):
                op = self.ops[arch.ops[k]]
                k += 1
                if op == IDENTITY_OP:
                    terms.extend(nodes[i])
                elif op != ZERO_OP and nodes[i]:
                    terms.append((op, nodes[i]))
            nodes.append(tuple(sorted(terms, key=repr)))
        return nodes[-1]
