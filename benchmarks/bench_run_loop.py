"""Benchmark: what the run loop costs per evaluation against the table lookup it wraps, and a 500-run
random-search comparison end to end, this checkout against a baseline checkout, side by side.

Per evaluation (CPU seconds in one process, best of `--repeats` passes over `--loop-runs` runs of
cifar10-valid at 12000 simulated seconds, each run's file written):
- `lookup`: one validation accuracy read from the store's memory-mapped table, the floor;
- `loop`: a search whose strategy costs nothing (it replays archs drawn beforehand), so the figure is
  the runner, the oracle, the trajectory and the run file;
- `random`, `rea`: whole runs of those strategies, their own `ask`/`tell` included;
- `run file`: writing one run file (`write_run`) of a random-search run made beforehand, per file.
End to end: `nasbench-suite compare --strategies random --dataset cifar10-valid --time-budget 12000
--runs 500` into a fresh directory (all cores, the command's default), baseline and this checkout in
turn (`--repeats` pairs), wall seconds and the CPU seconds of the command and its worker processes;
then a 2-run comparison in one process (`--jobs 1`), by default (no `--jobs`) and with a pool (`--jobs 2`).

The baseline is a source tree of the suite (`--baseline DIR`, default $NASBENCH_SUITE_BASELINE, else
/tmp/oldwt/base: `git worktree add /tmp/oldwt/base 515caf2`), imported through PYTHONPATH; trees from
before the strategies became `nasbench_suite.strategies` work too. Without one, only this checkout is
measured. Ratios are baseline / now: above 1, now is faster.

Run: python benchmarks/bench_run_loop.py [--store data/store] [--baseline DIR] [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trees import ROOT, environment, layout_of  # beside this script, on the path when it runs

DEFAULT_BASELINE = os.environ.get("NASBENCH_SUITE_BASELINE", "/tmp/oldwt/base")
PER_EVALUATION = ("lookup", "loop", "random", "rea")

# Runs inside the measured tree (its own modules on PYTHONPATH); prints one JSON line.
PROBE = r"""
import json, sys, tempfile, time
from pathlib import Path
import numpy as np
store_path, runs, repeats, layout, scratch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.protocol import Proposal
from nasbench_suite.results import write_run
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store
if layout == "top":
    import strategies
else:
    from nasbench_suite import strategies

DATASET = "cifar10-valid"
store = Store(store_path)
draw = np.random.default_rng(0)
ARCHS = [store.space.sample(draw) for _ in range(2000)]

class Replay:
    asynchronous = False
    def __init__(self, problem, rng):
        self._fidelity, self._archs = problem.default_fidelity, iter(ARCHS)
    def ask(self):
        return Proposal(next(self._archs), self._fidelity)
    def tell(self, proposal, observation):
        pass

def factory(name, problem, rng, hparams):
    return Replay(problem, rng) if name == "loop" else strategies.build(name, problem, rng, hparams)

def per_evaluation(name):
    spec = ComparisonSpec((name,), (DATASET,), runs, Budget(BudgetKind.SECONDS, 12000), seed=0)
    def once():
        out = Path(tempfile.mkdtemp(dir=scratch))  # new files, as a comparison writes: no overwrite
        evaluations, started = 0, time.process_time()
        for run in range(runs):
            columns, meta = run_one(store, spec, name, DATASET, run, factory)
            write_run(out / f"{run}.parquet", columns, meta)
            evaluations += len(columns["step"])
        return (time.process_time() - started) / evaluations
    once()
    return min(once() for _ in range(repeats))

def run_file():  # CPU seconds to write one run file (write_run) of a random-search run made beforehand
    spec = ComparisonSpec(("random",), (DATASET,), runs, Budget(BudgetKind.SECONDS, 12000), seed=0)
    made = [run_one(store, spec, "random", DATASET, run, factory) for run in range(runs)]
    def once():
        out = Path(tempfile.mkdtemp(dir=scratch))
        started = time.process_time()
        for run, (columns, meta) in enumerate(made):
            write_run(out / f"{run}.parquet", columns, meta)
        return (time.process_time() - started) / runs
    once()
    return min(once() for _ in range(repeats))

def lookup():
    values = store.table(DATASET, "valid_acc", 12).values
    point = values.shape[2] - 1
    index = np.random.default_rng(0).integers(store.n_archs, size=200_000).tolist()
    best = float("inf")
    for _ in range(repeats + 1):
        started = time.process_time()
        for i in index:
            float(values[i, 0, point])
        best = min(best, (time.process_time() - started) / len(index))
    return best

print(json.dumps({"lookup": lookup(), **{name: per_evaluation(name) for name in ("loop", "random", "rea")},
                  "run_file": run_file()}))
