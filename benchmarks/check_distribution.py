"""Check: does a strategy's result distribution stay where it was? The same `--runs` seeded searches in a
fresh process of a baseline source tree and of this checkout; reported per quantity (final test and
validation accuracy, evaluations): both means with their standard errors, the difference and its z,
the mean paired difference by seed, and how many runs proposed exactly the same archs.

Used where a change moves results by last bits (ties then break otherwise): the README's BOHB rows came
from `--strategy bohb --hparams '{"max_fidelity": "12"}' --runs 500` and two more settings.

Run: python benchmarks/check_distribution.py --strategy NAME [--hparams JSON] [--dataset cifar10-valid]
     [--seconds 12000] [--runs 500] [--store data/store] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import numpy as np
from trees import run_probe

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.errors import SuiteError
from nasbench_suite.runner import ComparisonSpec, table_oracle
from nasbench_suite.store import Store

# Runs inside the measured tree; prints one JSON line.
PROBE = r"""
import json, sys
store_path, name, runs, hparams, dataset, seconds = sys.argv[1:7]
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
try:
    from nasbench_suite import strategies
except ImportError:  # a tree from before the strategies became subpackages
    import strategies
spec = ComparisonSpec((name,), (dataset,), int(runs), Budget(BudgetKind.SECONDS, float(seconds)), seed=0,
                      hparams={name: json.loads(hparams)})
store, out = Store(store_path), {"test": [], "valid": [], "evaluations": [], "archs": []}
for run in range(int(runs)):
    cols, meta = run_one(store, spec, name, dataset, run, strategies.build)
    out["test"].append(meta["final_test"])
    out["valid"].append(meta["final_valid"])
    out["evaluations"].append(len(cols["arch_index"]))
    out["archs"].append([int(a) for a in cols["arch_index"]])
print(json.dumps(out))
"""


def mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """One line and exit 2 for what would otherwise fail inside the probes: runs, the JSON, the
    strategy, its hyperparameters, the dataset (checked against this checkout and its store)."""
    if args.runs < 2:
        parser.error(f"--runs must be at least 2 (a standard error needs two), got {args.runs}")
    try:
        hparams = json.loads(args.hparams)
    except json.JSONDecodeError as e:
        parser.error(f"--hparams must be JSON, got {args.hparams!r} ({e.msg})")
    if not isinstance(hparams, dict):
        parser.error(f"--hparams must be a JSON object, got {args.hparams!r}")
    try:
        store = Store(args.store)
        spec = ComparisonSpec(
            (args.strategy,), (args.dataset,), args.runs, Budget(BudgetKind.SECONDS, args.seconds), seed=0
        )
        problem = table_oracle(store, spec, args.dataset, np.random.default_rng(0)).problem
        strategies.check_hyperparameters(args.strategy, problem, hparams)
    except SuiteError as e:
        parser.error(str(e))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategy", required=True)
    parser.add_argument("--hparams", default="{}")
    parser.add_argument("--dataset", default="cifar10-valid")
    parser.add_argument("--seconds", type=float, default=12000)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--baseline", default=os.environ.get("NASBENCH_SUITE_BASELINE", "/tmp/oldwt/base"))
    args = parser.parse_args()
    check(args, parser)
    store = str(Path(args.store).resolve())
    probe_args = [store, args.strategy, str(args.runs), args.hparams, args.dataset, str(args.seconds)]
    before = run_probe(Path(args.baseline), PROBE, probe_args)
    after = run_probe(None, PROBE, probe_args)
    print(f"{args.strategy} {args.hparams} on {args.dataset}, {args.seconds:g} s, {args.runs} runs each:")
    for key in ("test", "valid", "evaluations"):
        b, a = np.asarray(before[key], dtype=float), np.asarray(after[key], dtype=float)
        (mb, sb), (ma, sa), (md, sd) = mean_se(b), mean_se(a), mean_se(a - b)
        se = math.hypot(sb, sa)
        z = (ma - mb) / se if se > 0 else 0.0
        print(
            f"  {key:11s} before {mb:.3f} ± {sb:.3f}  after {ma:.3f} ± {sa:.3f}  "
            f"difference {ma - mb:+.3f} (z {z:+.2f}); paired {md:+.3f} ± {sd:.3f}"
        )
    same = sum(x == y for x, y in zip(before["archs"], after["archs"], strict=True))
    print(f"  runs proposing the same archs: {same} of {args.runs}")


if __name__ == "__main__":
    main()
