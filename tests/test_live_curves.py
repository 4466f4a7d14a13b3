"""Learning-curve extrapolation and early stopping (live_training/curves.py): the pow3 fit on synthetic
curves, the reference extrapolation on a hand example, the rule's guards, and its behaviour on the real
per-epoch curves of the 3 NATS-Bench sample archs (0, 11, 284).

Real curves used: the 200-epoch schedule's cifar10-valid valid accuracy (3 seeds per arch: the curves a
search reads) and, as further evidence of the curve shape only, the 200-epoch per-epoch accuracy on the
whole test set of cifar100 / ImageNet16-120 ("valtest": the records evaluate x-valid only after the last
epoch there); the 12-epoch schedule's cifar10-valid valid accuracy (seeds 111 and 777). Each (arch, seed)
run is one candidate of a simulated search. Only 3 distinct archs exist, so the figures are evidence,
not a benchmark."""

from __future__ import annotations

import bz2
import itertools
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from nasbench_suite.errors import ConfigError
from nasbench_suite.live_training.curves import (
    ACCURACY_CEILING,
    EarlyStopping,
    ExtrapolationMethod,
    fit_pow3,
    fit_power_law,
    reference_predictions,
)
from nasbench_suite.store import Store, import_source
from nasbench_suite.store.nats_archive import META_FILE, read_meta_archs

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "nasbench201" / "nats_tss_sample"
SAMPLE_INDEXES = (0, 11, 284)
Curves = dict[tuple[int, int], np.ndarray]  # (arch index, seed) -> per-epoch accuracy


# ---------------------------------------------------------------- real curves
@pytest.fixture(scope="module")
def real_curves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Curves]:
    """The sample records imported as in test_official_importers (meta cut to the first 285 archs)."""
    root = tmp_path_factory.mktemp("nats-curves") / "NATS-tss-v1_0-3ffb9-simple"
    root.mkdir()
    archs = read_meta_archs(SAMPLE / META_FILE)
    (root / META_FILE).write_bytes(
        bz2.compress(pickle.dumps({"meta_archs": archs[: max(SAMPLE_INDEXES) + 1]}, protocol=4))
    )
    for index in SAMPLE_INDEXES:
        (root / f"{index:06d}.pickle.pbz2").symlink_to(SAMPLE / f"{index:06d}.pickle.pbz2")
    store = Store(import_source(root, root.parent / "store"))

    def curves(dataset: str, metric: str, epochs: int) -> Curves:
        table = store.table(dataset, metric, epochs)
        assert table.spec.points == tuple(range(1, epochs + 1))
        return {
            (i, seed): table.values[i, 1 + k]
            for i in SAMPLE_INDEXES
            for k, seed in enumerate(table.spec.seeds)
            if not np.isnan(table.values[i, 1 + k]).any()
        }

    out = {
        "c10v200": curves("cifar10-valid", "valid_acc", 200),
        "c100valtest200": curves("cifar100", "valtest_acc", 200),
        "in16valtest200": curves("ImageNet16-120", "valtest_acc", 200),
        "c10v12": curves("cifar10-valid", "valid_acc", 12),
    }
    assert [len(c) for c in out.values()] == [9, 9, 9, 6]
    return out


def _leave_one_arch_out(curves: Curves, t: int, gain: str) -> list[tuple[int, np.ndarray, float]]:
    """(arch, predictions from the other archs' curves after t epochs, true final) per curve."""
    out = []
    for (arch, _seed), curve in curves.items():
        refs = np.stack([c for (a, _), c in curves.items() if a != arch])
        out.append((arch, reference_predictions(curve[:t], refs, gain=gain), float(curve[-1])))
    return out


# ---------------------------------------------------------------- pow3 (Domhan et al.)
def test_fit_pow3_recovers_known_parameters() -> None:
    x = np.arange(1, 61, dtype=float)
    exact = 88.0 - 70.0 * x**-0.6
    fit = fit_pow3(x, exact)
    assert (fit.c, fit.a, fit.alpha) == pytest.approx((88.0, 70.0, 0.6), rel=1e-5)
    noisy = exact + np.random.default_rng(0).normal(0.0, 0.3, len(x))
    fit = fit_pow3(x, noisy)
    assert fit.c == pytest.approx(88.0, abs=1.5)
    assert fit.a == pytest.approx(70.0, rel=0.05)
    assert fit.alpha == pytest.approx(0.6, abs=0.05)
    assert fit_power_law(x, noisy, at=200) == pytest.approx(88.0 - 70.0 * 200**-0.6, abs=1.0)


