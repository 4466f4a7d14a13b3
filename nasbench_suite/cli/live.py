"""The live-training side of the `nasbench-suite` command: `compare --live` and `validate live|pipeline|
proxies`. `nasbench_suite.cli` registers the arguments from here; torch is imported only when a live
command runs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasbench_suite.cli_types import integer, number
from nasbench_suite.errors import ConfigError

DEFAULT_IMAGES = "../shared/datasets/cifar10-jpeg.tar.gz"
DEFAULT_SPLITS = "../shared/nasbench201/splits"


# ============================================================================ arguments
def beside_checkout(default: str) -> str:
    """A default data path (relative, like ../shared/...) as given when it exists from the working
    directory, else resolved against the suite's checkout, so the live commands work from any directory;
    as given when neither exists (the loader's error then names it)."""
    path = Path(default)
    if path.is_absolute() or path.exists():
        return default
    beside = Path(__file__).resolve().parents[2] / path  # the checkout: nasbench_suite/cli/live.py -> ../..
    return str(beside.resolve()) if beside.exists() else default


def add_data_arguments(p: Any, *, device: bool = True) -> None:
    """--images, --splits (and --device) on a parser or argument group."""
    where = "from the working directory, else from the suite's checkout"
    p.add_argument(
        "--images",
        default=beside_checkout(DEFAULT_IMAGES),
        help="CIFAR python archive, image-folder tree or tar, or ImageNet16 directory "
        f"(default {DEFAULT_IMAGES} {where})",
    )
    p.add_argument(
        "--splits",
        default=beside_checkout(DEFAULT_SPLITS),
        help=f"NAS-Bench-201 split files (default {DEFAULT_SPLITS} {where})",
    )
    if device:
        p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
        p.add_argument(
            "--compile",
            action="store_true",
            help="torch.compile each network (pays off on a GPU; ~40 s per net on CPU)",
        )


def add_scale_arguments(p: Any) -> None:
    """The network and data scale flags (defaults come from the profile; see `scale_from`)."""
    p.add_argument("--channels", type=integer, help="channels of the first stage (NAS-Bench-201: 16)")
    p.add_argument("--cells", type=integer, help="cells per stage (NAS-Bench-201: 5)")
    p.add_argument("--subset", type=integer, help="training images kept")
    p.add_argument("--eval-subset", type=integer, help="validation and test images kept each")
    p.add_argument("--batch-size", type=integer, help="the recipe's batch size")


def add_compare_arguments(c: argparse.ArgumentParser) -> None:
    g = c.add_argument_group(
        "live training (--live): train every evaluation for real; --epochs is the live schedule, the "
        "scale defaults to NAS-Bench-201's (all images, C=16, 5 cells, batch 256)"
    )
    g.add_argument(
        "--live", action="store_true", help="use the live oracle; costs and --time-budget are wall seconds"
    )
    g.add_argument("--ops", help="comma-separated op set of an out-of-table space (see live_training.ops)")
    g.add_argument("--nodes", type=integer, help="nodes per cell of an out-of-table space (NAS-Bench-201: 4)")
    g.add_argument("--early-stop", action="store_true", help="stop runs whose extrapolated curve cannot win")
    add_scale_arguments(g)
    add_data_arguments(g)


DATASET_HELP = "cifar10-valid, cifar100 or ImageNet16-120 (default cifar10-valid)"
SEED_HELP = "seed of the arch choice, data subset and training (default 0)"


def add_run_arguments(parser: Any, name: str, store_help: str, *, trains: bool = True) -> None:
    """The options every `validate` command ends with: --jobs and the executor where it trains, --seed,
    --out (default results/validate-NAME) and --store."""
    if trains:
        parser.add_argument(
            "--jobs", type=integer, default=2, help="parallel CPU trainings, one thread each (default 2)"
        )
        # the CLI is fully imported when it builds its parser
        from nasbench_suite.cli.common import add_executor_arguments

        add_executor_arguments(parser)
    parser.add_argument("--seed", type=integer, default=0, help=SEED_HELP)
    out = f"results/validate-{name}"
    parser.add_argument("--out", default=out, help=f"where results go (default {out})")
    parser.add_argument("--store", help=store_help)


def register_validate(sub: Any, store_help: str, parser_class: type) -> None:
    v = sub.add_parser("validate", help="check the table against live training")
    vsub = v.add_subparsers(dest="validate_command", required=True, parser_class=parser_class)

    live = vsub.add_parser("live", help="train K in-table archs briefly; rank-correlate with the table")
    live.add_argument(
        "--archs", type=integer, default=20, help="architectures, spread over the accuracy range (default 20)"
    )
    live.add_argument("--dataset", default="cifar10-valid", help=DATASET_HELP)
    live.add_argument(
        "--profile",
        choices=["cpu", "gpu"],
        default="cpu",
        help="cpu: small network, subset, few epochs, vs the 200-epoch table; gpu: the real 12-epoch "
        "schedule at full scale vs the table's 12-epoch accuracies (default cpu)",
    )
    add_scale_arguments(live)
    live.add_argument("--epochs", type=integer, help="schedule length (cpu profile default 4, gpu 12)")
    add_data_arguments(live)
    add_run_arguments(live, "live", store_help)
    live.set_defaults(func=cmd_validate_live)

    pipe = vsub.add_parser("pipeline", help="search on the table, retrain the found arch live beside ResNet")
    pipe.add_argument(
        "--strategy", default="rea", help="strategy that searches the table (default rea; see `strategies`)"
    )
    pipe.add_argument("--dataset", default="cifar10-valid", help=DATASET_HELP)
    pipe.add_argument("--time-budget", type=number, default=12000.0, help="simulated seconds (default 12000)")
    pipe.add_argument("--seeds", type=integer, default=2, help="live trainings per arch (default 2)")
    add_scale_arguments(pipe)
    pipe.add_argument("--epochs", type=integer, help="schedule length (default 4 on CPU)")
    pipe.add_argument(
        "--profile",
        choices=["cpu", "gpu"],
        default="cpu",
        help="cpu: small network and subset; gpu: NAS-Bench-201's scale (default cpu)",
    )
    add_data_arguments(pipe)
    add_run_arguments(pipe, "pipeline", store_help)
    from nasbench_suite.cli.common import (
        add_strategy_module,  # the CLI is fully imported when it builds its parser
    )

    add_strategy_module(pipe)
    pipe.set_defaults(func=cmd_validate_pipeline)

    prox = vsub.add_parser("proxies", help="zero-cost proxies computed live vs the table's accuracy")
    prox.add_argument("--archs", type=integer, default=30, help="archs sampled uniformly (default 30)")
    prox.add_argument("--batch", type=integer, default=64, help="minibatch size (default 64)")
    prox.add_argument("--proxies", help="comma-separated subset of the proxies (default all)")
    add_data_arguments(prox, device=False)  # proxies score on the CPU
    add_run_arguments(prox, "proxies", store_help, trains=False)
    prox.set_defaults(func=cmd_validate_proxies)


# ============================================================================ pieces
def scale_from(args: argparse.Namespace, profile: str = "cpu"):
    """The LiveScale the flags ask for, starting from the profile's defaults: "cpu" is the small scale
    a 2-core CPU trains in seconds, anything else NAS-Bench-201's own."""
    from nasbench_suite.live_training.scale import LiveScale

    base = LiveScale.cpu_small() if profile == "cpu" else LiveScale.nb201(12)
    return base.with_(
        channels=args.channels,
        cells_per_stage=args.cells,
        epochs=getattr(args, "epochs", None),
        train_subset=args.subset,
        eval_subset=args.eval_subset,
        batch_size=args.batch_size,
    )


# the validate commands' own counts; the scale's (--channels, --epochs, ...) are checked by LiveScale
COUNT_OPTIONS = ("archs", "batch", "seeds", "jobs")


def check_counts(args: argparse.Namespace) -> None:
    """Every count option of `COUNT_OPTIONS` the command has is a positive integer: checked first, so a
    bad one is one line naming the option before any store is opened, search run or bar drawn."""
    for name in COUNT_OPTIONS:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} must be a positive integer, got {value!r}")


