"""One fixed colour per strategy, in every figure and report: random search is the same grey-blue in a
comparison of two strategies as in one of fifteen.

Known strategies (the suite's, and the reproduction's `bohb-nb201`) have a fixed entry of an
18-colour palette built from Tableau 10 and the dark half of Tableau 20, distinguishable from each
other; any other name gets one of 12 further colours chosen by a hash of the name (stable across runs
and machines: `hashlib`, not Python's salted `hash`). The mapping depends on the name only, never on
which other strategies are plotted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

FIXED: dict[str, str] = {
    "random": "#4e79a7",
    "rea": "#f28e2b",
    "reinforce": "#e15759",
    "bohb": "#76b7b2",
    "bohb-nb201": "#2f6f6a",
    "hyperband": "#59a14f",
    "sh": "#8cd17d",
    "tpe": "#edc948",
    "bananas": "#b07aa1",
    "local_search": "#ff9da7",
    "gp_bo": "#9c755f",
    "zc": "#bab0ac",
    "hw_rea": "#d37295",
    "nsga2": "#499894",
    "mnas": "#86bcb6",
    "controller_reinforce": "#a0cbe8",
    "controller_ppo": "#ffbe7d",
    "metaqnn": "#79706e",
}
_OTHERS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
)  # fmt: skip


def strategy_color(name: str) -> str:
    """The strategy's colour as '#rrggbb'."""
    if name in FIXED:
        return FIXED[name]
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return _OTHERS[int.from_bytes(digest[:4], "big") % len(_OTHERS)]


def strategy_colors(names: Iterable[str]) -> dict[str, str]:
    return {n: strategy_color(n) for n in names}


HATCHES = ("////", "\\\\\\\\", "xxxx", "....", "||||", "----", "++++", "oooo")


def band_hatch(position: int) -> str:
    """A hatch pattern for the confidence band of the strategy drawn `position`-th, so overlapping bands
    stay distinguishable where their colours mix."""
    return HATCHES[position % len(HATCHES)]
