from __future__ import annotations

import numpy as np

from nasbench_suite import encodings
from nasbench_suite.space import CellSpace

NB201 = CellSpace.nb201()
ALL_CONV = NB201.parse(
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
ALL_NONE = NB201.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
ONLY_SKIP_OUT = NB201.parse("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")


def test_one_hot_marks_one_op_per_edge() -> None:
    x = encodings.one_hot(NB201, [ALL_CONV, ALL_NONE])
    assert x.shape == (2, 30)
    assert (x.reshape(2, 6, 5).sum(axis=2) == 1).all()
    assert (x.reshape(2, 6, 5)[0, :, 3] == 1).all() and (x.reshape(2, 6, 5)[1, :, 0] == 1).all()


def test_path_encoding_counts_routes_by_op_sequence() -> None:
    assert encodings.path_length(NB201) == 4 + 16 + 64
    x = encodings.path(NB201, [ALL_CONV, ALL_NONE, ONLY_SKIP_OUT])
    # all-conv: the length-1, the two length-2 routes (same op sequence: one column) and the length-3 route
    assert x[0].sum() == 3
    assert x[1].sum() == 0  # no route carries signal
    assert x[2].sum() == 1 and x[2][0] == 1  # the single route is the skip edge 0->3 (skip is op rank 0)


def test_adjacency_disconnects_none_edges() -> None:
    x = encodings.adjacency(NB201, [ALL_CONV, ALL_NONE])
    n_graph = 8
    assert x.shape == (2, n_graph * (n_graph - 1) // 2 + 30)
    adj_conv, adj_none = x[0, :28], x[1, :28]
    assert adj_none.sum() == 0
    # all-conv: input->3 ops on edges from node 0, 3 ops into node 3 -> output, and op->op links
    # (0,1)->(1,2),(1,3); (0,2)->(2,3); (1,2)->(2,3): 3 + 3 + 4 = 10
    assert adj_conv.sum() == 10


def test_encodings_are_deterministic_functions_of_the_arch() -> None:
    rng = np.random.default_rng(0)
    archs = [NB201.sample(rng) for _ in range(50)]
    for encode in encodings.ENCODINGS.values():
        a, b = encode(NB201, archs), encode(NB201, list(archs))
        assert a.dtype == np.float32 and np.array_equal(a, b)
