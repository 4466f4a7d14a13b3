"""One-shot NAS mechanics on tiny synthetic data (CPU, seconds): gradients, the DARTS-V2 Hessian-vector
product against autograd, GDAS's straight-through sampling, uniform path sampling, the ENAS controller,
derived archs, resume after a crash, the latency fit, and the command's one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nasbench_suite.cli import main
from nasbench_suite.errors import ConfigError, UnknownNameError
from nasbench_suite.live_training.data import LiveDataset
from nasbench_suite.live_training.oneshot.base import Batch
from nasbench_suite.live_training.oneshot.darts import DartsV1, DartsV2, hessian_vector_product
from nasbench_suite.live_training.oneshot.enas import Controller, ControllerSettings, Enas, Reinforce
from nasbench_suite.live_training.oneshot.gdas import Gdas, gumbel_hard, tau_at
from nasbench_suite.live_training.oneshot.latency import LatencyPenalty, fit_latency
from nasbench_suite.live_training.oneshot.methods import METHODS
from nasbench_suite.live_training.oneshot.rsps import Rsps
from nasbench_suite.live_training.oneshot.search import SearchSettings, run_search
from nasbench_suite.live_training.oneshot.setn import Setn, sample_archs
from nasbench_suite.live_training.oneshot.supernet import Path as CellPath
from nasbench_suite.live_training.oneshot.supernet import Weighted, build_supernet
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store, StoreBuilder, TableSpec

SMALL = CellSpace(("none", "skip_connect", "nor_conv_1x1"), 3)  # 3 edges, 27 cells


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: two threads spin-wait on each other on a loaded CPU (40x slower measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


NB201 = CellSpace.nb201()


def _data(n_train: int = 32, n_valid: int = 16, side: int = 8, classes: int = 4) -> LiveDataset:
    """Learnable synthetic data: the class is which quadrant is bright."""
    rng = np.random.default_rng(0)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, classes, n)
        x = rng.integers(0, 60, (n, side, side, 3)).astype(np.uint8)
        h = side // 2
        for k, label in enumerate(y):
            r, c = divmod(int(label), 2)
            x[k, r * h : (r + 1) * h, c * h : (c + 1) * h] += 150
        return x, y.astype(np.int64)

    (tx, ty), (vx, vy), (sx, sy) = part(n_train), part(n_valid), part(n_valid)
    return LiveDataset("synthetic", tx, ty, vx, vy, sx, sy, (0.3,) * 3, (0.2,) * 3, classes, 1)


def _batch(n: int = 8, side: int = 8, seed: int = 0, dtype: torch.dtype = torch.float32) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        torch.randn(n, 3, side, side, generator=g, dtype=dtype), torch.randint(0, 4, (n,), generator=g)
    )


def _method(cls, space: CellSpace = SMALL, seed: int = 0, **kwargs):
    g = torch.Generator().manual_seed(seed)
    net = build_supernet(space, num_classes=4, channels=4, cells_per_stage=1, generator=g)
    return cls(net, epochs=4, steps_per_epoch=2, generator=g, **kwargs)


def _cell_weights(method) -> list[torch.Tensor]:
    return [p.detach().clone() for n, p in method.supernet.named_parameters() if ".edges." in n]


# ============================================================================ gradients and updates
@pytest.mark.parametrize("cls", [DartsV1, DartsV2, Gdas, Setn])
def test_one_step_moves_alpha_and_the_shared_weights(cls) -> None:
    method = _method(cls)
    alpha, weights = method.alpha.detach().clone(), _cell_weights(method)
    method.step(_batch(seed=1), _batch(seed=2))
    assert method.alpha.grad is not None and method.alpha.grad.abs().sum() > 0
    assert not torch.equal(method.alpha.detach(), alpha)
    changed = [not torch.equal(a, b) for a, b in zip(weights, _cell_weights(method), strict=True)]
    assert any(changed)
    if cls in (DartsV1, DartsV2):  # the weighted sum trains every op
        assert all(changed)


@pytest.mark.parametrize("cls", [Rsps, Enas])
def test_path_methods_train_the_shared_weights_of_the_sampled_path(cls) -> None:
    method = _method(cls)
    before = [p.detach().clone() for p in method.supernet.parameters()]
    method.step(_batch(seed=1), _batch(seed=2))
    changed = sum(
        not torch.equal(a, p.detach()) for a, p in zip(before, method.supernet.parameters(), strict=True)
    )
    assert changed > 0


def _smooth(module: torch.nn.Module) -> torch.nn.Module:
    """Every ReLU replaced by tanh: a finite difference of a ReLU network's gradient crosses kinks where
    the gradient jumps, so it cannot converge to autograd's (almost-everywhere) second derivative."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.ReLU):
            setattr(module, name, torch.nn.Tanh())
        else:
            _smooth(child)
    return module