def _dataset(args: argparse.Namespace, dataset: str, scale: Any, seed: int):
    import numpy as np

    from nasbench_suite.live_training.scale import subset
    from nasbench_suite.live_training.sources import live_dataset

    return subset(live_dataset(dataset, args.images, args.splits), scale, np.random.default_rng(seed))


def _progress(total: int, what: str) -> tuple[Any, Callable[[Any], None]]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=what, unit="arch", leave=False)

    def done(run: Any) -> None:
        bar.update()
        bar.set_postfix(live=f"{run.valid_acc:.1f}")

    return bar, done


def _source_note(images: str) -> str | None:
    if "jpeg" in Path(images).name.lower():
        return "The images went through JPEG compression (../shared/datasets README): absolute accuracies are lower."
    return None


def _write(out: Path, name: str, markdown: str, payload: dict[str, Any]) -> None:
    from nasbench_suite.results import atomic_write_bytes

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / f"{name}.md", markdown.encode())
    atomic_write_bytes(out / f"{name}.json", json.dumps(payload, indent=1).encode())


# ============================================================================ validate
def cmd_validate_live(args: argparse.Namespace) -> int:
    check_counts(args)
    from nasbench_suite.analysis.correlation import plot_correlation
    from nasbench_suite.analysis.plots import save
    from nasbench_suite.cli.common import executor_from, open_store
    from nasbench_suite.live_training.validate import spread_indices, validate_live

    store = open_store(args)
    scale = scale_from(args, args.profile)
    table_epochs = 200 if args.profile == "cpu" else 12
    indices = spread_indices(store, args.dataset, args.archs, epochs=table_epochs)
    data = _dataset(args, args.dataset, scale, args.seed)
    bar, done = _progress(len(indices), "train")
    executor = executor_from(args)
    try:
        result = validate_live(
            store,
            data,
            indices,
            scale,
            table_epochs=table_epochs,
            seed=args.seed,
            device=args.device,
            jobs=args.jobs,
            on_done=done,
            source_note=_source_note(args.images),
            compile_model=args.compile,
            executor=executor,
        )
    finally:
        bar.close()
        if executor is not None:
            executor.close()
    out = Path(args.out)
    _write(out, "validate_live", result.to_markdown(), result.to_json())
    fig = plot_correlation(
        result.table_acc,
        result.live_acc,
        xlabel=f"table: {args.dataset} valid acc, {table_epochs}-epoch schedule (%)",
        ylabel=f"live: valid acc after {scale.epochs} epochs (%)",
        title=f"live vs table, {len(indices)} archs (C={scale.channels}, {scale.cells_per_stage} cell/stage)",
    )
    png, _ = save(fig, out / "validate_live")
    print(result.to_markdown())
    print(f"wrote {out}/validate_live.md, .json and {png.name} (+ .svg)", file=sys.stderr)
    return 0


def cmd_validate_pipeline(args: argparse.Namespace) -> int:
    check_counts(args)
    import numpy as np

    from nasbench_suite import strategies
    from nasbench_suite.budget import Budget, BudgetKind
    from nasbench_suite.cli.common import executor_from, open_store, strategy_modules
    from nasbench_suite.live_training.validate import validate_pipeline
    from nasbench_suite.runner import ComparisonSpec, run_one

    store = open_store(args)
    scale = scale_from(args, args.profile)
    spec = ComparisonSpec(
        (args.strategy,),
        (args.dataset,),
        1,
        Budget(BudgetKind.SECONDS, args.time_budget),
        seed=args.seed,
        strategy_modules=strategy_modules(args, (args.strategy,)),
    )
    columns, meta = run_one(store, spec, args.strategy, args.dataset, 0, strategies.build)
    found = int(columns["incumbent_index"][-1])
    search = {
        "budget": str(spec.budget),
        "seed": args.seed,
        "strategy_modules": list(spec.strategy_modules),
        "evaluations": meta["evaluations"],
        "found_index": found,
        "found_valid_seen": float(np.asarray(columns["incumbent_valid_seen"])[-1]),
    }
    data = _dataset(args, args.dataset, scale, args.seed)
    bar, done = _progress(2 * args.seeds, "train")
    executor = executor_from(args)
    try:
        result = validate_pipeline(
            store,
            data,
            found,
            search,
            scale,
            strategy=args.strategy,
            seeds=args.seeds,
            seed=args.seed,
            device=args.device,
            jobs=args.jobs,
            on_done=done,
            compile_model=args.compile,
            executor=executor,
        )
    finally:
        bar.close()
        if executor is not None:
            executor.close()
    _write(Path(args.out), "validate_pipeline", result.to_markdown(), result.to_json())
    print(result.to_markdown())
    return 0


def cmd_validate_proxies(args: argparse.Namespace) -> int:
    check_counts(args)
    import numpy as np

    from nasbench_suite.cli.common import open_store
    from nasbench_suite.errors import unknown
    from nasbench_suite.live_training.proxies import PROXIES, sample_indices, validate_proxies
    from nasbench_suite.live_training.sources import load_images

    store = open_store(args)
    chosen = tuple(p.strip() for p in args.proxies.split(",")) if args.proxies else PROXIES
    for p in chosen:
        if p not in PROXIES:
            raise unknown("zero-cost proxy", p, PROXIES, "--proxies")
    indices = sample_indices(store, args.archs, np.random.default_rng(args.seed))
    images = load_images(args.images, "cifar10")
    from tqdm import tqdm

    from nasbench_suite.live_training.proxy_scores import ScoreLog

    # every arch's scores go to a log as they are computed: a rerun (after a crash, or with more archs or
    # proxies) reuses those of the same seed, batch and images
    log = ScoreLog(
        Path(args.out) / "validate_proxies.scores.jsonl",
        seed=args.seed,
        batch=args.batch,
        images=str(args.images),
    )
    known = log.read()
    log.path.parent.mkdir(
        parents=True, exist_ok=True
    )  # an --out that cannot be a folder fails before any scoring
    with tqdm(total=len(indices), desc="score", unit="arch", leave=False) as bar:
        result = validate_proxies(
            store,
            images,
            indices,
            proxies=chosen,
            batch=args.batch,
            seed=args.seed,
            on_arch=lambda _: bar.update(),
            known=known,
            on_scored=log.append,
        )
    from nasbench_suite.analysis import zero_cost_report
    from nasbench_suite.analysis.reproduce import load_published

    published = load_published("zero_cost_nb201")
    payload = result.to_json()
    rows = zero_cost_report.compare(payload, published, rng=np.random.default_rng(args.seed))
    beside = zero_cost_report.format_markdown(rows, payload, published)
    text = result.to_markdown() + "\n" + beside
    _write(Path(args.out), "validate_proxies", text, payload)
    print(text)
    return 0


# ============================================================================ compare --live
def live_settings(args: argparse.Namespace, store_space: Any) -> dict[str, Any]:
    """What `compare --live` saves in the comparison's config (and checks on resume)."""
    scale = scale_from(args, "nb201")
    ops = [o.strip() for o in args.ops.split(",")] if args.ops else list(store_space.ops)
    nodes = args.nodes or store_space.n_nodes
    return {
        "ops": ops,
        "nodes": nodes,
        "scale": scale.to_json(),
        "scale_text": str(scale),
        "images": str(args.images),
        "splits": str(args.splits),
        "device": args.device,
        "compile": bool(args.compile),
        "early_stop": bool(args.early_stop),
    }
