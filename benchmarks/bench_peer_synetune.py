"""Benchmark: the suite against a peer, syne-tune 0.16's simulator, on the same table and the same costs.

Both sides search NAS-Bench-201 on the suite's protocol: cifar10-valid, the 12-epoch schedule's
validation accuracy (a seed mean: the table has no per-seed 12-epoch results, so neither side adds noise),
each evaluation charged the suite's simulated training seconds (`nasbench_suite.cost_model`), 12000
simulated seconds a run, one worker. syne-tune gets them as a `BlackboxTabular` of all 15625 archs (six
categorical edges; objectives `valid_error` = 100 - accuracy and `elapsed_time` = those seconds) run
through its `UserBlackboxBackend` with the `SimulatorCallback`, the way its NAS-Bench-201 examples
run; its `RandomSearch` and `REA` (population 10, sample 3: NAS-Bench-201's settings, as the suite's
`rea`) against the suite's `random` and `rea`. A syne-tune run writes its results folder (as the
suite writes a run file); the suite's run includes writing its run file.

Reported per strategy:
- in one process, runs alternating between the two: mean real seconds per run and per evaluation,
  the ratio, evaluations per run and the mean best 12-epoch validation accuracy found (same protocol:
  the same numbers are expected within their standard errors);
- whole processes (`--process-runs` runs each, imports included), in turn, `--pairs` times: median
  seconds per process and their ratio.

syne-tune is not a dependency of the suite. It is installed with `pip install syne-tune==0.16.0` (its
simulator needs only `dill` and `huggingface_hub` beside the suite's packages: `pip install --no-deps
syne-tune==0.16.0 dill huggingface_hub` avoids xgboost, which only its other optimizers import).
Without it this benchmark says so and exits.

Run: python benchmarks/bench_peer_synetune.py [--store data/store] [--runs 10] [--process-runs 20]
     [--pairs 3] [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.cost_model import CostModel
from nasbench_suite.protocol import Fidelity
from nasbench_suite.results import write_run
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store

DATASET = "cifar10-valid"
SECONDS = 12000.0
STRATEGIES = ("random", "rea")


def blackbox(store: Store) -> Any:
    """The suite's table as a syne-tune tabular blackbox: every arch, its 12-epoch validation error
    and its simulated training seconds."""
    import pandas as pd
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import choice, randint

    accuracy = np.asarray(store.table(DATASET, "valid_acc", 12).column("mean"), dtype=float)
    seconds = CostModel.of(store, DATASET, store.schedules(DATASET, "valid_acc"), 12).training_all(
        Fidelity.full(12)
    )
    ops, codes = list(store.space.ops), np.asarray(store.arch_ops)
    edges = [f"edge{e}" for e in range(codes.shape[1])]
    hyperparameters = pd.DataFrame({edge: [ops[c] for c in codes[:, e]] for e, edge in enumerate(edges)})
    objectives = np.stack([100.0 - accuracy, seconds], axis=-1)[:, None, None, :]  # (archs, seed, epoch, 2)
    return BlackboxTabular(
        hyperparameters,
        {edge: choice(ops) for edge in edges},
        {"epochs": randint(12, 12)},
        objectives,
        fidelity_values=np.array([12]),
        objectives_names=["valid_error", "elapsed_time"],
    )


def peer_run(table: Any, name: str, seed: int, folder: Path) -> tuple[float, int, float]:
    """One syne-tune search: (real seconds, evaluations within the budget, best validation accuracy)."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.baselines import REA, RandomSearch

    space = dict(table.configuration_space)
    started = time.perf_counter()
    if name == "random":
        scheduler: Any = RandomSearch(space, metrics=["valid_error"], do_minimize=True, random_seed=seed)
    else:
        scheduler = REA(
            space, "valid_error", do_minimize=True, random_seed=seed, population_size=10, sample_size=3
        )
    tuner = Tuner(
        trial_backend=UserBlackboxBackend(blackbox=table, elapsed_time_attr="elapsed_time"),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_wallclock_time=SECONDS),
        n_workers=1,
        sleep_time=0,
        callbacks=[SimulatorCallback()],
        save_tuner=False,
        print_update_interval=1e9,
        results_update_interval=1e9,
        tuner_name=f"peer-{name}-{seed}",
        trial_backend_path=str(folder),
    )
    tuner.run()
    seconds = time.perf_counter() - started
    frame = tuner.tuning_status.get_dataframe()
    done = frame[(frame["status"] == "Completed") & (frame["st_tuner_time"] <= SECONDS)]
    return seconds, len(done), 100.0 - float(done["valid_error"].min())


def suite_run(store: Store, name: str, run: int, folder: Path) -> tuple[float, int, float]:
    """One suite search with its run file written: (real seconds, evaluations, best validation accuracy
    seen: the 12-epoch value the search ranks by, as syne-tune's)."""
    spec = ComparisonSpec((name,), (DATASET,), run + 1, Budget(BudgetKind.SECONDS, SECONDS), seed=0)
    started = time.perf_counter()
    columns, meta = run_one(store, spec, name, DATASET, run, strategies.build)
    write_run(folder / f"{name}-{run}.parquet", columns, meta)
    return time.perf_counter() - started, int(meta["evaluations"]), float(columns["incumbent_valid_seen"][-1])