def test_darts_v2_finite_difference_hessian_vector_product_matches_autograd() -> None:
    g = torch.Generator().manual_seed(3)
    net = _smooth(build_supernet(SMALL, num_classes=4, channels=3, cells_per_stage=1, generator=g)).double()
    alpha = torch.nn.Parameter(torch.randn(SMALL.n_edges, SMALL.n_ops, generator=g, dtype=torch.float64))
    batch, valid = _batch(n=16, dtype=torch.float64), _batch(n=16, seed=9, dtype=torch.float64)
    weights = list(net.parameters())

    def loss_of(b: Batch) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(net(b.x, Weighted(alpha.softmax(1))), b.y)

    vector = [v.detach() for v in torch.autograd.grad(loss_of(valid), weights)]  # as DARTS: a val gradient
    # exact: d/d alpha of <grad_w L_train(w, alpha), v>
    grad_w = torch.autograd.grad(loss_of(batch), weights, create_graph=True)
    exact = torch.autograd.grad(sum((gw * v).sum() for gw, v in zip(grad_w, vector, strict=True)), alpha)[0]
    before = [w.detach().clone() for w in weights]
    error = {
        r: float(
            torch.linalg.norm(hessian_vector_product(net, alpha, vector, batch, r=r) - exact)
            / torch.linalg.norm(exact)
        )
        for r in (1e-2, 1e-3)
    }
    assert error[1e-2] < 1e-2  # DARTS's eps = 0.01 / ||v||
    assert error[1e-3] < error[1e-2] / 50  # central difference: the error falls as eps^2
    for w, b in zip(weights, before, strict=True):  # the weights are put back
        torch.testing.assert_close(w.detach(), b, rtol=0, atol=1e-12)


def test_darts_v2_alpha_gradient_differs_from_first_order() -> None:
    v1, v2 = _method(DartsV1), _method(DartsV2)
    train, valid = _batch(seed=1), _batch(seed=2)
    v2.set_lr(0)
    second = v2.unrolled_alpha_grad(train, valid)
    probs = v1.probabilities()
    first = torch.autograd.grad(
        torch.nn.functional.cross_entropy(v1.supernet(valid.x, Weighted(probs)), valid.y), v1.alpha
    )[0]
    assert second.shape == first.shape and torch.isfinite(second).all()
    assert not torch.allclose(first, second)


# ============================================================================ GDAS
def test_gdas_forward_is_exactly_one_hot_and_backward_reaches_every_logit() -> None:
    method = _method(Gdas)
    with torch.no_grad():
        method.alpha.copy_(torch.randn(method.alpha.shape, generator=torch.Generator().manual_seed(5)))
        method.alpha[:, 0] = -30.0  # no `none` edge: every edge of the sampled cell reaches the output
    selection = gumbel_hard(method.alpha, 1.0, torch.Generator().manual_seed(1))
    one_hot = torch.zeros(SMALL.n_edges, SMALL.n_ops)
    one_hot[torch.arange(SMALL.n_edges), torch.tensor(selection.index)] = 1.0
    assert torch.equal(selection.hardwise.detach(), one_hot)
    x = _batch(seed=3).x
    method.supernet.eval()
    logits = method.supernet(x, selection)
    assert torch.equal(logits.detach(), method.supernet(x, CellPath(Arch(selection.index))).detach())
    logits.sum().backward()
    assert (method.alpha.grad != 0).all()


