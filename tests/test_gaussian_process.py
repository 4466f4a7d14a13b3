"""The numpy GP behind gp_bo (`strategies.gaussian_process`): posterior against the dense textbook
formulas, the log marginal likelihood against a direct computation and scikit-learn, its gradient
against finite differences, the appended Cholesky factor against a fresh one, the fit against
scikit-learn's optimum, and gp_bo's searches against ones recorded with the scikit-learn version."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_suite import strategies
from nasbench_suite.encodings import one_hot
from nasbench_suite.protocol import Fidelity, Observation, SearchProblem
from nasbench_suite.space import CellSpace
from nasbench_suite.strategies.gaussian_process import (
    JITTER,
    LOG_BOUNDS,
    IncrementalGP,
    cholesky,
    cholesky_append,
    log_marginal_likelihood,
    squared_distances,
)


def dense_kernel(a: np.ndarray, b: np.ndarray, amplitude: float, length: float) -> np.ndarray:
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    return amplitude * np.exp(-0.5 * d / length**2)


def toy(n: int = 25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-hot NAS-Bench-201 archs with a smooth target plus noise (as gp_bo sees them)."""
    rng = np.random.default_rng(seed)
    space = CellSpace.nb201()
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(n)))
    x = one_hot(space, archs).astype(np.float64)
    y = 80 + x @ rng.normal(size=x.shape[1]) + 0.3 * rng.normal(size=len(x))
    return x, y


def standardized(y: np.ndarray) -> np.ndarray:
    return (y - y.mean()) / y.std()


def test_posterior_equals_the_dense_formulas() -> None:
    x, y = toy()
    model = IncrementalGP().fit(x, y, restarts=0, rng=np.random.default_rng(0))
    amplitude, length, noise = model.amplitude, model.length_scale, model.noise
    gram = dense_kernel(x, x, amplitude, length) + (noise + JITTER) * np.eye(len(x))
    xs, _ = toy(40, seed=1)
    cross = dense_kernel(xs, x, amplitude, length)
    inverse = np.linalg.inv(gram)
    mean = y.mean() + y.std() * cross @ inverse @ standardized(y)
    var = amplitude - np.einsum("ij,jk,ik->i", cross, inverse, cross)
    got_mean, got_std = model.posterior(xs)
    np.testing.assert_allclose(got_mean, mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(got_std, y.std() * np.sqrt(np.maximum(var, 0)), rtol=1e-6, atol=1e-8)
    # at a training input with little noise the mean is close to the observation
    assert (np.abs(model.posterior(x)[0] - y) < 3 * y.std()).all()


@pytest.mark.parametrize("log_theta", [[0.0, 0.0, math.log(0.1)], [1.2, 0.7, -5.0], [-2.0, 2.5, 0.5]])
def test_log_marginal_likelihood_equals_the_direct_formula_and_scikit_learn(log_theta: list[float]) -> None:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    x, y = toy()
    z = standardized(y)
    theta = np.array(log_theta)
    amplitude, length, noise = np.exp(theta)
    gram = dense_kernel(x, x, amplitude, length) + (noise + JITTER) * np.eye(len(x))
    sign, logdet = np.linalg.slogdet(gram)
    direct = -0.5 * z @ np.linalg.solve(gram, z) - 0.5 * logdet - 0.5 * len(z) * math.log(2 * math.pi)
    value, grad = log_marginal_likelihood(theta, squared_distances(x, x), z)
    assert sign > 0 and value == pytest.approx(direct, rel=1e-10)

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(1.0, (1e-2, 1e3)) + WhiteKernel(1e-1, (1e-6, 1e1))
    reference = GaussianProcessRegressor(kernel, optimizer=None).fit(x, z)
    ref_value, ref_grad = reference.log_marginal_likelihood(theta, eval_gradient=True)
    assert value == pytest.approx(ref_value, rel=1e-10)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-8, atol=1e-10)


def test_gradient_equals_central_finite_differences() -> None:
    x, y = toy(30, seed=2)
    z, sqdist = standardized(y), squared_distances(x, x)
    for theta in (np.array([0.3, 0.4, -1.0]), np.array([-1.0, 1.5, -8.0]), np.array([2.0, -0.5, 0.0])):
        _, grad = log_marginal_likelihood(theta, sqdist, z)
        h = 1e-5
        numeric = [
            (
                log_marginal_likelihood(theta + h * e, sqdist, z)[0]
                - log_marginal_likelihood(theta - h * e, sqdist, z)[0]
            )
            / (2 * h)
            for e in np.eye(3)
        ]
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_appending_rows_to_the_factor_equals_a_fresh_cholesky() -> None:
    x, _ = toy(30, seed=3)
    theta = np.array([0.5, 0.2, -3.0])
    sqdist = squared_distances(x, x)
    full = cholesky(sqdist, theta)
    assert full is not None
    for n in (29, 20):  # one new row (rank-one growth), then a block of ten
        head = cholesky(sqdist[:n, :n], theta)
        assert head is not None
        block = dense_kernel(x[n:], x[n:], *np.exp(theta[:2])) + (math.exp(theta[2]) + JITTER) * np.eye(
            30 - n
        )
        grown = cholesky_append(head, dense_kernel(x[:n], x[n:], *np.exp(theta[:2])), block)
        assert grown is not None
        np.testing.assert_allclose(grown, full, rtol=0, atol=1e-12)