def in_process(store: Store, runs: int, folder: Path) -> dict[str, Any]:
    table, out = blackbox(store), {}
    for name in STRATEGIES:
        ours, peer = [], []
        for run in range(runs + 1):  # run 0 of each side warms up (imports, first calls): not counted
            for side in ("ours", "peer") if run % 2 == 0 else ("peer", "ours"):
                if side == "ours":
                    result = suite_run(store, name, run, folder)
                else:
                    result = peer_run(table, name, run, folder)
                if run:
                    (ours if side == "ours" else peer).append(result)
        o, p = np.array(ours), np.array(peer)
        out[name] = {
            "ours_s_per_run": float(o[:, 0].mean()),
            "peer_s_per_run": float(p[:, 0].mean()),
            "ratio": float(p[:, 0].mean() / o[:, 0].mean()),
            "ours_us_per_evaluation": float(1e6 * o[:, 0].sum() / o[:, 1].sum()),
            "peer_us_per_evaluation": float(1e6 * p[:, 0].sum() / p[:, 1].sum()),
            "ours_evaluations": float(o[:, 1].mean()),
            "peer_evaluations": float(p[:, 1].mean()),
            "ours_valid": (float(o[:, 2].mean()), float(o[:, 2].std(ddof=1) / np.sqrt(len(o)))),
            "peer_valid": (float(p[:, 2].mean()), float(p[:, 2].std(ddof=1) / np.sqrt(len(p)))),
        }
    return out


# One side's whole process: imports, the store or blackbox, `runs` searches; prints nothing it needs.
PROCESS = r"""
import sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import bench_peer_synetune as b
from nasbench_suite.store import Store
store = Store(sys.argv[2])
side, name, runs = sys.argv[3], sys.argv[4], int(sys.argv[5])
with tempfile.TemporaryDirectory() as folder:
    table = b.blackbox(store) if side == "peer" else None
    for run in range(runs):
        if side == "peer":
            b.peer_run(table, name, run, Path(folder))
        else:
            b.suite_run(store, name, run, Path(folder))
"""


def whole_processes(store_path: Path, runs: int, pairs: int) -> dict[str, Any]:
    here, out = str(Path(__file__).resolve().parent), {}
    for name in STRATEGIES:
        seconds: dict[str, list[float]] = {"ours": [], "peer": []}
        for pair in range(pairs):
            for side in ("ours", "peer") if pair % 2 == 0 else ("peer", "ours"):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", PROCESS, here, str(store_path), side, name, str(runs)],
                    capture_output=True,
                    text=True,
                    cwd=tempfile.gettempdir(),
                )
                if done.returncode != 0:
                    raise SystemExit(f"the {side} process failed:\n{done.stderr[-2000:]}")
                seconds[side].append(time.perf_counter() - started)
        ours, peer = statistics.median(seconds["ours"]), statistics.median(seconds["peer"])
        out[name] = {"runs": runs, "ours_s": ours, "peer_s": peer, "ratio": peer / ours}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--process-runs", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args()
    try:
        import syne_tune
    except ImportError:
        print("syne-tune is not installed (pip install syne-tune==0.16.0): no peer to compare with")
        return
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    store_path = Path(args.store).resolve()
    store, started, load = Store(store_path), time.perf_counter(), os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    os.environ["SYNETUNE_FOLDER"] = str(folder)  # its results folders, here and in the processes below
    try:
        per_run = in_process(store, args.runs, folder)
        processes = whole_processes(store_path, args.process_runs, args.pairs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"In one process, alternating, {args.runs} runs each (syne-tune {syne_tune.__version__}):\n")
    print(
        "| strategy | suite s/run | syne-tune s/run | ratio | µs/evaluation (suite / syne-tune) | evaluations | best validation (suite / syne-tune) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, r in per_run.items():
        (ov, oe), (pv, pe) = r["ours_valid"], r["peer_valid"]
        print(
            f"| `{name}` | {r['ours_s_per_run']:.4f} | {r['peer_s_per_run']:.3f} | {r['ratio']:.0f}x "
            f"| {r['ours_us_per_evaluation']:.1f} / {r['peer_us_per_evaluation']:.0f} "
            f"| {r['ours_evaluations']:.1f} / {r['peer_evaluations']:.1f} | {ov:.2f} ± {oe:.2f} / {pv:.2f} ± {pe:.2f} |"
        )
    print(
        f"\nWhole processes ({args.process_runs} runs each, imports included), median of {args.pairs} in turn:\n"
    )
    print("| strategy | suite s | syne-tune s | ratio |")
    print("|---|---|---|---|")
    for name, r in processes.items():
        print(f"| `{name}` | {r['ours_s']:.2f} | {r['peer_s']:.2f} | {r['ratio']:.1f}x |")
    machine = f"{os.cpu_count()} CPUs, python {platform.python_version()}, numpy {np.__version__}"
    print(f"\nmachine: {machine}; load average {load:.1f}; total {time.perf_counter() - started:.0f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine, "in_process": per_run, "processes": processes}
    (out / "peer_synetune.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {out / 'peer_synetune.json'}")


if __name__ == "__main__":
    main()
