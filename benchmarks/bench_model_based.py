"""Benchmark: the model-based strategies before and after they were made cheaper, side by side in one run.

For gp_bo, BANANAS and BOHB (with NAS-Bench-201's max_fidelity 12, where its model is used; with the
default two rungs it never gathers enough results for one), `--runs` searches on the NAS-Bench-201
protocol (cifar10-valid, 12-epoch validation accuracy, 12000 simulated seconds) with the current class
and with the previous implementation (`baseline_model_based.py`: the same class with only its model
swapped back), alternating which goes first run by run so that load drifts hit both alike. Reported:
the mean real seconds per run spent inside ask/tell (construction included), their ratio, the median
of the per-run ratios, how many runs proposed exactly the same archs, and the mean final test accuracy.

The swapped-model baseline shares everything else with the current class, so work outside the model
(candidate pools, encodings) made cheaper since then speeds up both sides. With `--baseline DIR` (a
source tree of the previous commit, default $NASBENCH_SUITE_BASELINE, else /tmp/oldwt/base:
`git worktree add /tmp/oldwt/base 515caf2`) the same searches also run in fresh processes of that tree
and of this checkout, in turn, `--pairs` times: each process does one warm-up run (imports, first
fits; not counted) and then `--runs` runs; reported are the median over processes of the mean seconds
per run inside ask/tell, their ratio, and how many runs proposed the same archs.

Run: python benchmarks/bench_model_based.py [--store data/store] [--runs 5] [--out bench-results]
     [--only NAME] [--baseline DIR] [--pairs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from baseline_model_based import BASELINES  # beside this script, on the path when it runs
from trees import ROOT, layout_of, run_probe

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


DEFAULT_BASELINE = os.environ.get("NASBENCH_SUITE_BASELINE", "/tmp/oldwt/base")

# Runs inside the measured tree (its own modules on PYTHONPATH); prints one JSON line.
PROBE = r"""
import json, sys
store_path, name, runs, layout, hparams = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5])
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
if layout == "top":
    import strategies
else:
    from nasbench_suite import strategies
store = Store(store_path)
spec = ComparisonSpec((name,), ("cifar10-valid",), runs + 1, Budget(BudgetKind.SECONDS, 12000), seed=0, hparams={name: hparams})
seconds, archs = [], []
for run in range(runs + 1):  # run 0 warms up (imports, first fits) and is not counted
    cols, meta = run_one(store, spec, name, "cifar10-valid", run, strategies.build)
    if run:
        seconds.append(meta["overhead_s"])
        archs.append([int(a) for a in cols["arch_index"]])
print(json.dumps({"seconds": seconds, "archs": archs}))
"""


def probe(tree: Path | None, store: Path, name: str, hparams: Mapping[str, Any], runs: int) -> dict[str, Any]:
    """Seconds per run inside ask/tell and the archs proposed, in a fresh process of `tree` (None: this
    checkout)."""
    layout = layout_of(tree or ROOT)
    result: dict[str, Any] = run_probe(
        tree, PROBE, [str(store), name, str(runs), layout, json.dumps(dict(hparams))]
    )
    return result


def against_commit(
    baseline: Path, store: Path, name: str, hparams: Mapping[str, Any], runs: int, pairs: int
) -> dict[str, Any]:
    """The previous commit and this checkout in fresh processes, in turn (`pairs` each)."""
    before, after, same = [], [], 0
    for pair in range(pairs):
        order = [("before", baseline), ("after", None)]
        results = {
            label: probe(tree, store, name, hparams, runs) for label, tree in order[:: 1 - 2 * (pair % 2)]
        }
        before.append(statistics.fmean(results["before"]["seconds"]))
        after.append(statistics.fmean(results["after"]["seconds"]))
        if pair == 0:
            same = sum(
                b == a for b, a in zip(results["before"]["archs"], results["after"]["archs"], strict=True)
            )
    b, a = statistics.median(before), statistics.median(after)
    return {
        "runs": runs,
        "pairs": pairs,
        "before_per_run_s": b,
        "after_per_run_s": a,
        "ratio": b / a,
        "identical_runs": same,
    }


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
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="source tree of the previous commit")
    parser.add_argument("--pairs", type=int, default=3)
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
    commit: dict[str, Any] = {}
    baseline = Path(args.baseline)
    if (baseline / "nasbench_suite").is_dir():
        print(f"\nagainst the previous commit ({baseline}), fresh processes in turn, {args.pairs} each:")
        print(
            f"| strategy | before (per run) | after (per run) | ratio | identical runs ({args.runs} runs) |"
        )
        print("|---|---|---|---|---|")
        for label, name, hparams in cases:
            r = commit[label] = against_commit(
                baseline, Path(args.store).resolve(), name, hparams, args.runs, args.pairs
            )
            print(
                f"| `{label}` | {r['before_per_run_s']:.3f} s | {r['after_per_run_s']:.3f} s | {r['ratio']:.1f}x "
                f"| {r['identical_runs']}/{r['runs']} |"
            )
    else:
        print(f"\nno baseline tree at {baseline}: only the swapped-model comparison above")
    load = f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    machine = f"{os.cpu_count()} CPUs, python {platform.python_version()}, numpy {np.__version__}"
    print(f"\nmachine: {machine}; one process; {load}; total {time.perf_counter() - started:.0f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model_based.json").write_text(
        json.dumps({"machine": machine, "load": load, "results": results, "against_commit": commit}, indent=1)
    )
    print(f"wrote {out / 'model_based.json'}")


if __name__ == "__main__":
    main()