@pytest.mark.parametrize(
    ("epochs", "acc", "at"),
    [
        ([1, 2, 3], [10, 20, 30], 10),  # fewer than 4 points
        ([1, 2, 3, 4], [10, 20, 30], 10),  # lengths differ
        ([0, 1, 2, 3], [10, 20, 30, 40], 10),  # epochs are 1-based
        ([1, 2, 3, 4], [10, 20, np.nan, 40], 10),
        ([1, 2, 3, 4], [10, 20, 30, 40], 0),
    ],
)
def test_fit_power_law_rejects_bad_input(epochs: list, acc: list, at: float) -> None:
    with pytest.raises(ConfigError):
        fit_power_law(np.array(epochs, dtype=float), np.array(acc, dtype=float), at=at)


@pytest.mark.realdata
def test_power_law_fit_underestimates_the_final_value_under_cosine(real_curves: dict[str, Curves]) -> None:
    # measured shortfall (fit at the last epoch - true final), mean [max] over the 9 curves:
    #                 t=25           t=50           t=100          t=150
    # c10v valid   -16.5 [-8.2]  -13.6 [-7.0]   -12.4 [-7.0]   -9.6 [-5.6]
    # c100 valtest -25.7 [-16.9] -23.7 [-16.5]  -21.7 [-16.1] -17.3 [-12.5]
    # IN16 valtest -17.0 [-14.5] -17.5 [-16.5]  -15.2 [-13.6] -12.5 [-11.1]
    # 12 epochs, c10v valid: t=4 -13.9 [-9.5], t=6 -14.0 [-9.0], t=9 -8.7 [-5.6]
    for name, ts in (("c10v200", (25, 50, 100, 150)), ("c100valtest200", (50, 150)), ("c10v12", (4, 6, 9))):
        for curve in real_curves[name].values():
            schedule = len(curve)
            for t in ts:
                fit = fit_power_law(np.arange(1, t + 1), curve[:t], at=schedule)
                assert fit < curve[-1] - 5.5, (name, t)


# ---------------------------------------------------------------- reference extrapolation
HAND_PARTIAL = np.array([40.0, 60.0, 50.0])  # best so far 60
HAND_REFS = np.array(
    [
        [30.0, 50.0, 45.0, 70.0, 80.0],  # best@3 50 -> 80: error 50 -> 20 (x0.4), +30 points
        [20.0, 40.0, 60.0, 70.0, 70.0],  # best@3 60 -> 70: error 40 -> 30 (x0.75), +10
        [50.0, 80.0, 75.0, 85.0, 90.0],  # best@3 80 -> 90: error 20 -> 10 (x0.5), +10
    ]
)


def test_reference_predictions_on_a_hand_example() -> None:
    # error ratio: 100 - 40 * (0.4, 0.75, 0.5); absolute: 60 + (30, 10, 10)
    assert reference_predictions(HAND_PARTIAL, HAND_REFS).tolist() == pytest.approx([84.0, 70.0, 80.0])
    assert reference_predictions(HAND_PARTIAL, HAND_REFS, gain="absolute").tolist() == [90.0, 70.0, 70.0]
    at_ceiling = np.array(
        [[90.0, 100.0, 100.0, 99.0, 100.0]]
    )  # no error left: ratio 1, keeps the best so far
    assert reference_predictions(HAND_PARTIAL, at_ceiling).tolist() == [60.0]

    rule = EarlyStopping(schedule=5, min_references=3)
    for ref in HAND_REFS:
        rule.add_reference(ref)
    ex = rule.extrapolate(HAND_PARTIAL)
    assert (ex.point, ex.optimistic) == pytest.approx((80.0, 84.0))
    assert (ex.method, ex.n_references, ex.epoch) == (ExtrapolationMethod.REFERENCES, 3, 3)
    absolute = EarlyStopping(schedule=5, gain="absolute")
    for ref in HAND_REFS:
        absolute.add_reference(ref)
    assert (absolute.extrapolate(HAND_PARTIAL).point, absolute.extrapolate(HAND_PARTIAL).optimistic) == (
        70.0,
        90.0,
    )
    # min_fraction 0.25 of 5 -> 2 epochs; optimistic 84 + default margin 2 < 86.1 stops, < 85.9 does not
    assert rule.min_epochs == 2
    assert rule.should_stop(HAND_PARTIAL, incumbent=86.1)
    assert not rule.should_stop(HAND_PARTIAL, incumbent=85.9)
    assert not rule.should_stop(HAND_PARTIAL[:1], incumbent=99.0)  # before min_epochs


