"""The NAS-Bench-201 network in PyTorch: parameter parity with the benchmark table, FLOPs, forward and
backward passes, out-of-table spaces, and the op registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
from torch import nn

from nasbench_suite.errors import ConfigError, InvalidArchError
from nasbench_suite.live_training.model import build_network, flops_m, param_count, params_mb
from nasbench_suite.live_training.ops import OPS, ResNetBasicBlock, make_op
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store

NB201 = CellSpace.nb201()
NUM_CLASSES = {"cifar10-valid": 10, "cifar100": 100, "ImageNet16-120": 120}
IMAGE_SIZE = {"cifar10-valid": 32, "cifar100": 32, "ImageNet16-120": 16}
SAMPLE_ARCHS = (0, 11, 284)  # the archs of the official NATS-Bench sample records
N_SAMPLED, N_CHUNKS = 300, 10  # building a network costs ~30 ms of CPU: the check is split into chunks
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def _stored_params(store: Store, dataset: str, indices: np.ndarray) -> np.ndarray:
    return np.asarray(store.table(dataset, "params_mb").values)[indices]


def _flagged(store: Store) -> np.ndarray:
    return np.asarray(store.table(None, "params_counts_mismatch").values).astype(bool)


def _count_mb(store: Store, index: int, num_classes: int) -> float:
    with torch.device("meta"):  # no weights allocated or initialized
        return params_mb(build_network(NB201, store.arch(index), num_classes=num_classes))


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny convolutions gain nothing from intra-op threads, and on a shared CPU spinning threads made a
    2-image forward pass 100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def sampled(real_store: Store) -> np.ndarray:
    rng = np.random.default_rng(201)
    drawn = rng.choice(np.setdiff1d(np.arange(real_store.n_archs), SAMPLE_ARCHS), N_SAMPLED, replace=False)
    return np.concatenate([SAMPLE_ARCHS, np.sort(drawn)])


# ================================================================ parity with the table
@pytest.mark.realdata
@pytest.mark.parametrize("chunk", range(N_CHUNKS))
@pytest.mark.parametrize("dataset", list(NUM_CLASSES))
def test_params_equal_the_table_for_sampled_archs(
    real_store: Store, sampled: np.ndarray, dataset: str, chunk: int
) -> None:
    indices = sampled[chunk::N_CHUNKS]
    ours = np.array([_count_mb(real_store, int(i), NUM_CLASSES[dataset]) for i in indices])
    stored = _stored_params(real_store, dataset, indices)
    flagged = _flagged(real_store)[indices]
    match = np.isclose(ours, stored, rtol=1e-6, atol=0)
    wrong = [
        f"{i} {real_store.arch_str(int(i))}: ours {o:.6f}, table {s:.6f}"
        for i, o, s, m, f in zip(indices, ours, stored, match, flagged, strict=True)
        if m == f
    ]
    assert not wrong, "in-table archs must match, flagged ones must not:\n" + "\n".join(wrong)


@pytest.mark.realdata
@pytest.mark.parametrize("chunk", range(5))
def test_flagged_archs_differ_from_the_table_by_exactly_one_conv(real_store: Store, chunk: int) -> None:
    """The table's 150 `params_counts_mismatch` archs: stored params imply one 1x1 or one 3x3 conv more
    or fewer (in each of the 15 cells) than the string has. Reported, not fitted."""
    indices = np.flatnonzero(_flagged(real_store))
    assert len(indices) == 150
    indices = indices[chunk::5]
    one_conv = {
        sign * 5 * sum(param_count(make_op(op, c, c)) for c in (16, 32, 64)) / 1e6
        for op in ("nor_conv_1x1", "nor_conv_3x3")
        for sign in (-1, 1)
    }
    for i in indices:
        diff = _stored_params(real_store, "cifar10-valid", i) - _count_mb(real_store, int(i), 10)
        assert any(np.isclose(diff, d, rtol=1e-6, atol=0) for d in one_conv), (i, diff)


@pytest.mark.realdata
def test_every_in_table_arch_matches_by_per_edge_sums(real_store: Store) -> None:
    """All 15625 archs at once: every edge of an NB201 cell maps C to C channels, so a network's count is
    the all-`none` network's plus the sum of its edge ops' counts (the sampled builds above confirm the
    additivity). Exactly the 150 flagged archs disagree."""
    per_edge = np.array([[param_count(make_op(op, c, c)) for c in (16, 32, 64)] for op in NB201.ops])
    per_edge = 5 * per_edge.sum(axis=1)
    flagged = _flagged(real_store)
    for dataset, num_classes in NUM_CLASSES.items():
        empty = param_count(build_network(NB201, NB201.parse(ALL_NONE), num_classes=num_classes))
        ours = (empty + per_edge[np.asarray(real_store.arch_ops)].sum(axis=1)) / 1e6
        stored = np.asarray(real_store.table(dataset, "params_mb").values)
        mismatch = ~np.isclose(ours, stored, rtol=1e-6, atol=0)
        assert np.array_equal(mismatch, flagged), dataset


@pytest.mark.realdata
@pytest.mark.parametrize("dataset", list(NUM_CLASSES))
def test_flops_equal_the_table_for_the_sample_archs(real_store: Store, dataset: str) -> None:
    for index in SAMPLE_ARCHS:
        net = build_network(NB201, real_store.arch(index), num_classes=NUM_CLASSES[dataset])
        ours = flops_m(net, image_size=IMAGE_SIZE[dataset])
        assert ours == pytest.approx(real_store.query(index, dataset, "flops_m"), rel=1e-9)
        assert net.training  # counting leaves the mode as it was


def test_params_of_the_all_none_network_by_hand() -> None:
    """stem 3*16*9 + BN 32; reduction blocks 16->32 and 32->64 (two 3x3 ReLU-Conv-BN + 1x1 shortcut);
    last BN 128; classifier 64*10 + 10."""
    stem = 432 + 32
    reductions = sum(ci * co * 9 + 2 * co + co * co * 9 + 2 * co + ci * co for ci, co in ((16, 32), (32, 64)))
    expected = stem + reductions + 128 + 650
    assert param_count(build_network(NB201, NB201.parse(ALL_NONE), num_classes=10)) == expected == 73306


# ================================================================ forward and backward
@pytest.mark.parametrize("num_classes", [10, 100, 120])
def test_forward_gives_one_logit_per_class(num_classes: int) -> None:
    net = build_network(
        NB201, NB201.parse(EXAMPLE), num_classes=num_classes, generator=torch.Generator().manual_seed(0)
    )
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    logits = net(x)
    assert logits.shape == (2, num_classes)
    assert torch.isfinite(logits).all()
    assert net(x[:, :, :16, :16]).shape == (2, num_classes)  # ImageNet16-120's image size


def test_the_head_is_bn_relu_pool_linear() -> None:
    net = build_network(NB201, NB201.parse(EXAMPLE), num_classes=10)
    bn, relu = net.lastact
    assert isinstance(bn, nn.BatchNorm2d) and bn.num_features == 64
    assert isinstance(relu, nn.ReLU)
    assert [type(c).__name__ for c in net.cells].count("ResNetBasicBlock") == 2
    assert len(net.cells) == 17


def _one_batch(num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    return torch.randn(8, 3, 32, 32, generator=g), torch.randint(num_classes, (8,), generator=g)


def test_partly_none_cell_passes_gradients_to_stem_and_reductions() -> None:
    cell = "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"
    net = build_network(
        NB201,
        NB201.parse(cell),
        num_classes=10,
        channels=8,
        cells_per_stage=2,
        generator=torch.Generator().manual_seed(0),
    )
    x, y = _one_batch(10)
    nn.functional.cross_entropy(net(x), y).backward()
    reductions = [net.cells[2], net.cells[5]]
    assert all(isinstance(block, ResNetBasicBlock) for block in reductions)
    for module in (net.stem, *reductions, net.classifier):
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)


def test_all_none_cell_trains_its_head_and_ignores_the_input() -> None:
    """An all-`none` cell outputs zeros, so the network's output cannot depend on the image (the
    benchmark's ~10% archs): backward still runs, the body gets zero gradients, the classifier bias learns
    the label prior."""
    net = build_network(
        NB201,
        NB201.parse(ALL_NONE),
        num_classes=10,
        channels=8,
        cells_per_stage=2,
        generator=torch.Generator().manual_seed(0),
    )
    x, y = _one_batch(10)
    losses = []
    for _ in range(10):  # plain SGD by hand: torch.optim's first step costs seconds of lazy imports
        net.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        losses.append(loss.item())
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.5 * p.grad
    assert losses[-1] < losses[0]
    assert all(p.grad is not None and not p.grad.any() for p in net.stem.parameters())
    assert net.classifier.bias.grad.any()
    net.eval()
    assert torch.equal(net(x[:1]), net(torch.zeros_like(x[:1])))


def test_generator_fixes_the_initial_weights() -> None:
    def weights(seed: int) -> list[torch.Tensor]:
        net = build_network(
            NB201,
            NB201.parse(EXAMPLE),
            num_classes=10,
            channels=4,
            cells_per_stage=1,
            generator=torch.Generator().manual_seed(seed),
        )
        return list(net.state_dict().values())

    a, b, c = weights(0), weights(0), weights(1)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, z) for x, z in zip(a, c, strict=True))


# ================================================================ out-of-table spaces
BIG = CellSpace(
    ("none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3", "sep_conv_3x3", "dil_conv_3x3", "nor_conv_5x5"),
    5,
)


def test_out_of_table_space_builds_and_trains() -> None:
    arch = Arch((1, 2, 3, 4, 5, 6, 4, 5, 6, 0))  # every op, 10 edges
    assert BIG.parse(BIG.format(arch)) == arch
    net = build_network(
        BIG, arch, num_classes=7, channels=8, cells_per_stage=2, generator=torch.Generator().manual_seed(0)
    )
    x, y = _one_batch(7)
    logits = net(x)
    assert logits.shape == (8, 7)
    nn.functional.cross_entropy(logits, y).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert net.stem[0].weight.grad.any()
    assert len(net.cells) == 2 + 1 + 2 + 1 + 2
    assert net.classifier.in_features == 32


@pytest.mark.parametrize(
    ("op", "expected"),
    [  # parameters at C -> C channels (BN: 2C)
        ("nor_conv_1x1", lambda c: c * c + 2 * c),
        ("nor_conv_3x3", lambda c: 9 * c * c + 2 * c),
        ("nor_conv_5x5", lambda c: 25 * c * c + 2 * c),
        ("sep_conv_3x3", lambda c: 2 * (9 * c + c * c + 2 * c)),  # DARTS: two depthwise-pointwise-BN blocks
        ("dil_conv_3x3", lambda c: 9 * c + c * c + 2 * c),  # DARTS: one dilated block
        ("avg_pool_3x3", lambda c: 0),
        ("skip_connect", lambda c: 0),
        ("none", lambda c: 0),
    ],
)
def test_op_parameter_counts(op: str, expected: Callable[[int], int]) -> None:
    assert param_count(make_op(op, 12, 12)) == expected(12)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(6, 6, 1), (6, 6, 2), (4, 6, 1), (4, 7, 2)])
def test_every_op_maps_the_shape(op: str, c_in: int, c_out: int, stride: int) -> None:
    out = make_op(op, c_in, c_out, stride)(
        torch.randn(2, c_in, 9, 9, generator=torch.Generator().manual_seed(0))
    )
    assert out.shape == (2, c_out, (9 + stride - 1) // stride, (9 + stride - 1) // stride)


def test_reduction_block_halves_the_resolution() -> None:
    block = ResNetBasicBlock(8, 16, 2)
    assert block(torch.zeros(1, 8, 8, 8)).shape == (1, 16, 4, 4)
    assert param_count(block) == 8 * 16 * 9 + 32 + 16 * 16 * 9 + 32 + 8 * 16


# ================================================================ errors
def test_an_op_without_implementation_is_a_config_error() -> None:
    space = CellSpace(("none", "skip_connect", "conv_9x9"), 3)
    with pytest.raises(
        ConfigError, match=r"no implementation for op\(s\) 'conv_9x9'.*implemented: none, skip_connect"
    ):
        build_network(space, Arch((0, 1, 1)), num_classes=10)
    with pytest.raises(ConfigError, match="'nope'"):
        make_op("nope", 4, 4)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"num_classes": 0}, "'num_classes' parameter of build_network must be an int >= 1. Got 0"),
        ({"num_classes": 10, "channels": 2.5}, "'channels'"),
        ({"num_classes": 10, "cells_per_stage": 0}, "'cells_per_stage'"),
        ({"num_classes": True}, "'num_classes'"),
    ],
)
def test_bad_sizes_are_config_errors(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        build_network(NB201, NB201.parse(EXAMPLE), **kwargs)


def test_an_arch_of_another_space_is_rejected() -> None:
    with pytest.raises(InvalidArchError, match="does not fit this space"):
        build_network(NB201, Arch((0, 1, 2)), num_classes=10)