def test_an_incremental_fit_equals_a_fit_from_scratch() -> None:
    x, y = toy(40, seed=4)
    gp = IncrementalGP()
    for n in range(12, 41, 7):
        grown = gp.fit(x[:n], y[:n], restarts=0, rng=np.random.default_rng(0))
    # the same data fitted from the last start without any history
    fresh = IncrementalGP()
    fresh._log_theta = gp._log_theta.copy()
    scratch = fresh.fit(x[:40], y[:40], restarts=0, rng=np.random.default_rng(0))
    np.testing.assert_allclose(grown.log_theta, scratch.log_theta, atol=1e-6)
    xs, _ = toy(10, seed=5)
    np.testing.assert_allclose(grown.posterior(xs)[0], scratch.posterior(xs)[0], atol=1e-6)
    # the factor kept for the next fit is the factor of the whole data at the fitted hyperparameters
    np.testing.assert_allclose(gp._chol, cholesky(squared_distances(x, x), grown.log_theta), atol=1e-12)


def test_the_fit_reaches_scikit_learns_optimum() -> None:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    for seed in range(3):
        x, y = toy(35, seed=10 + seed)
        ours = IncrementalGP().fit(x, y, restarts=2, rng=np.random.default_rng(seed))
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(1.0, (1e-2, 1e3)) + WhiteKernel(1e-1, (1e-6, 1e1))
        reference = GaussianProcessRegressor(kernel, n_restarts_optimizer=2, random_state=seed).fit(
            x, standardized(y)
        )
        ours_lml = log_marginal_likelihood(ours.log_theta, squared_distances(x, x), standardized(y))[0]
        assert ours_lml >= reference.log_marginal_likelihood_value_ - 1e-6
        assert (ours.log_theta >= LOG_BOUNDS[:, 0]).all() and (ours.log_theta <= LOG_BOUNDS[:, 1]).all()


# ---------------------------------------------------------------- gp_bo against the scikit-learn version
def gp_bo_trajectory(seed: int, steps: int) -> str:
    """Op strings gp_bo proposes when told a smooth synthetic accuracy with a deterministic wiggle."""
    space = CellSpace.nb201()
    problem = SearchProblem(space, (Fidelity.full(12),), Fidelity.full(12))
    search = strategies.build("gp_bo", problem, np.random.default_rng(seed), {})
    out = []
    for t in range(steps):
        proposal = search.ask()
        out.append("".join(map(str, proposal.arch.ops)))
        acc = 50.0 + sum(3.0 * op + 0.5 * e * (op == 2) for e, op in enumerate(proposal.arch.ops))
        search.tell(
            proposal, Observation(proposal.arch, proposal.fidelity, acc + math.sin(7 * t), 1.0, t + 1.0)
        )
    return " ".join(out)


# Recorded with the previous version (scikit-learn's GaussianProcessRegressor) by gp_bo_trajectory:
# 60 proposals, the last 50 chosen by EI.
RECORDED: dict[int, str] = {
    0: (
        "432110 000434 234332 241430 142033 400402 012220 000323 133124 441343 441342 441344 444344 "
        "344344 244344 444341 424344 444334 444044 144344 434344 443344 414344 444244 444444 444144 "
        "444414 440444 443444 434444 344444 444443 444442 442444 444434 433444 044444 444424 334444 "
        "343444 434443 444404 443434 434424 424444 244444 404444 443442 434244 344442 344434 443443 "
        "444440 344443 434434 434442 432444 414444 344424 444441"
    ),
    7: (
        "433423 410114 402403 024111 314222 222443 331421 404300 200242 444322 344322 443322 444422 "
        "444423 144422 442423 444022 244423 444443 444433 444442 444444 044444 444414 444244 444441 "
        "443444 344444 424444 444404 434444 444144 444434 444344 414444 441444 344443 334444 442444 "
        "343444 440444 434434 434442 244444 444424 344434 444440 443443 344442 433444 344344 434243 "
        "443442 444343 324444 144444 342444 443434 444432 404444"
    ),
}


@pytest.mark.parametrize("seed", sorted(RECORDED))
def test_gp_bo_proposes_what_the_scikit_learn_version_proposed(seed: int) -> None:
    expected = RECORDED[seed]
    assert gp_bo_trajectory(seed, len(expected.split())) == expected


def test_gp_bo_runs_blas_on_one_thread_from_its_first_fit_until_it_is_released() -> None:
    import gc

    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    space = CellSpace.nb201()
    problem = SearchProblem(space, (Fidelity.full(12),), Fidelity.full(12))
    with threadpool_limits(limits=2, user_api="blas"):
        search = strategies.build("gp_bo", problem, np.random.default_rng(0), {"num_init": 2})
        for t in range(4):
            proposal = search.ask()
            search.tell(proposal, Observation(proposal.arch, proposal.fidelity, 80.0 + t, 1.0, t + 1.0))
            assert blas_threads() == ({1} if t >= 2 else {2})  # limited at the first fit (the third ask)
        del search, proposal
        gc.collect()
        assert blas_threads() == {2}  # the caller's setting is back