def test_extrapolate_without_references_falls_back_and_never_stops() -> None:
    rule = EarlyStopping(schedule=20)
    curve = 90.0 - 60.0 * np.arange(1, 21, dtype=float) ** -0.5
    short = rule.extrapolate(curve[:3])
    assert (short.method, short.point, short.optimistic) == (
        ExtrapolationMethod.LAST_VALUE,
        curve[2],
        ACCURACY_CEILING,
    )
    fitted = rule.extrapolate(curve[:8])
    assert fitted.method == ExtrapolationMethod.POWER_LAW and fitted.optimistic == ACCURACY_CEILING
    assert fitted.point == pytest.approx(curve[-1], abs=1e-3)
    done = rule.extrapolate(curve)
    assert (done.method, done.point, done.optimistic) == (ExtrapolationMethod.COMPLETE, curve[-1], curve[-1])
    assert not any(rule.should_stop(curve[:t], incumbent=99.9) for t in range(1, 21))


# ---------------------------------------------------------------- the rule's guards
@pytest.mark.realdata
def test_stuck_curve_is_stopped_exactly_at_min_epochs_and_only_with_references(
    real_curves: dict[str, Curves],
) -> None:
    curves = real_curves["c10v200"]
    incumbent = max(float(c[-1]) for c in curves.values())  # 88.13
    stuck = np.full(200, 10.0)
    rule = EarlyStopping(schedule=200)
    assert rule.min_epochs == 50
    for i, curve in enumerate(curves.values()):
        if i == 3:
            break
        assert not any(rule.should_stop(stuck[:t], incumbent) for t in range(1, 200)), i
        rule.add_reference(curve)
    decisions = [rule.should_stop(stuck[:t], incumbent) for t in range(1, 201)]
    assert decisions.index(True) == 49  # the first decision after 50 epochs
    assert not decisions[-1]  # a complete curve has nothing left to save
    assert not rule.should_stop(stuck[:120], incumbent=-math.inf)
    with pytest.raises(ConfigError, match="incumbent"):
        rule.should_stop(stuck[:120], incumbent=math.nan)


# ---------------------------------------------------------------- evidence on the real curves
@pytest.mark.realdata
def test_error_ratio_transfers_between_archs_better_than_absolute_gain(
    real_curves: dict[str, Curves],
) -> None:
    # leave-one-arch-out mean absolute error of the median prediction, t = 50, 55, ..., 195
    expected = {"c10v200": (1.35, 3.39), "c100valtest200": (1.74, 3.71), "in16valtest200": (0.80, 0.89)}
    for name, (ratio_mae, absolute_mae) in expected.items():
        mae = {}
        for gain in ("error_ratio", "absolute"):
            errors = [
                np.median(preds) - final
                for t in range(50, 200, 5)
                for _, preds, final in _leave_one_arch_out(real_curves[name], t, gain)
            ]
            mae[gain] = float(np.mean(np.abs(errors)))
        assert (mae["error_ratio"], mae["absolute"]) == pytest.approx((ratio_mae, absolute_mae), abs=0.005), (
            name
        )