"""


def probe(tree: Path | None, store: Path, runs: int, repeats: int, scratch: Path) -> dict[str, float]:
    """Per-evaluation CPU seconds measured in a fresh process of `tree` (None: this checkout)."""
    layout = layout_of(tree or ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(store), str(runs), str(repeats), layout, str(scratch)],
        env=environment(tree),
        cwd=scratch,  # never the checkout: `import strategies` must find the tree's own
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the probe failed in {tree or ROOT}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(
    tree: Path | None, store: Path, runs: int, jobs: int | None, scratch: Path
) -> tuple[float, float]:
    """(wall s, CPU s of the command and its workers) of one `compare` into a fresh directory."""
    with tempfile.TemporaryDirectory(dir=scratch) as here:
        command = [sys.executable, "-m", "nasbench_suite.cli", "compare", "--strategies", "random"]
        command += [
            "--dataset",
            "cifar10-valid",
            "--time-budget",
            "12000",
            "--runs",
            str(runs),
            "--seed",
            "0",
        ]
        command += ["--out", str(Path(here) / "out"), "--store", str(store), "--quiet"]
        command += ["--jobs", str(jobs)] if jobs is not None else []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=environment(tree), cwd=here, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"compare failed in {tree or ROOT}:\n{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(
    a: tuple[Path | None, int | None],
    b: tuple[Path | None, int | None],
    store: Path,
    runs: int,
    repeats: int,
    scratch: Path,
) -> dict[str, list[float]]:
    """`compare` of a and b in turn, `repeats` pairs: wall and CPU lists of each."""
    out: dict[str, list[float]] = {"a_wall": [], "a_cpu": [], "b_wall": [], "b_cpu": []}
    for _ in range(repeats):
        for key, (tree, jobs) in (("a", a), ("b", b)):
            wall, cpu = compare(tree, store, runs, jobs, scratch)
            out[f"{key}_wall"].append(wall)
            out[f"{key}_cpu"].append(cpu)
    return out


def median_ratio(num: list[float], den: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(num, den, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="baseline source tree (see above)")
    parser.add_argument("--loop-runs", type=int, default=100, help="runs per per-evaluation figure")
    parser.add_argument("--runs", type=int, default=500, help="runs of the end-to-end comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args()
    store = Path(args.store).resolve()
    baseline = Path(args.baseline).resolve() if Path(args.baseline, "nasbench_suite").is_dir() else None
    load = os.getloadavg()[0]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # run files and results directories go here, on the file system of the results, not /tmp's
    scratch = Path(tempfile.mkdtemp(prefix="run-loop-", dir=out)).resolve()
    results: dict[str, object] = {"baseline": str(baseline) if baseline else None}

    now = probe(None, store, args.loop_runs, args.repeats, scratch)
    base = probe(baseline, store, args.loop_runs, args.repeats, scratch) if baseline else None
    results["per_evaluation_s"] = {"now": now, "baseline": base}
    print(f"Per evaluation (CPU microseconds, best of {args.repeats} x {args.loop_runs} runs, one process)\n")
    print("| | baseline | now | baseline / now | now / lookup |")
    print("|---|---|---|---|---|")
    for name in PER_EVALUATION:
        b = f"{base[name] * 1e6:.2f}" if base else "-"
        ratio = f"{base[name] / now[name]:.1f}x" if base else "-"
        print(f"| {name} | {b} | {now[name] * 1e6:.2f} | {ratio} | {now[name] / now['lookup']:.0f}x |")
    b = f"{base['run_file'] * 1e6:.0f}" if base else "-"
    ratio = f"{base['run_file'] / now['run_file']:.1f}x" if base else "-"
    print(
        f"\nOne run file written (write_run, CPU microseconds per file; {args.loop_runs} random-search runs)\n"
    )
    print("| | baseline | now | baseline / now |\n|---|---|---|---|")
    print(f"| run file | {b} | {now['run_file'] * 1e6:.0f} | {ratio} |")

    print(
        f"\nEnd to end: compare --strategies random --runs {args.runs} (all cores; median of {args.repeats} pairs)\n"
    )
    print("| | baseline | now | baseline / now |")
    print("|---|---|---|---|")
    if baseline:
        e2e = paired((baseline, None), (None, None), store, args.runs, args.repeats, scratch)
        results["end_to_end"] = e2e
        for what in ("wall", "cpu"):
            b, n = e2e[f"a_{what}"], e2e[f"b_{what}"]
            ratio = median_ratio(b, n)
            print(f"| {what} s | {statistics.median(b):.2f} | {statistics.median(n):.2f} | {ratio:.2f}x |")
    else:
        wall, cpu = compare(None, store, args.runs, None, scratch)
        results["end_to_end"] = {"b_wall": [wall], "b_cpu": [cpu]}
        print(f"| wall s | - | {wall:.2f} | - |\n| cpu s | - | {cpu:.2f} | - |")

    small_repeats = 2 * args.repeats + 1
    print(
        f"\nA 2-run comparison: the default (no --jobs: all cores) and a pool asked for (--jobs 2) against one "
        f"process (--jobs 1); wall seconds, median of {small_repeats} pairs\n"
    )
    print("| tree | --jobs 1 | default | default / --jobs 1 | --jobs 2 | --jobs 2 / --jobs 1 |")
    print("|---|---|---|---|---|---|")
    small: dict[str, dict[str, dict[str, list[float]]]] = {}
    for label, tree in (("baseline", baseline), ("now", None)):
        if label == "baseline" and baseline is None:
            continue
        auto = paired((tree, 1), (tree, None), store, 2, small_repeats, scratch)
        pool = paired((tree, 1), (tree, 2), store, 2, small_repeats, scratch)
        small[label] = {"default": auto, "jobs2": pool}
        one = statistics.median(auto["a_wall"] + pool["a_wall"])
        print(
            f"| {label} | {one:.2f} s | {statistics.median(auto['b_wall']):.2f} s "
            f"| {median_ratio(auto['b_wall'], auto['a_wall']):.2f} | {statistics.median(pool['b_wall']):.2f} s "
            f"| {median_ratio(pool['b_wall'], pool['a_wall']):.2f} |"
        )
    results["small_comparison"] = small

    machine = f"{os.cpu_count()} CPUs, python {platform.python_version()}"
    load_note = f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    print(f"\nmachine: {machine}; {load_note}")
    results["machine"], results["load"] = machine, load_note
    shutil.rmtree(scratch, ignore_errors=True)
    (out / "run_loop.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out / 'run_loop.json'}")


if __name__ == "__main__":
    main()
