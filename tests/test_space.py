from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite.errors import InvalidArchError
from nasbench_suite.space import Arch, CellSpace

NB201 = CellSpace.nb201()
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_example_string_round_trips_with_edges_in_string_order() -> None:
    arch = NB201.parse(EXAMPLE)
    assert arch.ops == (3, 3, 4, 1, 3, 1)
    assert NB201.format(arch) == EXAMPLE
    assert NB201.edges == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def test_every_official_string_round_trips(real_store) -> None:
    for index in range(0, real_store.n_archs, 7):
        text = real_store.arch_str(index)
        assert NB201.format(NB201.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected 3 nodes"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|", "node 2 has 1 inputs, needs 2"),
        ("|conv9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv9'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 must take each of nodes 0..0 once"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "is not 'op~i'"),
        ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "must look like"),
    ],
)
def test_malformed_strings_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(InvalidArchError, match=fragment):
        NB201.parse(text)


def test_neighbours_are_the_24_one_edge_changes() -> None:
    arch = NB201.parse(EXAMPLE)
    neighbours = NB201.neighbours(arch)
    assert len(neighbours) == 24 == len(set(neighbours))
    assert all(sum(a != b for a, b in zip(n.ops, arch.ops, strict=True)) == 1 for n in neighbours)


def test_mutation_is_uniform_over_neighbours() -> None:
    rng = np.random.default_rng(0)
    arch = NB201.parse(EXAMPLE)
    neighbours = NB201.neighbours(arch)
    draws = 24_000
    counts = {n: 0 for n in neighbours}
    for _ in range(draws):
        counts[NB201.mutate(arch, rng)] += 1
    # each count is Binomial(24000, 1/24): mean 1000, sd 31; 5 sd bounds
    assert sum(counts.values()) == draws
    assert all(abs(c - 1000) < 5 * 31 for c in counts.values())


def test_sampling_is_uniform_per_edge() -> None:
    rng = np.random.default_rng(1)
    ops = np.array([NB201.sample(rng).ops for _ in range(10_000)])
    freq = np.stack([(ops == k).mean(axis=0) for k in range(5)])
    # each frequency ~ 0.2 with sd sqrt(.2*.8/10000) = 0.004
    assert np.abs(freq - 0.2).max() < 5 * 0.004


def test_canonical_forms_reproduce_the_papers_6466_unique_cells() -> None:
    assert NB201.size == 15625
    assert len({NB201.canonical(a) for a in NB201.enumerate()}) == 6466


def test_canonical_forms_identify_known_isomorphisms() -> None:
    # a conv fed by a node that is a skip of the input is a conv of the input
    a = NB201.parse("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    b = NB201.parse("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    assert a != b and NB201.canonical(a) == NB201.canonical(b)
    # the intermediate nodes swapped; the paper's rule keeps the zero term of the none edge 1->2 in
    # node 2's sum, so only full functional equivalence identifies the two
    c = NB201.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    d = NB201.parse("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    assert NB201.canonical(c) != NB201.canonical(d)
    assert NB201.canonical(c, merge_zeros=True) == NB201.canonical(d, merge_zeros=True)
    # node 2 sums two zero terms; the paper's rule does not see that the sum is zero, so a conv of it
    # differs from a none edge there
    e = NB201.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    f = NB201.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert NB201.canonical(e) != NB201.canonical(f)
    assert NB201.canonical(e, merge_zeros=True) == NB201.canonical(f, merge_zeros=True)


def test_functional_equivalence_merges_more_than_the_papers_rule() -> None:
    assert len({NB201.canonical(a, merge_zeros=True) for a in NB201.enumerate()}) == 4930


def test_codes_are_a_bijection() -> None:
    codes = [NB201.code(a) for a in NB201.enumerate()]
    assert sorted(codes) == list(range(15625))
    arch = NB201.parse(EXAMPLE)
    assert NB201.from_code(NB201.code(arch)) == arch


def test_a_larger_space_is_the_same_code() -> None:
    big = CellSpace(
        (
            "none",
            "skip_connect",
            "nor_conv_1x1",
            "nor_conv_3x3",
            "avg_pool_3x3",
            "sep_conv_3x3",
            "dil_conv_3x3",
        ),
        5,
    )
    assert big.n_edges == 10 and big.size == 7**10
    rng = np.random.default_rng(2)
    arch = big.sample(rng)
    text = big.format(arch)
    assert text.count("+") == 3 and big.parse(text) == arch
    assert len(big.neighbours(arch)) == 60
    assert big.mutate(arch, rng) in set(big.neighbours(arch))
    with pytest.raises(InvalidArchError):
        NB201.parse(text)


def test_archs_from_another_space_are_rejected() -> None:
    with pytest.raises(InvalidArchError, match="does not fit"):
        NB201.validate(Arch((0, 1, 2)))
    with pytest.raises(InvalidArchError, match="distinct ops"):
        CellSpace(("none", "none"), 4)
