"""The lean run loop gives the same searches as the plain one: block sampling, the store's index by op
tuple, the one-worker loop, cost lists, run files written without pandas."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest

from nasbench_suite import comparison, strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.comparison import run_comparison
from nasbench_suite.errors import InvalidArchError, UnknownNameError
from nasbench_suite.oracle import TabularOracle
from nasbench_suite.protocol import Fidelity, Proposal
from nasbench_suite.results import COLUMN_TYPES, COLUMNS, encode_run, load_rows
from nasbench_suite.runner import ComparisonSpec, drive, run_one
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.store import Store

NB201 = CellSpace.nb201()


@pytest.mark.parametrize("seed", range(5))
def test_sample_many_is_repeated_sample_and_leaves_the_generator_where_they_would(seed: int) -> None:
    one, many = np.random.default_rng(seed), np.random.default_rng(seed)
    # draw an odd number of bounded integers first: numpy keeps half a 64-bit word for the next draw
    one.integers(5, size=3), many.integers(5, size=3)
    expected = [NB201.sample(one) for _ in range(37)]
    assert NB201.sample_many(many, 37) == expected
    assert all(type(o) is int for a in expected for o in a.ops)
    assert one.integers(1000, size=4).tolist() == many.integers(1000, size=4).tolist()
    assert one.random() == many.random()


def test_random_search_proposes_one_sample_per_ask_in_order(tiny_store: Store) -> None:
    oracle = TabularOracle(
        tiny_store, "cifar100", Budget(BudgetKind.EVALUATIONS, 10), rng=np.random.default_rng(0)
    )
    search = strategies.build("random", oracle.problem, np.random.default_rng(7))
    reference = np.random.default_rng(7)
    for _ in range(200):  # several blocks: 16, 32, 64, 128
        assert search.ask() == Proposal(tiny_store.space.sample(reference), oracle.problem.default_fidelity)


def test_store_index_by_ops_agrees_with_the_code_and_still_refuses_what_it_refused(tiny_store: Store) -> None:
    space = tiny_store.space
    for k in range(tiny_store.n_archs):
        arch = Arch(tuple(int(o) for o in tiny_store.arch_ops[k]))
        assert tiny_store.index(arch) == k == tiny_store.index(space.format(arch))
        assert tiny_store.index(Arch(tuple(np.int64(o) for o in arch.ops))) == k  # numpy integers: allowed
    first = Arch(tuple(int(o) for o in tiny_store.arch_ops[1]))
    with pytest.raises(InvalidArchError):  # True == 1 and hashes alike: the shortcut must not take it
        tiny_store.index(Arch(tuple(bool(o) if o == 1 else o for o in first.ops)))
    with pytest.raises(InvalidArchError):
        tiny_store.index(Arch(tuple(float(o) for o in first.ops)))
    with pytest.raises(InvalidArchError):
        tiny_store.index(Arch((*first.ops, 0)))
    with pytest.raises(InvalidArchError):
        tiny_store.index(Arch(list(first.ops)))  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError):
        tiny_store.index(tiny_store.n_archs)


def test_one_worker_loop_is_ask_evaluate_tell(tiny_store: Store) -> None:
    budget = Budget(BudgetKind.SECONDS, 3000)

    def oracle() -> TabularOracle:
        return TabularOracle(tiny_store, "cifar100", budget, rng=np.random.default_rng(3))

    driven = oracle()
    overheads, total = drive(strategies.build("rea", driven.problem, np.random.default_rng(5)), driven)
    plain = oracle()
    search = strategies.build("rea", plain.problem, np.random.default_rng(5))
    while True:  # the loop written out with the oracle's one-worker evaluate
        proposal = search.ask()
        if (
            plain.spent.seconds + plain.cost.training(tiny_store.index(proposal.arch), proposal.fidelity)
            > 3000
        ):
            break
        search.tell(proposal, plain.evaluate(proposal.arch, proposal.fidelity))
    assert driven.trajectory.columns() == plain.trajectory.columns()
    assert len(overheads) == len(driven.trajectory) > 10 and total >= sum(overheads) > 0


def test_every_run_of_a_process_shares_one_cost_model_per_dataset_and_schedule(tiny_store: Store) -> None:
    def oracle(dataset: str, limit: float) -> TabularOracle:
        return TabularOracle(
            tiny_store, dataset, Budget(BudgetKind.SECONDS, limit), rng=np.random.default_rng(0)
        )

    first = oracle("cifar100", 3000)
    assert oracle("cifar100", 9).cost is first.cost
    assert oracle("ImageNet16-120", 3000).cost is not first.cost
    # the hand-made values of the cost rule are in test_oracle_rules; here: one float per arch, as asked
    costs = first.cost.training_all(Fidelity(12, 12))
    assert [first.cost.training(k, Fidelity(12, 12)) for k in range(tiny_store.n_archs)] == costs.tolist()


def test_run_files_have_the_declared_types_even_when_empty(tiny_store: Store, tmp_path: Path) -> None:
    spec = ComparisonSpec(("rea",), ("cifar100",), 1, Budget(BudgetKind.SECONDS, 3000))
    columns, meta = run_one(tiny_store, spec, "rea", "cifar100", 0, strategies.build)
    (tmp_path / "a.parquet").write_bytes(encode_run(columns, meta))
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.schema.names == list(COLUMNS)
    assert {f.name: str(f.type) for f in table.schema} == {
        k: {"int64": "int64", "float64": "double", "string": "string"}[v] for k, v in COLUMN_TYPES.items()
    }
    assert table.column("arch_index").to_pylist() == columns["arch_index"]
    assert table.column("measure").to_pylist() == [""] * len(columns["step"])
    np.testing.assert_array_equal(table.column("valid_seen").to_numpy(), columns["valid_seen"])
    empty = {name: [] for name in COLUMNS}
    (tmp_path / "b.parquet").write_bytes(encode_run(empty, meta))
    assert pq.read_table(tmp_path / "b.parquet").schema.types == table.schema.types  # not arrow's null
    # a numpy column keeps its own type (a float32 extra column stays float32)
    extra = dict(columns, extra_col=np.arange(len(columns["step"]), dtype=np.float32))
    (tmp_path / "c.parquet").write_bytes(encode_run(extra, meta, extra=("extra_col",)))
    assert str(pq.read_table(tmp_path / "c.parquet").schema.field("extra_col").type) == "float"


def test_encoding_a_run_file_does_not_import_pandas() -> None:
    code = (
        "import sys\n"
        "from nasbench_suite.results import COLUMNS, encode_run\n"
        "cols = {k: ['x'] if k in ('strategy', 'dataset', 'measure') else [1] for k in COLUMNS}\n"
        "assert encode_run(cols, {'run': 0})\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


SMALL = ComparisonSpec(("random", "rea"), ("cifar100",), 3, Budget(BudgetKind.SECONDS, 3000), seed=4)


def test_without_jobs_a_quick_grid_runs_in_this_process(
    tiny_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started for a grid that takes milliseconds")

    monkeypatch.setattr(comparison, "LocalExecutor", no_pool)
    monkeypatch.setattr(comparison, "POOL_PAYS_AFTER_S", 60.0)  # no timing: the grid is quick by definition
    assert len(run_comparison(tiny_store, SMALL, tmp_path / "auto", strategies.build, progress=False)) == 6


def test_without_jobs_a_grid_whose_runs_left_would_outlast_the_pools_start_gets_one_after_two_runs(
    tiny_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run 'takes' 0.1 s on a fake clock: after the second, the 4 left would take 0.4 s > 0.25 s
    (while the 0.2 s spent is still under it), so the pool gets those 4, in batches."""
    mapped: list[object] = []
    batches: list[int] = []

    class Counted(comparison.LocalExecutor):
        def __init__(self, jobs: int, **kwargs: object) -> None:
            batches.append(kwargs["batch_size"])  # type: ignore[arg-type]
            super().__init__(jobs, **kwargs)  # type: ignore[arg-type]

        def map(self, work, items, **kwargs):  # type: ignore[no-untyped-def, override]
            for item, result in super().map(work, items, **kwargs):
                mapped.append(item)
                yield item, result

    ticks = itertools.count()
    monkeypatch.setattr(comparison, "time", SimpleNamespace(perf_counter=lambda: 0.1 * next(ticks)))
    monkeypatch.setattr(comparison, "LocalExecutor", Counted)
    monkeypatch.setattr(comparison.os, "cpu_count", lambda: 2)
    assert comparison.POOL_PAYS_AFTER_S == 0.25
    run_comparison(tiny_store, SMALL, tmp_path / "auto", strategies.build, progress=False)
    assert len(mapped) == 4 and batches == [comparison.local_batch(4, 2)] == [1]
    assert [comparison.local_batch(n, 2) for n in (1, 16, 17, 256, 257, 10_000)] == [1, 1, 2, 16, 16, 16]
    run_comparison(tiny_store, SMALL, tmp_path / "one", strategies.build, jobs=1, progress=False)
    a, b = load_rows(tmp_path / "auto"), load_rows(tmp_path / "one")
    assert a.drop(columns="overhead_s").equals(b.drop(columns="overhead_s"))


def test_without_jobs_the_runs_after_the_quick_ones_go_to_a_pool(
    tiny_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []

    class Counted(comparison.LocalExecutor):
        def __init__(self, jobs: int, **kwargs: object) -> None:
            started.append(jobs)
            super().__init__(jobs, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(comparison, "LocalExecutor", Counted)
    monkeypatch.setattr(
        comparison, "POOL_PAYS_AFTER_S", 0.0
    )  # every run is slow enough: one here, then the pool
    monkeypatch.setattr(comparison.os, "cpu_count", lambda: 2)
    run_comparison(tiny_store, SMALL, tmp_path / "auto", strategies.build, progress=False)
    run_comparison(tiny_store, SMALL, tmp_path / "one", strategies.build, jobs=1, progress=False)
    assert started == [2]
    a, b = load_rows(tmp_path / "auto"), load_rows(tmp_path / "one")
    assert a.drop(columns="overhead_s").equals(b.drop(columns="overhead_s"))