def test_gdas_temperature_falls_linearly_from_10_to_0_1() -> None:
    assert [tau_at(e, 5) for e in range(5)] == pytest.approx([10.0, 7.525, 5.05, 2.575, 0.1])


# ============================================================================ sampling
class _ConstantNet(torch.nn.Module):
    def forward(self, x: torch.Tensor, selection: Weighted) -> torch.Tensor:
        return torch.zeros(len(x), 4) + selection.weights.sum()


def test_rsps_and_setn_sample_paths_uniformly() -> None:
    n = 300
    for cls in (Rsps, Setn):
        method = _method(cls, space=NB201)
        seen: list[tuple[int, ...]] = []

        def record(selection, batch, seen=seen) -> tuple[float, float]:
            seen.append(selection.arch.ops)
            return 0.0, 0.0

        method.weight_step = record
        method.supernet = (
            _ConstantNet()
        )  # SETN's arch step needs only a differentiable function of its weights
        for _ in range(n):
            method.step(_batch(n=2, side=4), _batch(n=2, side=4))
        counts = np.zeros((NB201.n_edges, NB201.n_ops))
        for ops in seen:
            NB201.validate(Arch(ops))  # one op index in range per edge
            counts[np.arange(NB201.n_edges), ops] += 1
        p = 1 / NB201.n_ops
        sd = np.sqrt(n * p * (1 - p))
        assert np.abs(counts - n * p).max() < 5 * sd, cls.name


def test_setn_candidates_follow_its_architecture_distribution() -> None:
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]])
    n = 2000
    archs = sample_archs(probs, n, torch.Generator().manual_seed(0))
    counts = np.zeros((3, 3))
    for a in archs:
        counts[np.arange(3), a.ops] += 1
    sd = np.sqrt(n * probs.numpy() * (1 - probs.numpy()))
    assert (np.abs(counts - n * probs.numpy()) < 5 * sd).all()


# ============================================================================ ENAS
def test_enas_controller_moves_towards_a_planted_reward() -> None:
    """Planted reward: the fraction of edges whose op matches a target cell (0.2 on average for a uniform
    controller). After training, the mean reward of fresh samples is far above its start, measured in
    standard errors of the sample means."""
    target = np.array([3, 1, 2, 4, 0, 3])
    g = torch.Generator().manual_seed(0)
    # the official controller and reward shaping; a larger lr and fewer aggregated samples than ENAS's
    # (0.001, 20) so that a few hundred samples show the direction
    controller = Controller(NB201.n_edges, NB201.n_ops, ControllerSettings(lr=0.05, aggregate=5), g)

    def reward(arch: Arch, k: int = 0) -> float:
        return float(np.mean(np.array(arch.ops) == target))

    def rewards(n: int = 300) -> np.ndarray:
        with torch.no_grad():
            return np.array([reward(controller(g)[2]) for _ in range(n)])

    before = rewards()
    Reinforce(controller, g).train(reward, steps=60)
    after = rewards()
    se = np.sqrt(before.var(ddof=1) / len(before) + after.var(ddof=1) / len(after))
    assert abs(before.mean() - 0.2) < 5 * before.std(ddof=1) / np.sqrt(len(before))
    assert after.mean() - before.mean() > 5 * se


# ============================================================================ the driver
@pytest.mark.parametrize("method", list(METHODS))
def test_search_derives_a_valid_cell_every_epoch(method: str) -> None:
    hparams = (
        {"select_num": 5}
        if method in ("rsps", "setn")
        else {"controller_steps": 2}
        if method == "enas"
        else {}
    )
    settings = SearchSettings(
        method, 2, channels=2, cells_per_stage=1, batch_size=16, threads=1, hparams=hparams
    )
    records = run_search(NB201, _data(), settings)
    assert [r.epoch for r in records] == [1, 2]
    for r in records:
        assert NB201.format(NB201.parse(r.arch)) == r.arch and NB201.parse(r.arch).ops == r.ops
        assert r.seconds > 0 and 0 <= r.valid_acc <= 100


