"""The log of live proxy scores that makes `validate proxies` resumable.

One JSON line per arch as soon as it is scored (`ArchScores` with the seed, batch and image source it was
scored with), appended and flushed, so a killed run loses at most the arch it was scoring. Reading keeps
the last line of every arch that matches this run's seed, batch and images and skips the others, and a
last line cut off by the kill. An arch's scores depend on nothing else (its network's init and zen's
draws are keyed by the seed and the arch), so reused scores are the ones a fresh run computes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nasbench_suite.live_training.proxies import ArchScores


class ScoreLog:
    """`path`'s arch scores for one (seed, batch, images)."""

    def __init__(self, path: Path, *, seed: int, batch: int, images: str) -> None:
        self.path = path
        self.key = {"seed": seed, "batch": batch, "images": images}

    def read(self) -> dict[int, ArchScores]:
        """The scored archs of this key (the last line wins); nothing when there is no log yet."""
        found: dict[int, ArchScores] = {}
        if not self.path.is_file():
            return found
        for line in self.path.read_text().splitlines():
            try:
                doc = json.loads(line)
                if {k: doc.get(k) for k in self.key} == self.key:
                    scores = ArchScores.from_json(doc)
                    found[scores.index] = scores
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a line cut off by a kill, or not ours
        return found

    def append(self, scores: ArchScores) -> None:
        """Add one arch's line and flush it to the disk."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(self.key | scores.to_json()) + "\n")
            f.flush()
            os.fsync(f.fileno())
