"""Search strategies behind one ask/tell interface (`nasbench_suite.protocol.Strategy`).

Each strategy is one module that registers itself; `registry.build(name, problem, rng, hparams)` makes one.
"""

from nasbench_suite.strategies import (  # noqa: F401 - importing a module registers its strategies
    bananas,
    bohb,
    controller_ppo,
    controller_reinforce,
    dehb_adapter,
    gp_bo,
    hardware_aware,
    hyperband,
    local_search,
    metaqnn,
    nevergrad_adapter,
    optuna_adapter,
    optuna_samplers,
    random_search,
    regularized_evolution,
    reinforce,
    smac_adapter,
    zero_cost,
)
from nasbench_suite.strategies.registry import (
    build,
    check_hyperparameters,
    hyperparameters,
    names,
    register,
    summary,
)

__all__ = ["build", "check_hyperparameters", "hyperparameters", "names", "register", "summary"]
