"""Random search against the exact expectation from the table.

With an evaluation budget N, seed-mean noise and draws uniform with replacement, the incumbent is the
first-drawn arch of the group with the highest validation accuracy among the N draws. If F(v) is the
fraction of archs with validation accuracy <= v, the top group is the one at v with probability
F(v)^N - F(v-)^N, and within a group every member is equally likely to be drawn first. So
E[incumbent test] = sum over groups g of (F_g^N - F_{g-1}^N) * mean(test accuracy of group g).
"""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.budget import Budget, BudgetKind
from nasbench_suite.lookup import Noise
from nasbench_suite.runner import ComparisonSpec, run_one
from nasbench_suite.store import Store

pytestmark = pytest.mark.realdata


def expected_incumbent_test(valid: np.ndarray, test: np.ndarray, n: int) -> float:
    _, group, counts = np.unique(valid, return_inverse=True, return_counts=True)
    group_test = np.bincount(group, weights=test) / counts
    cdf = np.cumsum(counts) / len(valid)
    p_top = cdf**n - np.concatenate([[0.0], cdf[:-1]]) ** n
    return float(p_top @ group_test)


def test_exact_expectation_on_a_toy_table() -> None:
    # 4 archs, 2 draws: the best (valid 3) is top unless both draws miss it: 1 - (3/4)^2 = 7/16
    valid, test = np.array([1.0, 2.0, 2.0, 3.0]), np.array([10.0, 20.0, 40.0, 80.0])
    p = {80.0: 7 / 16, 30.0: (3 / 4) ** 2 - (1 / 4) ** 2, 10.0: (1 / 4) ** 2}
    assert expected_incumbent_test(valid, test, 2) == pytest.approx(sum(k * v for k, v in p.items()))


@pytest.mark.parametrize(("n_evals", "runs"), [(10, 3000), (100, 1500)])
def test_random_search_matches_the_order_statistics_expectation(
    real_store: Store, n_evals: int, runs: int
) -> None:
    valid = np.asarray(real_store.table("cifar10-valid", "valid_acc", 12).column("mean"))
    test = np.asarray(real_store.table("cifar10", "test_acc", 200).column("mean"))
    expected = expected_incumbent_test(valid, test, n_evals)

    spec = ComparisonSpec(
        ("random",),
        ("cifar10-valid",),
        runs,
        Budget(BudgetKind.EVALUATIONS, n_evals),
        noise=Noise.MEAN,
        seed=7,
    )
    finals = np.array(
        [
            run_one(real_store, spec, "random", "cifar10-valid", r, strategies.build)[1]["final_test"]
            for r in range(runs)
        ]
    )
    stderr = finals.std(ddof=1) / np.sqrt(runs)
    assert abs(finals.mean() - expected) < 3 * stderr, (finals.mean(), expected, stderr)
