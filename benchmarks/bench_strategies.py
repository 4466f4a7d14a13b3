"""Benchmark: what each strategy costs in real time, so a user sees the price of model-based search.

For every registered strategy: `--runs` NAS-Bench-201 searches (cifar10-valid, 12-epoch validation
accuracy, 12000 simulated seconds), one process, one after the other; the runner measures the real
seconds spent inside `ask`/`tell` (construction included). Reported: mean overhead per run and per
evaluation, and the mean number of evaluations. Strategies that need a constraint or a second objective
get the contract suite's (latency_s at most its median, flops_m).

With a baseline tree (`--baseline DIR`, default $NASBENCH_SUITE_BASELINE, else /tmp/oldwt/base: `git
worktree add /tmp/oldwt/base 515caf2`), every strategy registered in both is also timed before and
after, side by side: fresh processes of the baseline tree and of this checkout, in turn, `--pairs`
each, every strategy one warm-up run (not counted) and then `--runs` runs, in one process per tree.
Reported per strategy: the median over processes of the mean seconds per run inside ask/tell and of
the whole run (the runner, the oracle and the strategy; no run file), and their ratios.

Run: python benchmarks/bench_strategies.py [--store data/store] [--runs 10] [--out bench-results]
     [--baseline DIR] [--pairs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from trees import ROOT, layout_of, run_probe  # beside this script, on the path when it runs

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
from nasbench_suite.testing import problem_extras

DATASET = "cifar10-valid"
BUDGET = Budget(BudgetKind.SECONDS, 12000)
DEFAULT_BASELINE = os.environ.get("NASBENCH_SUITE_BASELINE", "/tmp/oldwt/base")

# Runs inside the measured tree (its own modules on PYTHONPATH); prints one JSON line.
PROBE = r"""
import json, sys, statistics
store_path, runs, layout, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
if layout == "top":
    import strategies
    from strategies.contract import problem_extras
else:
    from nasbench_suite import strategies
    from nasbench_suite.testing import problem_extras
store = Store(store_path)
out = {}
for name in names:
    if name not in strategies.names():
        continue
    spec = ComparisonSpec((name,), ("cifar10-valid",), runs + 1, Budget(BudgetKind.SECONDS, 12000), seed=0, **problem_extras(name, store))
    metas = [run_one(store, spec, name, "cifar10-valid", run, strategies.build)[1] for run in range(runs + 1)][1:]
    out[name] = {"overhead_s": statistics.fmean(m["overhead_s"] for m in metas), "wall_s": statistics.fmean(m["wall_s"] for m in metas)}
print(json.dumps(out))
"""


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


def before_and_after(baseline: Path, store: Path, names: list[str], runs: int, pairs: int) -> dict[str, Any]:
    """Per strategy registered in both trees: median per-run seconds (inside ask/tell, whole run) in
    fresh processes of `baseline` and of this checkout, in turn."""
    samples: dict[str, dict[str, list[float]]] = {}
    trees = [("before", baseline), ("after", None)]
    for pair in range(pairs):
        for label, tree in trees if pair % 2 == 0 else trees[::-1]:
            args = [str(store), str(runs), layout_of(tree or ROOT), json.dumps(names)]
            for name, seconds in run_probe(tree, PROBE, args).items():
                for key, value in seconds.items():
                    samples.setdefault(name, {}).setdefault(f"{label}_{key}", []).append(value)
    both = {name: s for name, s in samples.items() if "before_wall_s" in s and "after_wall_s" in s}
    return {name: {key: statistics.median(values) for key, values in s.items()} for name, s in both.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="source tree of the previous commit")
    parser.add_argument("--pairs", type=int, default=2)
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
    compared: dict[str, Any] = {}
    baseline = Path(args.baseline)
    if (baseline / "nasbench_suite").is_dir():
        compared = before_and_after(
            baseline, Path(args.store).resolve(), strategies.names(), args.runs, args.pairs
        )
        print(
            f"\nbefore ({baseline}) and after, fresh processes in turn, {args.pairs} each, {args.runs} runs:"
        )
        print("| strategy | inside ask/tell: before | after | ratio | whole run: before | after | ratio |")
        print("|---|---|---|---|---|---|---|")
        for name, r in sorted(compared.items(), key=lambda kv: kv[1]["after_wall_s"]):
            print(
                f"| `{name}` | {r['before_overhead_s']:.4f} s | {r['after_overhead_s']:.4f} s "
                f"| {r['before_overhead_s'] / r['after_overhead_s']:.1f}x | {r['before_wall_s']:.4f} s "
                f"| {r['after_wall_s']:.4f} s | {r['before_wall_s'] / r['after_wall_s']:.1f}x |"
            )
        missing = sorted(set(strategies.names()) - set(compared))
        if missing:
            print(f"not in the baseline: {', '.join(missing)}")
    else:
        print(f"\nno baseline tree at {baseline}: this checkout only")
    machine = f"{os.cpu_count()} CPUs, python {platform.python_version()}, numpy {np.__version__}"
    print(f"\nmachine: {machine}; total {time.perf_counter() - started:.0f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "strategies.json").write_text(
        json.dumps({"machine": machine, "results": results, "before_and_after": compared}, indent=1)
    )
    print(f"wrote {out / 'strategies.json'}")


if __name__ == "__main__":
    main()
