"""Benchmark: what each strategy costs in real time, so a user sees the price of model-based search.

For every registered strategy: `--runs` NAS-Bench-201 searches (cifar10-valid, 12-epoch validation
accuracy, 12000 simulated seconds), one process, one after the other; the runner measures the real
seconds spent inside `ask`/`tell` (construction included). Reported: mean overhead per run and per
evaluation, and the mean number of evaluations. Strategies that need a constraint or a second objective
get the contract suite's (latency_s at most its median, flops_m).

Run: python benchmarks/bench_strategies.py [--store data/store] [--runs 10] [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
from nasbench_suite.testing import problem_extras

DATASET = "cifar10-valid"
BUDGET = Budget(BudgetKind.SECONDS, 12000)


def measure(store: Store, name: str, runs: int) -> dict[str, float]:
    spec = ComparisonSpec((name,), (DATASET,), runs, BUDGET, seed=0, **problem_extras(name, store))
    metas = [run_one(store, spec, name, DATASET, run, strategies.build)[1] for run in range(runs)]
    overhead = np.array([m["overhead_s"] for m in metas])
    evaluations = np.array([m["evaluations"] for m in metas])
    return {
        "runs": runs,
        "overhead_per_run_s": float(overhead.mean()),
        "overhead_per_evaluation_ms": float(1000 * overhead.sum() / evaluations.sum()),
        "evaluations": float(evaluations.mean()),
        "final_test": float(np.mean([m["final_test"] for m in metas])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args()
    store = Store(args.store)
    started = time.perf_counter()
    results = {name: measure(store, name, args.runs) for name in strategies.names()}
    print(
        f"| strategy | overhead per run | per evaluation | evaluations per run ({args.runs} runs, 12000 s) |"
    )
    print("|---|---|---|---|")
    for name, r in sorted(results.items(), key=lambda kv: kv[1]["overhead_per_run_s"]):
        print(
            f"| `{name}` | {r['overhead_per_run_s']:.3f} s | {r['overhead_per_evaluation_ms']:.2f} ms | {r['evaluations']:.1f} |"
        )
    machine = f"{os.cpu_count()} CPUs, python {platform.python_version()}, numpy {np.__version__}"
    print(f"\nmachine: {machine}; one process; total {time.perf_counter() - started:.0f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "strategies.json").write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    print(f"wrote {out / 'strategies.json'}")


if __name__ == "__main__":
    main()