@pytest.mark.realdata
def test_optimistic_bound_coverage_on_cifar10_valid(real_curves: dict[str, Curves]) -> None:
    # At t >= 50 of 200, from the other archs' 6 curves, the max prediction reaches the true final in
    # 72% of the 1350 (curve, t) cases, 95.5% with the default 2-point margin. The misses are almost all
    # on arch 0, the worst arch, whose late gain beats the better archs' (worst miss 3.06 points); on
    # arch 11, the best, the bound misses 6 times by at most 0.45 points, less than the margin.
    slack = {arch: [] for arch in SAMPLE_INDEXES}
    for t in range(50, 200):
        for arch, preds, final in _leave_one_arch_out(real_curves["c10v200"], t, "error_ratio"):
            slack[arch].append(preds.max() - final)
    every = np.concatenate([np.array(s) for s in slack.values()])
    assert len(every) == 1350
    assert np.mean(every >= 0) == pytest.approx(0.721, abs=0.001)
    assert np.mean(every + 2.0 >= 0) == pytest.approx(0.955, abs=0.001)
    assert every.min() == pytest.approx(-3.06, abs=0.005)
    misses = {arch: int(np.sum(np.array(s) < 0)) for arch, s in slack.items()}
    assert misses == {0: 370, 11: 6, 284: 0}
    assert min(slack[11]) > -0.46


