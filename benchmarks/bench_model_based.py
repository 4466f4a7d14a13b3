"""Benchmark: the model-based strategies before and after they were made cheaper, side by side in one run.

For gp_bo, BANANAS and BOHB (with NAS-Bench-201's max_fidelity 12, where its model is used; with the
default two rungs it never gathers enough results for one), `--runs` searches on the NAS-Bench-201
protocol (cifar10-valid, 12-epoch validation accuracy, 12000 simulated seconds) with the current class
and with the previous implementation (`baseline_model_based.py`: the same class with only its model
swapped back), alternating which goes first run by run so that load drifts hit both alike. Reported:
the mean real seconds per run spent inside ask/tell (construction included), their ratio, the median
of the per-run ratios, how many runs proposed exactly the same archs, and the mean final test accuracy.

Run: python benchmarks/bench_model_based.py [--store data/store] [--runs 5] [--out bench-results] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from baseline_model_based import BASELINES  # beside this script, on the path when it runs

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.protocol import SearchProblem
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store

DATASET = "cifar10-valid"
BUDGET = Budget(BudgetKind.SECONDS, 12000)
CASES: tuple[tuple[str, str, Mapping[str, Any]], ...] = (
    ("gp_bo", "gp_bo", {}),
    ("bananas", "bananas", {}),
    ("bohb (max_fidelity 12)", "bohb", {"max_fidelity": "12"}),
)


def baseline_factory(
    name: str, problem: SearchProblem, rng: np.random.Generator, hparams: Mapping[str, Any]
) -> Any:
    return BASELINES[name](problem, rng, **hparams)


def measure(store: Store, name: str, hparams: Mapping[str, Any], runs: int) -> dict[str, Any]:
    spec = ComparisonSpec((name,), (DATASET,), runs, BUDGET, seed=0, hparams={name: dict(hparams)})
    before, after, same, test_before, test_after = [], [], 0, [], []
    for run in range(runs):
        order = [("after", strategies.build), ("before", baseline_factory)]
        results = {}
        for label, factory in order if run % 2 == 0 else order[::-1]:
            results[label] = run_one(store, spec, name, DATASET, run, factory)
        (cols_b, meta_b), (cols_a, meta_a) = results["before"], results["after"]
        before.append(meta_b["overhead_s"])
        after.append(meta_a["overhead_s"])
        test_before.append(meta_b["final_test"])
        test_after.append(meta_a["final_test"])
        same += list(cols_b["arch_index"]) == list(cols_a["arch_index"])
    b, a = np.array(before), np.array(after)
    return {
        "runs": runs,
        "before_per_run_s": float(b.mean()),
        "after_per_run_s": float(a.mean()),
        "ratio": float(b.mean() / a.mean()),
        "median_paired_ratio": float(np.median(b / a)),
        "identical_runs": same,
        "final_test_before": float(np.mean(test_before)),
        "final_test_after": float(np.mean(test_after)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--only", choices=[name for _, name, _ in CASES], help="time this strategy only")
    args = parser.parse_args()
    store = Store(args.store)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    cases = [case for case in CASES if args.only in (None, case[1])]
    results = {label: measure(store, name, hparams, args.runs) for label, name, hparams in cases}
    print(
        f"| strategy | before (per run) | after (per run) | ratio | median paired ratio | identical runs ({args.runs} runs) | final test before / after |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, r in results.items():
        print(
            f"| `{label}` | {r['before_per_run_s']:.3f} s | {r['after_per_run_s']:.3f} s | {r['ratio']:.1f}x "
            f"| {r['median_paired_ratio']:.1f}x | {r['identical_runs']}/{r['runs']} "
            f"| {r['final_test_before']:.2f} / {r['final_test_after']:.2f} |"
        )
    load = f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    machine = f"{os.cpu_count()} CPUs, python {platform.python_version()}, numpy {np.__version__}"
    print(f"\nmachine: {machine}; one process; {load}; total {time.perf_counter() - started:.0f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model_based.json").write_text(
        json.dumps({"machine": machine, "load": load, "results": results}, indent=1)
    )
    print(f"wrote {out / 'model_based.json'}")


if __name__ == "__main__":
    main()