@pytest.mark.realdata
def test_derived_cell_has_a_table_index(real_store: Store) -> None:
    records = run_search(
        NB201, _data(), SearchSettings("darts_v1", 1, channels=2, cells_per_stage=1, batch_size=16, threads=1)
    )
    index = real_store.index(records[-1].arch)
    assert 0 <= index < 15625 and real_store.arch_str(index) == records[-1].arch


@pytest.mark.parametrize("method", ["rsps", "darts_v1", "enas"])
def test_killed_search_resumes_to_the_same_derived_cells(method: str, tmp_path: Path) -> None:
    hparams = {"select_num": 5} if method == "rsps" else {"controller_steps": 2} if method == "enas" else {}
    settings = SearchSettings(
        method, 3, channels=2, cells_per_stage=1, batch_size=16, threads=1, hparams=hparams
    )
    data = _data()
    whole = run_search(NB201, data, settings)

    class Killed(Exception):
        pass

    def kill_after_first(record) -> None:
        if record.epoch == 1:
            raise Killed

    ckpt = tmp_path / "search.pt"
    with pytest.raises(Killed):
        run_search(NB201, data, settings, checkpoint=ckpt, on_epoch=kill_after_first)
    resumed = run_search(NB201, data, settings, checkpoint=ckpt)
    assert [(r.arch, r.valid_acc, r.train_loss) for r in resumed] == [
        (r.arch, r.valid_acc, r.train_loss) for r in whole
    ]


def test_checkpoint_of_another_search_is_refused(tmp_path: Path) -> None:
    ckpt = tmp_path / "search.pt"
    run_search(
        NB201,
        _data(),
        SearchSettings("darts_v1", 1, channels=2, cells_per_stage=1, batch_size=16, threads=1),
        checkpoint=ckpt,
    )
    with pytest.raises(ConfigError, match="another search"):
        run_search(
            NB201,
            _data(),
            SearchSettings("gdas", 1, channels=2, cells_per_stage=1, batch_size=16, threads=1),
            checkpoint=ckpt,
        )


def test_bad_settings_are_refused() -> None:
    with pytest.raises(UnknownNameError, match="unknown one-shot method 'dartz'"):
        SearchSettings("dartz", 1)
    with pytest.raises(ConfigError, match="select_num"):
        SearchSettings("rsps", 1, hparams={"select_num": 0})
    with pytest.raises(ConfigError, match="unknown hyperparameter 'tau' of 'gdas'"):
        SearchSettings("gdas", 1, hparams={"tau": 1.0})


# ============================================================================ latency
def _latency_store(path: Path) -> Store:
    """All 15625 NB201 cells with an exactly additive pixel3 latency: 1 + sum_e (e + 1) * op_e / 10."""
    archs = list(NB201.enumerate())
    ops = np.array([a.ops for a in archs], dtype=np.int8)
    lat = 1 + (ops * (np.arange(6) + 1)).sum(1) / 10
    builder = StoreBuilder(NB201, ops, provenance={"importer": "test"})
    builder.add(TableSpec("cifar10-valid", "hw_latency_ms/pixel3"), lat)
    builder.add(TableSpec("cifar10-valid", "params_mb"), np.zeros(len(archs)))
    return Store(builder.write(path))


def test_latency_fit_recovers_an_additive_table(tmp_path: Path) -> None:
    store = _latency_store(tmp_path / "lat")
    model = fit_latency(store, "cifar10-valid", "hw_latency_ms/pixel3")
    assert model.r2 == pytest.approx(1.0, abs=1e-12) and model.n == 15625
    arch = Arch((4, 3, 2, 1, 0, 4))
    assert model.predict(arch) == pytest.approx(1 + (4 * 1 + 3 * 2 + 2 * 3 + 1 * 4 + 0 + 4 * 6) / 10)
    uniform = torch.full((6, 5), 0.2, dtype=torch.float64)
    assert float(model.expected(uniform)) == pytest.approx(1 + 2 * 21 / 10)  # mean op index 2
    penalty = LatencyPenalty(model, limit=3.0, weight=2.0, margin=0.0)
    assert float(penalty(uniform)) == pytest.approx(2.0 * (5.2 - 3.0) / 3.0)
    with pytest.raises(ConfigError, match="hardware latency"):
        fit_latency(store, "cifar10-valid", "params_mb")