def _stop_epochs(
    curves: Curves, margin: float, min_epochs: int, *, cross_arch_only: bool, gain: str = "error_ratio"
) -> list[tuple]:
    """Every search state a run can start in, order-free: each set R of >= 3 other runs completed before
    it (its references, incumbent = their best final). (run, R, first epoch the rule stops or None)."""
    keys = list(curves)
    matrix = np.stack([curves[k] for k in keys])
    schedule = matrix.shape[1]
    # preds[i, r, t - 1]: run i's prediction from reference r after t epochs
    preds = np.stack(
        [
            np.stack([reference_predictions(c[:t], matrix, gain=gain) for t in range(1, schedule)], axis=1)
            for c in matrix
        ]
    )
    out = []
    for i, key in enumerate(keys):
        others = [j for j in range(len(keys)) if j != i and not (cross_arch_only and keys[j][0] == key[0])]
        for size in range(3, len(others) + 1):
            for refs in itertools.combinations(others, size):
                stop = preds[i, list(refs)].max(axis=0) + margin < matrix[list(refs), -1].max()
                stop[: min_epochs - 1] = False
                out.append((i, refs, int(np.argmax(stop)) + 1 if stop.any() else None))
    return out


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "cross_arch_only", "n_states", "n_stopped"),
    [
        ("c10v200", False, 1971, 1031),
        # references from other archs only (a search rarely retrains an arch): the stricter test
        ("c10v200", True, 378, 204),
        ("c10v12", False, 96, 73),
        ("c10v12", True, 30, 20),
    ],
)
def test_no_run_that_would_beat_the_incumbent_is_stopped_in_any_search_state(
    real_curves: dict[str, Curves], name: str, cross_arch_only: bool, n_states: int, n_stopped: int
) -> None:
    # With margin 1 instead of 2, 6 of the 1971 200-epoch states stop an arch-11 run that would have
    # beaten the incumbent: 4 against a better arch-11 seed, 2 with only arch-284 references (losing
    # the best arch by 1.68 / 1.87 points, at epochs 54 / 63). With margin 0, 44 (2 losing the arch).
    curves = real_curves[name]
    keys, finals = list(curves), np.array([c[-1] for c in curves.values()])
    rule = EarlyStopping(schedule=len(curves[keys[0]]))
    states = _stop_epochs(curves, rule.margin, rule.min_epochs, cross_arch_only=cross_arch_only)
    assert len(states) == n_states
    assert sum(e is not None for _, _, e in states) == n_stopped
    for i, refs, epoch in states:
        if epoch is not None:
            assert finals[i] <= finals[list(refs)].max(), (keys[i], [keys[r] for r in refs], epoch)
    # a run that ends >= 3.5 points below the incumbent is stopped at the first allowed epoch (200 epochs:
    # arch 0 against 11 or 284; 12 epochs: archs 0 and 11 against 284)
    clear = {e for i, refs, e in states if finals[i] <= finals[list(refs)].max() - 3.5}
    assert clear == {rule.min_epochs}, clear

    # the vectorized states agree with the class on a few of them
    for i, refs, epoch in states[:: max(1, len(states) // 15)]:
        check = EarlyStopping(schedule=rule.schedule)
        for r in refs:
            check.add_reference(curves[keys[r]])
        incumbent = float(finals[list(refs)].max())
        decisions = [check.should_stop(curves[keys[i]][:t], incumbent) for t in range(1, rule.schedule + 1)]
        assert (decisions.index(True) + 1 if any(decisions) else None) == epoch


@pytest.mark.realdata
def test_absolute_gain_stops_a_run_the_error_ratio_keeps(real_curves: dict[str, Curves]) -> None:
    # same states, same margin 2: with the 3 arch-284 curves as references, the absolute gain stops
    # (11, 777) after 63 epochs against an incumbent of 86.07, although it ends at 87.75. It does not
    # stop the worse runs earlier either (measured: 39% of their epochs saved, as the error ratio; on
    # the cifar100 valtest curves 51% against the error ratio's 75%).
    curves = real_curves["c10v200"]
    keys, finals = list(curves), np.array([c[-1] for c in curves.values()])
    states = _stop_epochs(curves, 2.0, 50, cross_arch_only=True, gain="absolute")
    false_stops = [
        (keys[i], e, finals[i] - finals[list(refs)].max())
        for i, refs, e in states
        if e is not None and finals[i] > finals[list(refs)].max()
    ]
    assert len(false_stops) == 1 and false_stops[0][0][0] == 11
    assert false_stops[0][2] == pytest.approx(1.68, abs=0.005)


@pytest.mark.realdata
def test_simulated_searches_never_drop_the_run_that_ends_best(real_curves: dict[str, Curves]) -> None:
    # Measured offline over 300 random orders of the 9 runs (6 orders here): 81.4% of the 200-epoch
    # budget used (53.2%-99.6%); of the runs after the first 3, arch 0 is always stopped at epoch 50,
    # arch 284 in 71% (median 195 epochs run), arch 11 (the best) in 5%, only against a better arch-11
    # seed. 12 epochs (6 runs): 71.5% used; archs 0 and 11 stopped in 96% / 100% at epoch 3, 284 in 39%.
    rng = np.random.default_rng(7)
    for name, n_orders in (("c10v200", 6), ("c10v12", 40)):
        curves = list(real_curves[name].values())
        schedule, best = len(curves[0]), int(np.argmax([c[-1] for c in curves]))
        used = []
        for _ in range(n_orders):
            rule, incumbent, ran = EarlyStopping(schedule=schedule), -math.inf, {}
            for i in rng.permutation(len(curves)):
                t = next(
                    (t for t in range(1, schedule + 1) if rule.should_stop(curves[i][:t], incumbent)),
                    schedule,
                )
                ran[int(i)] = t
                if t == schedule:
                    rule.add_reference(curves[i])
                    incumbent = max(incumbent, float(curves[i][-1]))
            assert ran[best] == schedule, name
            used.append(sum(ran.values()) / (schedule * len(curves)))
        assert 0.5 < np.mean(used) < 0.9, (name, np.mean(used))


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"schedule": 1}, "'schedule'"),
        ({"schedule": 12.0}, "'schedule'"),
        ({"schedule": 12, "min_fraction": 0.0}, "'min_fraction'"),
        ({"schedule": 12, "min_fraction": 1.5}, "'min_fraction'"),
        ({"schedule": 12, "min_references": 0}, "'min_references'"),
        ({"schedule": 12, "margin": -1.0}, "'margin'"),
        ({"schedule": 12, "margin": math.inf}, "'margin'"),
        ({"schedule": 12, "gain": "relative"}, "'gain'"),
    ],
)
def test_bad_parameters_raise_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        EarlyStopping(**kwargs)


def test_bad_curves_raise_config_error() -> None:
    rule = EarlyStopping(schedule=12)
    with pytest.raises(ConfigError, match="one value per epoch"):
        rule.add_reference(np.linspace(10, 60, 11))
    with pytest.raises(ConfigError, match="finite"):
        rule.add_reference(np.r_[np.linspace(10, 60, 11), np.nan])
    with pytest.raises(ConfigError, match=r"1\.\.12 values"):
        rule.extrapolate(np.linspace(10, 60, 13))
    with pytest.raises(ConfigError, match=r"1\.\.12 values"):
        rule.should_stop([], incumbent=50.0)
