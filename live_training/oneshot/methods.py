"""The one-shot methods by name, and the checks of what each can run on."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from nasbench_suite.errors import ConfigError, unknown
from nasbench_suite.live_training.oneshot.base import OneShotMethod
from nasbench_suite.live_training.oneshot.darts import DartsV1, DartsV2
from nasbench_suite.live_training.oneshot.enas import Enas
from nasbench_suite.live_training.oneshot.gdas import Gdas
from nasbench_suite.live_training.oneshot.rsps import Rsps
from nasbench_suite.live_training.oneshot.setn import Setn
from nasbench_suite.space import CellSpace

# NAS-Bench-201's Table 5 weight-sharing rows, in its order
METHODS: Mapping[str, type[OneShotMethod]] = MappingProxyType(
    {"rsps": Rsps, "darts_v1": DartsV1, "darts_v2": DartsV2, "gdas": Gdas, "setn": Setn, "enas": Enas}
)
# the latency-aware variants: the base method's arch loss plus the FBNet-style expected-latency penalty
LATENCY_METHODS: Mapping[str, type[OneShotMethod]] = MappingProxyType(
    {"darts_v1_lat": DartsV1, "gdas_lat": Gdas}
)
ALL_METHODS: tuple[str, ...] = (*METHODS, *LATENCY_METHODS)
# display names of NAS-Bench-201's table
DISPLAY: Mapping[str, str] = MappingProxyType(
    {
        "rsps": "RSPS",
        "darts_v1": "DARTS-V1",
        "darts_v2": "DARTS-V2",
        "gdas": "GDAS",
        "setn": "SETN",
        "enas": "ENAS",
        "darts_v1_lat": "DARTS-V1 + latency",
        "gdas_lat": "GDAS + latency",
    }
)


def method_class(name: str) -> type[OneShotMethod]:
    if name in METHODS:
        return METHODS[name]
    if name in LATENCY_METHODS:
        return LATENCY_METHODS[name]
    raise unknown("one-shot method", name, ALL_METHODS)


def check_method(name: str, space: CellSpace, store_space: CellSpace, *, constrained: bool) -> None:
    """Raise ConfigError when `name` cannot run on `space` with or without a latency constraint."""
    method_class(name)
    if name in LATENCY_METHODS:
        if not constrained:
            raise ConfigError(
                f"{name!r} searches under a latency limit: give --constraint 'hw_latency_ms/DEVICE<=L' "
                "(e.g. hw_latency_ms/pixel3<=10)"
            )
        if space != store_space:
            raise ConfigError(
                f"{name!r} fits its per-op latencies to the table's archs, so it needs the table's space "
                f"(ops {', '.join(store_space.ops)}, {store_space.n_nodes} nodes); got ops "
                f"{', '.join(space.ops)}, {space.n_nodes} nodes"
            )
