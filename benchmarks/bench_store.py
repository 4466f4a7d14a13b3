"""Benchmark: the suite's store against the official NATS-Bench API (`nats_bench`), side by side, in one run.

What is measured, on the same three sample archs (index 0, 11, 284) and the same queries on both sides:
1. load time: `Store(path)` vs `nats_bench.create(...)` (fast mode), each in a fresh subprocess so that no
   import or file cache inside Python helps either side; only the load call is timed; median of 5;
2. warm single queries per second: 200-epoch seed-mean validation accuracy on cifar10-valid, cifar100 and
   ImageNet16-120 for the three archs (`store.query` vs `api.get_more_info(...)['valid-accuracy']`);
   both sides must return the same numbers, and the script stops if they do not;
3. vectorized values per second: `store.query_many` over all 15625 archs vs nats_bench's fastest loop over
   the three archs (nats_bench has no vectorized form);
4. resident memory of a fresh process: the suite with the whole store loaded and every table read, nats_bench
   with the three sample archs loaded, and a bare interpreter with numpy imported as the baseline;
5. wall time of 500 random-search runs (12000 simulated seconds, cifar10-valid, all cores), end to end with
   the process pool's startup; median of 3. nats_bench has no peer for this.

Why: the issue asks the store to be cheap enough to sit inside search loops (load < 0.1 s, < 200 MB for the
whole table, single queries >= 100x the official API, 500 runs < 10 s); measuring both sides in one run on
one machine makes the ratios meaningful.

Run: python benchmarks/bench_store.py [--store DIR] [--out bench-results] [--source ../shared/nasbench201]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "nasbench201"
SAMPLE_ARCHS = (0, 11, 284)
DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")
MIX = tuple((index, dataset) for index in SAMPLE_ARCHS for dataset in DATASETS)
NATS_DIR_NAME = "NATS-tss-v1_0-3ffb9-simple"
LOAD_REPEATS = 5
RUN_REPEATS = 3
ROUND_S = 0.15  # throughput: rounds of about this long per side, alternating sides
ROUNDS = 7


# ---------------------------------------------------------------- what both sides query


def suite_value(store: Any, index: int, dataset: str) -> float:
    return store.query(index, dataset, "valid_acc", epochs=200, seed="mean")


def nats_value(api: Any, index: int, dataset: str) -> float:
    return api.get_more_info(index, dataset, hp="200", is_random=False)["valid-accuracy"]


def nats_value_direct(api: Any, index: int, dataset: str) -> float:
    """The same number through nats_bench's per-arch `ArchResults` (filled by its `_prepare_info`), skipping
    the train/test/valtest sets that `get_more_info` also computes (each sums 200 per-epoch times). The
    public `query_meta_info_by_index` returns a deep copy of that object and is ~15x slower still."""
    api._prepare_info(index)
    return api.arch2infos_dict[index]["200"].get_metrics(dataset, "x-valid", is_random=False)["accuracy"]


def open_nats(sample: Path, scratch: Path) -> tuple[Any, Path, bool]:
    """Open the sample with nats_bench; if create() rejects the directory, retry under the official name.
    Returns (api, the directory used, whether it had to be renamed)."""
    from nats_bench import create

    try:
        return create(str(sample), "tss", fast_mode=True, verbose=False), sample, False
    except Exception:
        link = scratch / NATS_DIR_NAME
        if not link.exists():
            link.symlink_to(sample.resolve(), target_is_directory=True)
        return create(str(link), "tss", fast_mode=True, verbose=False), link, True


# ---------------------------------------------------------------- fresh-process measurements


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MB, from /proc/self/status (getrusage gives only the peak)."""
    fields: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = float(value.split()[0]) / 1024
    except OSError:
        pass
    if len(fields) < 2:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return fields.get("VmRSS", peak), peak
    return fields["VmRSS"], fields["VmHWM"]


def child(kind: str, store_path: str, nats_dir: str) -> dict[str, float]:
    """Runs inside a fresh interpreter: imports first, then times or measures only what `kind` names."""
    if kind == "baseline":
        return dict(zip(("rss_mb", "peak_mb"), rss_mb(), strict=True))
    if kind.endswith("suite"):
        from nasbench_suite.store import Store

        load: Callable[[], Any] = lambda: Store(store_path)  # noqa: E731
        query: Callable[[Any, int, str], float] = suite_value
    else:
        from nats_bench import create

        load = lambda: create(nats_dir, "tss", fast_mode=True, verbose=False)  # noqa: E731
        query = nats_value
    t0 = time.perf_counter()
    handle = load()
    t1 = time.perf_counter()
    for index, dataset in MIX:
        query(handle, index, dataset)
    t2 = time.perf_counter()
    if kind == "rss-suite":  # the whole store: every table, every arch, read into memory
        for spec in handle.specs():
            np.nansum(handle.table(spec.dataset, spec.metric, spec.epochs).values)
    rss, peak = rss_mb()
    return {"load_s": t1 - t0, "first_queries_s": t2 - t1, "rss_mb": rss, "peak_mb": peak}