# ============================================================================ the command
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dartz"], "unknown one-shot method 'dartz'"),
        (["darts_v1_lat"], "give --constraint"),
        (
            [
                "darts_v1_lat",
                "--constraint",
                "hw_latency_ms/pixel3<=10",
                "--ops",
                "none,skip_connect,nor_conv_3x3",
            ],
            "needs the table's space",
        ),
        (["darts_v1", "--ops", "none,warp_conv"], "no implementation for op(s) 'warp_conv'"),
        (["darts_v1", "--device", "cuda:7"], "cuda"),
        (["darts_v1", "--hparams", '{"darts_v1": {"lr": 1}}'], "unknown hyperparameter 'lr'"),
        (["darts_v1", "--hparams", "{oops"], "--hparams must be a JSON object"),
        # the data and the latency device are checked before config.json is written
        (["rsps", "--images", "/nonexistent/images"], "no images at /nonexistent/images"),
        (["rsps", "--splits", "/nonexistent/splits"], "no split file /nonexistent/splits"),
        (["rsps", "--dataset", "ImageNet16-120"], "is not an ImageNet16 directory"),
        (["darts_v1_lat", "--constraint", "hw_latency_ms/nosuchdev<=10"], "no 'hw_latency_ms/nosuchdev'"),
        (
            ["rsps", "--constraint", "hw_latency_ms/nosuchdev<=10", "--images", "/nonexistent/images"],
            "no 'hw_latency_ms/nosuchdev' for cifar10-valid; measured: hw_latency_ms/1080ti_1",
        ),
    ],
)
@pytest.mark.realdata
def test_oneshot_command_bad_options_are_one_line(
    argv, message, tmp_path: Path, capsys, real_store_path: Path
) -> None:
    out = tmp_path / "out"
    code = main(["oneshot", *argv, "--out", str(out), "--store", str(real_store_path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.realdata
def test_oneshot_command_writes_a_comparison_directory_that_report_reads(
    tmp_path: Path, capsys, real_store_path: Path
) -> None:
    from nasbench_suite.live_training.oneshot.report import format_markdown, oneshot_rows
    from nasbench_suite.results import load_rows, load_runs

    out = tmp_path / "os"
    argv = [
        "oneshot", "rsps,darts_v1", "--epochs", "2", "--runs", "1", "--subset", "32", "--eval-subset", "16",
        "--channels", "2", "--cells", "1", "--threads", "1", "--quiet", "--out", str(out),
        "--store", str(real_store_path), "--hparams", json.dumps({"rsps": {"select_num": 3}}),
    ]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "rsps" in text and "darts_v1" in text and "measured wall seconds" in text
    rows = load_rows(out)
    assert list(rows.groupby("strategy").size()) == [2, 2]  # one row per search epoch
    assert (rows["epoch"] == rows["step"] + 1).all() and (rows["cost_s"] > 0).all()
    assert np.allclose(rows.groupby("strategy")["time_s"].max(), rows.groupby("strategy")["cost_s"].sum())
    assert (rows["table_equiv_s"] > 0).all()
    store = Store(real_store_path)
    valid = np.asarray(store.table("cifar10-valid", "valid_acc", 200).column("mean"))
    assert np.array_equal(rows["incumbent_valid"].to_numpy(), valid[rows["incumbent_index"].to_numpy()])
    runs = load_runs(out)
    for meta in runs.itertuples():
        ops = [NB201.ops[o] for o in NB201.parse(meta.derived_arch).ops]
        assert meta.skip_count == ops.count("skip_connect")
    # the same command again finds every run done; report --table reads the found cells from the table
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["report", str(out), "--table", "md", "--store", str(real_store_path)]) == 0
    assert "rsps" in capsys.readouterr().out
    table = oneshot_rows(out, store)
    assert [r.method for r in table] == ["rsps", "darts_v1"] and table[0].runs == 1
    assert "DARTS-V1 | published | 39.77" in format_markdown(table)


_TINY = ["--epochs", "1", "--runs", "1", "--subset", "32", "--eval-subset", "16", "--channels", "2", "--cells", "1",
         "--threads", "1", "--quiet"]  # fmt: skip


def _config(out: Path, oneshot: dict | None) -> Path:
    """A results directory holding only a config.json (of a table comparison, or of a one-shot one)."""
    from nasbench_suite.budget import Budget, BudgetKind
    from nasbench_suite.results import write_config
    from nasbench_suite.runner import ComparisonSpec

    spec = ComparisonSpec(("rsps",), ("cifar10-valid",), 1, Budget(BudgetKind.EPOCHS, 1.0)).to_json()
    write_config(out, {"spec": spec | ({"oneshot": oneshot} if oneshot else {}), "data_checksum": "x"})
    return out


@pytest.mark.realdata
def test_runs_of_another_space_are_not_read_from_the_table(
    tmp_path: Path, capsys, real_store_path: Path
) -> None:
    """Their arch_index is a code of the small space: the table would give another arch's accuracies."""
    from nasbench_suite.reproduction.protocols import NB201 as NB201_PROTOCOL
    from nasbench_suite.reproduction.run import check_oneshot_dir

    out = tmp_path / "small"
    store = ["--store", str(real_store_path)]
    assert (
        main(
            ["oneshot", "rsps", "--ops", "none,skip_connect,nor_conv_3x3", *_TINY, "--out", str(out), *store]
        )
        == 0
    )
    capsys.readouterr()
    for flag in (["--table", "md"], ["--html"]):
        assert main(["report", str(out), *flag, *store]) == 2
        err = capsys.readouterr().err
        assert "another space" in err and len(err.strip().splitlines()) == 1
    assert not (out / "report.html").exists()
    assert main(["report", str(out), *store]) == 0  # the summary reads no table
    with pytest.raises(ConfigError, match="another space"):
        check_oneshot_dir(NB201_PROTOCOL, Store(real_store_path), out)
    repro = tmp_path / "repro"
    assert (
        main(["reproduce", "nb201", "--oneshot", str(out), "--runs", "1", "--out", str(repro), *store]) == 2
    )
    assert "another space" in capsys.readouterr().err and not repro.exists()


@pytest.mark.parametrize(
    ("paper", "oneshot", "message"),
    [
        ("nats", {"ops": list(NB201.ops), "nodes": 4}, "--oneshot adds rows to the nb201 table only"),
        ("white2021", {"ops": list(NB201.ops), "nodes": 4}, "--oneshot adds rows to the nb201 table only"),
        ("nb201", None, "holds no one-shot runs"),  # a `compare` directory
        ("nb201", {"ops": list(NB201.ops), "nodes": 4}, "no finished runs"),
        ("nb201", "missing", "is not a results directory"),
    ],
)
@pytest.mark.realdata
def test_reproduce_checks_the_oneshot_directory_before_running(
    paper, oneshot, message, tmp_path: Path, capsys, real_store_path: Path
) -> None:
    given = tmp_path / "given" if oneshot == "missing" else _config(tmp_path / "given", oneshot)
    repro = tmp_path / "repro"
    argv = ["reproduce", paper, "--oneshot", str(given), "--runs", "1", "--out", str(repro)]
    assert main([*argv, "--quiet", "--store", str(real_store_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not repro.exists()


def test_the_oneshot_modules_import_no_private_names() -> None:
    """What they share with the live recipe and model (threads, atomic checkpoints, weight init) is public."""
    import ast

    import nasbench_suite.live_training.oneshot as package

    private = [
        f"{path.name}: {alias.name}"
        for path in sorted(Path(package.__file__).parent.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nasbench_suite")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []
