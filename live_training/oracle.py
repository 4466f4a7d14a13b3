"""The live oracle: the tabular oracle's interface, answered by training networks for real.

Every strategy runs against it unchanged: it offers a `SearchProblem`, `start`/`finish` (what the
runner's event loop drives) and `evaluate`/`measure`. What differs from the table:
- Cost is measured wall time: building the network, training it and the validation passes. The test
  accuracy (reporting only) is measured afterwards, outside the cost, and never reaches the strategy.
- Fidelities are epochs 1..T of the scale's T-epoch cosine schedule; a request for epoch e trains e
  epochs of that schedule, as the benchmark's per-epoch curves do.
- Each evaluation trains from a seed drawn from the oracle's generator (the benchmark's seed noise).
- Budgets: evaluations and epochs are checked before training. A seconds budget cannot be priced in
  advance, so training stops at the first epoch that ends past the limit; that evaluation is not
  recorded and the search ends (the suite's overshoot rule).
- Early stopping (optional, `stopping`): a full-schedule run whose extrapolated final accuracy cannot
  beat the incumbent stops; its observation is the accuracy at the epoch it reached, with that fidelity.
- Measurements: `params_mb` and `flops_m` are counted from the network (free, as on the table);
  `zc_<proxy>` computes a zero-cost proxy on a fixed minibatch and is charged its wall time.
- Resume: with a `workdir`, every finished request is appended to `evaluations.jsonl` and the run in
  progress checkpoints after every epoch. A search restarted with the same seed replays the log (the
  strategy proposes the same archs) and resumes the interrupted training from its checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from nasbench_suite.budget import Budget, BudgetExhausted, BudgetKind, Spent
from nasbench_suite.cost_model import PROXY_BATCH, PROXY_PREFIX
from nasbench_suite.errors import ConfigError, ResultsError, unknown
from nasbench_suite.live_training.data import LiveDataset
from nasbench_suite.live_training.model import flops_m, params_mb
from nasbench_suite.live_training.ops import check_ops
from nasbench_suite.live_training.recipe import EpochStats, accuracy, resolve_device, train, without_test
from nasbench_suite.live_training.scale import LiveScale
from nasbench_suite.oracle import OneWorker, Pending
from nasbench_suite.protocol import (
    Constraint,
    Fidelity,
    Measured,
    Measurement,
    Observation,
    Proposal,
    Request,
    Result,
    SearchProblem,
)
from nasbench_suite.space import Arch, CellSpace
from nasbench_suite.trajectory import Incumbent, Trajectory

FREE_METRICS = ("flops_m", "params_mb")
LOG_NAME = "evaluations.jsonl"


class StoppingRule(Protocol):
    """Decides from a partial validation curve whether a run can still beat the incumbent."""

    def should_stop(self, curve: Sequence[float], incumbent: float) -> bool: ...

    def add_reference(self, curve: Sequence[float]) -> None: ...


class _OverBudget(Exception):
    pass


class _StopEarly(Exception):
    pass


@dataclass(frozen=True)
class LivePending(Pending):
    """A finished live request waiting to be recorded: what training showed, beyond the valid value."""

    test_acc: float = float("nan")
    trained: Fidelity | None = None  # the fidelity actually trained (earlier than asked when stopped)


@dataclass(frozen=True)
class LogEntry:
    """One line of `evaluations.jsonl`: enough to replay the request without training."""

    step: int
    request: str  # "train <arch> <fidelity>" or "measure <arch> <metric>"
    seed: int
    value: float
    cost_s: float
    test_acc: float = float("nan")
    trained_epochs: int = 0
    curve: list[float] = field(default_factory=list)
    exhausted: bool = False


class LiveOracle(OneWorker):
    """Trains archs of `space` on `data` at `scale` under `budget`; see the module doc."""

    def __init__(
        self,
        space: CellSpace,
        data: LiveDataset,
        budget: Budget,
        *,
        rng: np.random.Generator,
        scale: LiveScale,
        device: str | torch.device = "cpu",
        threads: int | None = None,
        compile_model: bool = False,
        workdir: Path | str | None = None,
        stopping: StoppingRule | None = None,
        constraint: Constraint | None = None,
        objective: str | None = None,
        arch_index: Callable[[Arch], int] | None = None,
        progress: bool = False,
    ) -> None:
        if data.valid_x is None or data.valid_y is None or not len(data.valid_x):
            raise ConfigError(
                f"{data.name} has no validation split: a search must not see test accuracy; "
                "search on cifar10-valid, cifar100 or ImageNet16-120"
            )
        check_ops(space.ops)
        self.space, self.data, self.budget, self.scale = space, data, budget, scale
        self.device = resolve_device(device)
        self.threads = threads
        self.compile_model = compile_model
        self.stopping = stopping
        self.progress = progress
        self._rng = rng
        if arch_index is None and space.size >= 2**63:
            raise ConfigError(
                f"a space of {space.n_ops} ops on {space.n_edges} edges has {space.size:.3g} cells, more than "
                "an int64 arch id can number; use fewer ops or nodes"
            )
        self._arch_index = arch_index or space.code
        self._image_size = int(data.train_x.shape[1])
        from nasbench_suite.live_training.proxies import PROXIES

        self._proxies = tuple(PROXY_PREFIX + p for p in PROXIES)
        measurable = tuple(sorted(FREE_METRICS + self._proxies))
        for metric, what in (
            (constraint.metric if constraint else None, "--constraint"),
            (objective, "--objective"),
        ):
            if metric is not None and metric not in measurable:
                raise unknown("metric", metric, measurable, f"{what} in live search")
        self._constraint = constraint
        fidelities = tuple(Fidelity(e, scale.epochs) for e in range(1, scale.epochs + 1))
        self.problem = SearchProblem(
            space,
            fidelities,
            Fidelity.full(scale.epochs),
            measurable=measurable,
            constraint=constraint,
            objective=objective,
        )
        # the minibatch every zero-cost proxy of this search is scored on, and the seed of the networks
        # measured: one value per (arch, metric), as the table has
        batch = rng.choice(len(data.train_x), size=min(PROXY_BATCH, len(data.train_x)), replace=False)
        self._proxy_batch = np.sort(batch)
        self._measure_seed = int(rng.integers(2**31 - 1))

        self.workdir = None if workdir is None else Path(workdir)
        self._log: dict[int, LogEntry] = self._read_log() if self.workdir else {}
        self.spent = Spent()
        self.trajectory = Trajectory()
        self.noise_fallbacks: set[Fidelity] = set()  # the live oracle never falls back; the runner reads it
        # live: the incumbent's own run is all there is, so its valid seen and valid are one value
        self.incumbent = Incumbent()
        self._started_evaluations = 0
        self._started_epochs = 0
        self._steps = 0
        self._measurements = 0
        self.early_stopped = 0
        self.epochs_saved = 0
        self._static: dict[tuple[Arch, str], tuple[float, float]] = {}  # (value, cost) of each measurement

    # ---------------------------------------------------------------- start and finish
    def start(self, request: Request, at_s: float) -> LivePending:
        """Run `request` now (training takes real time) as if started at simulated `at_s`; raises
        BudgetExhausted when it does not fit, recording nothing."""
        self.space.validate(request.arch)
        if isinstance(request, Measurement) and request.metric not in self.problem.measurable:
            raise unknown("metric", request.metric, self.problem.measurable, "live measurement")
        if isinstance(request, Proposal) and request.fidelity not in self.problem.fidelities:
            raise unknown("fidelity (epoch/schedule)", str(request.fidelity), self.problem.fidelities)
        seed = int(self._rng.integers(2**31 - 1))  # drawn for every request, so replays stay aligned
        step, self._steps = self._steps, self._steps + 1
        if isinstance(request, Measurement):
            return self._measure(request, step, seed, at_s)
        epochs = request.fidelity.epoch
        if not self.spent.may_start(
            self.budget, epochs, at_s, self._started_evaluations, self._started_epochs
        ):
            raise BudgetExhausted
        entry = self._replay(step, self._key(request), seed)
        if entry is None:
            entry = self._train(request, step, seed, at_s)
        if entry.exhausted:
            raise BudgetExhausted
        self._started_evaluations += 1
        self._started_epochs += entry.trained_epochs
        if self.stopping is not None and entry.trained_epochs == self.scale.epochs and entry.curve:
            self.stopping.add_reference(entry.curve)
        trained = Fidelity(entry.trained_epochs, self.scale.epochs)
        if entry.trained_epochs < epochs:
            self.early_stopped += 1
            self.epochs_saved += epochs - entry.trained_epochs
        index = self._arch_index(request.arch)
        return LivePending(request, index, entry.value, entry.cost_s, at_s, entry.test_acc, trained)

    def finish(self, pending: Pending) -> Result:
        """Record a started request as finished at `pending.finish_s`; return what the strategy sees."""
        assert isinstance(pending, LivePending)
        request, finish_s = pending.request, pending.finish_s
        if isinstance(request, Measurement):
            self.spent.finish(finish_s, 0, False)
            self.trajectory.record_measurement(
                pending.index, pending.cost_s, finish_s, request.metric, pending.value, self.incumbent
            )
            return Measured(request.arch, request.metric, pending.value, pending.cost_s, finish_s)
        assert pending.trained is not None
        self.spent.finish(finish_s, pending.trained.epoch, True)
        if self.incumbent.improves(pending.value, self._feasible(request.arch)):
            self.incumbent.replace(pending.index, pending.value, pending.value, pending.test_acc)
        self.trajectory.record_evaluation(
            pending.index, pending.cost_s, finish_s, pending.trained, pending.value, self.incumbent
        )
        return Observation(request.arch, pending.trained, pending.value, pending.cost_s, finish_s)

    def run_metadata(self) -> dict[str, Any]:
        """What a live run adds to its metadata: scale, device, and the incumbent's live accuracies."""
        valid, test = self.incumbent.valid, self.incumbent.test
        return {
            "live": True,
            "scale": self.scale.to_json(),
            "device": str(self.device),
            "incumbent_live_valid": valid,
            "incumbent_live_test": test,
            "early_stopped": self.early_stopped,
            "early_stopped_epochs_saved": self.epochs_saved,
        }

    # ---------------------------------------------------------------- training
    def _train(self, request: Proposal, step: int, seed: int, at_s: float) -> LogEntry:
        from tqdm import tqdm

        epochs = request.fidelity.epoch
        remaining = self.budget.limit - at_s if self.budget.kind is BudgetKind.SECONDS else float("inf")
        name = self.space.format(request.arch)
        # a full-schedule run is the only one early stopping may shorten (lower fidelities are the
        # strategy's own early stops)
        stoppable = self.stopping is not None and epochs == self.scale.epochs and self.incumbent.found
        checkpoint = self._checkpoint_path(step, name, seed)
        curve, prior_s = _resumed_curve(checkpoint)
        bar = tqdm(
            total=epochs,
            initial=len(curve),
            desc=f"train {name}",
            unit="epoch",
            leave=False,
            disable=not self.progress,
        )
        started = time.perf_counter() - prior_s  # a resumed run is charged its checkpointed training time too

        def on_epoch(stats: EpochStats) -> None:
            bar.update()
            if stats.valid_acc is not None:
                curve.append(stats.valid_acc)
                bar.set_postfix(valid=f"{stats.valid_acc:.1f}")
            if time.perf_counter() - started > remaining:
                raise _OverBudget
            if (
                stoppable
                and self.stopping is not None
                and stats.epoch + 1 < epochs
                and self.stopping.should_stop(curve, self.incumbent.valid_seen)
            ):
                raise _StopEarly

        model = self._network(request.arch, seed)
        eval_data = without_test(self.data)
        key = self._key(request)
        exhausted = LogEntry(step, key, seed, float("nan"), 0.0, exhausted=True)
        try:
            train(
                model,
                eval_data,
                epochs=epochs,
                schedule_epochs=self.scale.epochs,
                batch_size=self.scale.batch_size,
                device=self.device,
                seed=seed,
                threads=self.threads,
                compile_model=self.compile_model,
                on_epoch=on_epoch,
                checkpoint=checkpoint,
            )
        except _OverBudget:
            return self._append(exhausted)
        except _StopEarly:
            pass
        finally:
            bar.close()
        cost = time.perf_counter() - started
        if cost > remaining:  # the last epoch ended inside the limit, the validation pass after it did not
            return self._append(exhausted)
        test = accuracy(model, self.data, self.data.test_x, self.data.test_y, device=self.device)
        entry = LogEntry(
            step,
            key,
            seed,
            value=curve[-1],
            cost_s=cost,
            test_acc=test,
            trained_epochs=len(curve),
            curve=curve,
        )
        self._append(entry)
        if checkpoint is not None:
            checkpoint.unlink(missing_ok=True)
        return entry

    def _measure(self, request: Measurement, step: int, seed: int, at_s: float) -> LivePending:
        if not self.spent.measurement_fits(self.budget, 0.0, 0.0, self._measurements):
            raise BudgetExhausted  # over the measurement limit: nothing is computed
        key = self._key(request)
        entry = self._replay(step, key, seed)
        if entry is None:
            value, cost = self._measured(request.arch, request.metric)
            entry = self._append(LogEntry(step, key, seed, value, cost))
        if not self.spent.measurement_fits(self.budget, entry.cost_s, at_s, self._measurements):
            raise BudgetExhausted
        self._measurements += 1
        return LivePending(request, self._arch_index(request.arch), entry.value, entry.cost_s, at_s)

    def _measured(self, arch: Arch, metric: str) -> tuple[float, float]:
        """(value, cost) of `metric` for `arch`, computed once per search; a proxy costs the wall time of
        computing it (each time it is asked for, as on the table), the others nothing."""
        if (arch, metric) not in self._static:
            started = time.perf_counter()
            value = self._metric(arch, metric)
            cost = time.perf_counter() - started if metric.startswith(PROXY_PREFIX) else 0.0
            self._static[(arch, metric)] = (value, cost)
        return self._static[(arch, metric)]

    def _network(self, arch: Arch, seed: int) -> torch.nn.Module:
        return self.scale.network(self.space, arch, num_classes=self.data.num_classes, seed=seed)

    def _metric(self, arch: Arch, metric: str) -> float:
        model = self._network(arch, self._measure_seed)
        if metric == "params_mb":
            return params_mb(model)
        if metric == "flops_m":
            return flops_m(model, image_size=self._image_size)
        from nasbench_suite.live_training.proxies import score
        from nasbench_suite.live_training.recipe import input_transform

        dev = self.device
        x = input_transform(self.data, dev)(torch.from_numpy(self.data.train_x[self._proxy_batch]).to(dev))
        y = torch.from_numpy(self.data.train_y[self._proxy_batch]).to(dev)
        generator = torch.Generator().manual_seed(self._measure_seed)
        return score(metric.removeprefix(PROXY_PREFIX), model.to(dev), x, y, generator=generator)

    def _feasible(self, arch: Arch) -> bool:
        if self._constraint is None:
            return True
        return self._measured(arch, self._constraint.metric)[0] <= self._constraint.limit

    def _key(self, request: Request) -> str:
        """How a request is named in the log (replays must match it exactly)."""
        arch = self.space.format(request.arch)
        if isinstance(request, Measurement):
            return f"measure {arch} {request.metric}"
        return f"train {arch} {request.fidelity}"

    # ---------------------------------------------------------------- log and checkpoints
    def _checkpoint_path(self, step: int, name: str, seed: int) -> Path | None:
        if self.workdir is None:
            return None
        digest = hashlib.sha256(f"{name} {seed} {json.dumps(self.scale.to_json())}".encode()).hexdigest()[:12]
        return self.workdir / "checkpoints" / f"step{step:05d}-{digest}.pt"

    def _read_log(self) -> dict[int, LogEntry]:
        """The finished requests of an earlier attempt, by step. A last line cut short by a crash is
        dropped from the file too, so that new lines start on a line of their own."""
        assert self.workdir is not None
        path = self.workdir / LOG_NAME
        entries: dict[int, LogEntry] = {}
        if not path.is_file():
            return entries
        good = 0
        with open(path, "rb") as f:
            for line in f:
                try:
                    entry = LogEntry(**json.loads(line))
                except (ValueError, TypeError):
                    break
                if not line.endswith(b"\n"):
                    break
                entries[entry.step] = entry
                good += len(line)
        if good < path.stat().st_size:
            with open(path, "r+b") as f:
                f.truncate(good)
        return entries

    def _replay(self, step: int, request: str, seed: int) -> LogEntry | None:
        entry = self._log.get(step)
        if entry is None:
            return None
        if entry.request != request or entry.seed != seed:
            raise ResultsError(
                f"{self.workdir} holds another search (step {step} was {entry.request!r}, now {request!r}); "
                "resume with the same arguments and seed or use a fresh directory"
            )
        return entry

    def _append(self, entry: LogEntry) -> LogEntry:
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
            with open(self.workdir / LOG_NAME, "a") as f:
                f.write(json.dumps(asdict(entry)) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._log[entry.step] = entry
        return entry


def _resumed_curve(checkpoint: Path | None) -> tuple[list[float], float]:
    """The validation curve and training seconds an interrupted run's checkpoint already holds."""
    if checkpoint is None or not checkpoint.is_file():
        return [], 0.0
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    curve = [h["valid_acc"] for h in state["history"] if h["valid_acc"] is not None]
    return curve, float(state["train_seconds"])