def in_fresh_process(kind: str, store: Path, nats_dir: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", kind, "--store", str(store), "--nats-dir", str(nats_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {kind!r} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_of(kind: str, key: str, repeats: int, store: Path, nats_dir: Path) -> float:
    return statistics.median(in_fresh_process(kind, store, nats_dir)[key] for _ in range(repeats))


# ---------------------------------------------------------------- in-process throughput


def calibrate(work: Callable[[], int], round_s: float = ROUND_S) -> int:
    """How many calls of `work` take about `round_s`; the first call warms it up (nats_bench loads the
    arch files, the store maps and verifies its tables)."""
    work()
    t0 = time.perf_counter()
    calls = 0
    while time.perf_counter() - t0 < 0.05:
        work()
        calls += 1
    return max(1, int(calls * round_s / (time.perf_counter() - t0)))


def interleaved_rates(works: dict[str, Callable[[], int]], rounds: int = ROUNDS) -> dict[str, list[float]]:
    """Items per second of each `work` (which returns how many items it did), over `rounds` rounds that
    alternate between the works, so that load from other processes hits every side alike."""
    reps = {name: calibrate(work) for name, work in works.items()}
    rates: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(rounds):
        for name, work in works.items():
            t0 = time.perf_counter()
            items = sum(work() for _ in range(reps[name]))
            rates[name].append(items / (time.perf_counter() - t0))
    return rates


def median_ratio(num: list[float], den: list[float]) -> float:
    """Median over rounds of the ratio of rates measured side by side in the same round."""
    return statistics.median(a / b for a, b in zip(num, den, strict=True))


def query_loop(query: Callable[[int, str], float]) -> Callable[[], int]:
    def work() -> int:
        for index, dataset in MIX:
            query(index, dataset)
        return len(MIX)

    return work


def check_same_numbers(store: Any, api: Any) -> None:
    """Both sides must answer every query of the mix with the same number (and the vectorized path too)."""
    every = np.arange(store.n_archs)
    for dataset in DATASETS:
        column = store.query_many(every, dataset, "valid_acc", epochs=200, seed="mean")
        for index in SAMPLE_ARCHS:
            values = {
                "store.query": suite_value(store, index, dataset),
                "store.query_many": float(column[index]),
                "get_more_info": nats_value(api, index, dataset),
                "get_metrics": nats_value_direct(api, index, dataset),
            }
            if max(values.values()) - min(values.values()) > 1e-9:
                raise RuntimeError(f"the two sides disagree on arch {index}, {dataset}: {values}")


# ---------------------------------------------------------------- end-to-end runs


def time_random_search(store_path: Path) -> tuple[float, int]:
    """Seconds for 500 random-search runs end to end (opening the store, pool startup, writing results);
    and the number of evaluations they made."""
    from nasbench_suite import strategies
    from nasbench_suite.budget import Budget, BudgetKind
    from nasbench_suite.comparison import run_comparison
    from nasbench_suite.runner import ComparisonSpec
    from nasbench_suite.store import Store

    spec = ComparisonSpec(
        strategies=("random",),
        datasets=("cifar10-valid",),
        runs=500,
        budget=Budget(BudgetKind.SECONDS, 12000),
    )
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as out:
        t0 = time.perf_counter()
        done = run_comparison(Store(store_path), spec, Path(out), strategies.build, progress=False)
        elapsed = time.perf_counter() - t0
    if len(done) != spec.runs:
        raise RuntimeError(f"expected {spec.runs} runs, got {len(done)}")
    return elapsed, sum(r.evaluations for r in done)


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class Row:
    measure: str
    suite: str
    nats: str
    ratio: str
    target: str
    met: bool | None


def fmt_ratio(x: float) -> str:
    return f"{x:,.1f}x" if x < 100 else f"{x:,.0f}x"


def yes_no(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def markdown(rows: list[Row]) -> str:
    lines = [
        "| measure | nasbench-suite | nats_bench | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.measure} | {r.suite} | {r.nats} | {r.ratio} | {r.target} | {yes_no(r.met)} |" for r in rows
    ]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": model or platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "nats_bench": version("nats_bench"),
    }


@contextmanager
def resolved_store(store: Path | None, source: Path) -> Iterator[tuple[Path, float | None]]:
    """The store to benchmark and the seconds spent importing it (None when an existing store was given)."""
    if store is not None and (store / "manifest.json").is_file():
        yield store, None
        return
    from nasbench_suite.store import import_source

    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        t0 = time.perf_counter()
        path = import_source(source, Path(tmp) / "store")
        yield path, time.perf_counter() - t0


def measure(store_path: Path, source: Path, scratch: Path) -> tuple[list[Row], dict[str, Any]]:
    from nasbench_suite.store import Store

    store = Store(store_path)
    api, nats_dir, renamed = open_nats(source / "nats_tss_sample", scratch)
    check_same_numbers(store, api)
    data: dict[str, Any] = {"nats_dir": str(nats_dir), "nats_dir_renamed": renamed}

    load_suite = median_of("load-suite", "load_s", LOAD_REPEATS, store_path, nats_dir)
    load_nats = median_of("load-nats", "load_s", LOAD_REPEATS, store_path, nats_dir)
    cold_suite = in_fresh_process("load-suite", store_path, nats_dir)
    cold_nats = in_fresh_process("load-nats", store_path, nats_dir)

    every = np.arange(store.n_archs)

    def vectorized() -> int:
        for dataset in DATASETS:
            store.query_many(every, dataset, "valid_acc", epochs=200, seed="mean")
        return len(DATASETS) * len(every)

    rates = interleaved_rates(
        {
            "suite": query_loop(lambda i, d: suite_value(store, i, d)),
            "nats": query_loop(lambda i, d: nats_value(api, i, d)),
            "nats_direct": query_loop(lambda i, d: nats_value_direct(api, i, d)),
            "suite_vectorized": vectorized,
        }
    )
    single_suite, single_nats, direct_nats, vec_suite = (
        statistics.median(rates[k]) for k in ("suite", "nats", "nats_direct", "suite_vectorized")
    )
    single_ratio = median_ratio(rates["suite"], rates["nats"])
    best = "nats_direct" if direct_nats > single_nats else "nats"
    vec_nats = max(direct_nats, single_nats)
    vec_nats_how = {"nats": "get_more_info loop", "nats_direct": "ArchResults.get_metrics loop"}[best]
    vec_ratio = median_ratio(rates["suite_vectorized"], rates[best])

    base = in_fresh_process("baseline", store_path, nats_dir)
    mem_suite = in_fresh_process("rss-suite", store_path, nats_dir)
    mem_nats = in_fresh_process("rss-nats", store_path, nats_dir)

    runs = [time_random_search(store_path) for _ in range(RUN_REPEATS)]
    run_s = statistics.median(s for s, _ in runs)
    jobs = os.cpu_count() or 1

    data["measures"] = {
        "load_s": {"suite": load_suite, "nats": load_nats, "nats_over_suite": load_nats / load_suite},
        "cold_load_plus_9_queries_s": {
            "suite": cold_suite["load_s"] + cold_suite["first_queries_s"],
            "nats": cold_nats["load_s"] + cold_nats["first_queries_s"],
        },
        "single_queries_per_s": {
            "suite": single_suite,
            "nats_get_more_info": single_nats,
            "nats_get_metrics": direct_nats,
            "suite_over_nats": single_ratio,
            "rounds": rates,
        },
        "vectorized_values_per_s": {
            "suite": vec_suite,
            "suite_archs": int(store.n_archs),
            "nats": vec_nats,
            "nats_archs": len(SAMPLE_ARCHS),
            "nats_method": vec_nats_how + " (nats_bench has no vectorized form)",
            "suite_over_nats": vec_ratio,
        },
        "rss_mb": {
            "suite_whole_store": mem_suite["rss_mb"],
            "suite_peak": mem_suite["peak_mb"],
            "nats_3_archs": mem_nats["rss_mb"],
            "nats_peak": mem_nats["peak_mb"],
            "baseline_python_numpy": base["rss_mb"],
        },
        "random_search_500_runs_s": {
            "suite": run_s,
            "all": [s for s, _ in runs],
            "jobs": jobs,
            "evaluations": runs[0][1],
        },
    }
    data["targets"] = {
        "load_s": {"lt": 0.1, "met": load_suite < 0.1},
        "rss_mb_whole_store": {"lt": 200, "met": mem_suite["rss_mb"] < 200},
        "single_queries_suite_over_nats": {"ge": 100, "met": single_ratio >= 100},
        "random_search_500_runs_s": {"lt": 10, "met": run_s < 10},
    }
    b = base["rss_mb"]
    rows = [
        Row(
            f"load time (fresh process, median of {LOAD_REPEATS})",
            f"{load_suite * 1e3:.1f} ms",
            f"{load_nats * 1e3:.1f} ms",
            fmt_ratio(load_nats / load_suite) + " faster",
            "< 0.1 s",
            load_suite < 0.1,
        ),
        Row(
            "cold: load + first 9 queries (one fresh process)",
            f"{(cold_suite['load_s'] + cold_suite['first_queries_s']) * 1e3:.1f} ms",
            f"{(cold_nats['load_s'] + cold_nats['first_queries_s']) * 1e3:.1f} ms",
            fmt_ratio(
                (cold_nats["load_s"] + cold_nats["first_queries_s"])
                / (cold_suite["load_s"] + cold_suite["first_queries_s"])
            )
            + " faster",
            "—",
            None,
        ),
        Row(
            f"single queries/s (warm, 3 archs x 3 datasets; median of {ROUNDS} alternating rounds)",
            f"{single_suite:,.0f}",
            f"{single_nats:,.0f} (get_more_info)",
            fmt_ratio(single_ratio),
            ">= 100x nats_bench",
            single_ratio >= 100,
        ),
        Row(
            "vectorized values/s",
            f"{vec_suite:,.0f} (query_many, {store.n_archs} archs x 3 datasets)",
            f"{vec_nats:,.0f} ({vec_nats_how}, 3 archs; no vectorized form)",
            fmt_ratio(vec_ratio),
            "—",
            None,
        ),
        Row(
            "RSS (fresh process)",
            f"{mem_suite['rss_mb']:.1f} MB (+{mem_suite['rss_mb'] - b:.1f}): whole store, every table read",
            f"{mem_nats['rss_mb']:.1f} MB (+{mem_nats['rss_mb'] - b:.1f}): 3 sample archs",
            f"{mem_suite['rss_mb'] / mem_nats['rss_mb']:.2f} (suite/nats)",
            "< 200 MB (whole table)",
            mem_suite["rss_mb"] < 200,
        ),
        Row("RSS baseline: python + numpy", f"{b:.1f} MB", f"{b:.1f} MB", "—", "—", None),
        Row(
            f"500 random-search runs, 12000 s, cifar10-valid ({jobs} jobs, median of {RUN_REPEATS})",
            f"{run_s:.2f} s ({runs[0][1]:,} evaluations)",
            "no peer",
            "—",
            "< 10 s",
            run_s < 10,
        ),
    ]
    data["table"] = [asdict(r) for r in rows]
    return rows, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store", type=Path, help="an imported store; if absent, one is imported to a temp dir"
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="where bench.json goes")
    parser.add_argument(
        "--source", type=Path, default=DEFAULT_SOURCE, help="the NAS-Bench-201 data directory"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--nats-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, str(args.store), args.nats_dir)))
        return 0

    started = time.perf_counter()
    with (
        resolved_store(args.store, args.source) as (store_path, import_s),
        tempfile.TemporaryDirectory() as tmp,
    ):
        if import_s is not None:
            given = f"{args.store} has no store" if args.store else "no --store given"
            print(f"{given}: imported {args.source} into a temp dir ({import_s:.2f} s)\n")
        rows, data = measure(store_path, args.source, Path(tmp))
    info = machine()
    data = {
        "machine": info,
        "store": {"path": str(store_path), "imported_to_temp": import_s is not None, "import_s": import_s},
        **data,
        "total_s": time.perf_counter() - started,
    }
    print(markdown(rows))
    print(
        "\nratio: how many times better the suite is (rates: suite/nats; times: nats/suite), except RSS."
        f"\nnats_bench read the sample from {data['nats_dir']}"
        + (" (renamed: create() rejected the original name)" if data["nats_dir_renamed"] else " as is")
        + "; both sides returned identical values for all 9 queries."
        f"\nmachine: {info['cpu_count']} CPUs ({info['cpu_model']}), python {info['python']}, "
        f"numpy {info['numpy']}, nats_bench {info['nats_bench']}; total {data['total_s']:.1f} s"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(data, indent=1))
    print(f"wrote {args.out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
