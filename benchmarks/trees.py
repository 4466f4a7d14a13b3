"""Benchmark probes run in fresh processes of a source tree of the suite: a baseline commit (a git
worktree) or this checkout. A tree is imported through PYTHONPATH, ahead of this checkout's editable
install; each probe prints one JSON line, its result."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def layout_of(tree: Path) -> str:
    """'top' for a tree whose strategies were a top-level package, else 'package'."""
    module = tree / "strategies" / "random_search.py"
    return "top" if module.is_file() and "from strategies." in module.read_text() else "package"


@functools.cache
def installed_layout(tree: Path) -> Path:
    """A folder that imports as `tree` installed: nasbench_suite/ holding links to the tree's core
    modules and to its strategies/, analysis/ and live_training/ (installed as subpackages; on the
    tree's path alone, `nasbench_suite.strategies` would come from this checkout's editable install)."""
    root = Path(tempfile.mkdtemp(prefix="nasbench-suite-baseline-"))
    atexit.register(shutil.rmtree, root, True)  # links only: the tree itself is not touched
    package = root / "nasbench_suite"
    package.mkdir()
    for entry in (tree / "nasbench_suite").iterdir():
        (package / entry.name).symlink_to(entry)
    for sub in ("strategies", "analysis", "live_training"):
        (package / sub).symlink_to(tree / sub)
    return root


def environment(tree: Path | None) -> dict[str, str]:
    """The environment of a process that imports `tree` (None: this checkout)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree if layout_of(tree) == "top" else installed_layout(tree))
    return env


def run_probe(tree: Path | None, code: str, args: list[str], *, cwd: Path | None = None) -> Any:
    """The JSON result `code` prints last, run with `args` in a fresh process of `tree` (None: this
    checkout), from `cwd` (default: the temporary folder; never the checkout, where `import
    strategies` would find this checkout's)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=environment(tree),
        cwd=cwd or tempfile.gettempdir(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the probe failed in {tree or 'this checkout'}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
