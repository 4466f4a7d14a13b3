"""How an import puts a new store in place of the old one, so that a crash in any window leaves the
intact old store or the complete new one, never nothing.

Beside a store directory `DIR` an import uses (all in DIR's parent):

    .DIR.lock       an exclusive `fcntl.flock` held for the whole import (one importer at a time)
    .DIR.tmp-XXXX   the new store while it is written (a crash here leaves it: the next import removes it)
    .DIR.new        the new store, complete (its manifest and manifest checksum written and fsynced)
    .DIR.old        the old store between the two renames of the swap

The swap: `tmp -> .new`, `DIR -> .old`, `.new -> DIR`, remove `.old`. The only window without `DIR` is
between the second and the third rename; whoever opens the store then (`recover`) completes the swap
from `.new` (complete by construction), or, with no `.new`, restores `.old`. Recovery and the next
import take the same lock, so neither races a live import: a process killed by SIGKILL drops its lock.
`flock` is local to one machine unless the file system forwards it (NFS v4 and Lustre with `-o flock` do);
import into a shared store from one machine.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nasbench_suite.errors import StoreError
from nasbench_suite.store.manifest import MANIFEST, manifest_is_intact

# Fault injection for the crash tests: "<point>:<marker file>" makes the importer write its pid to the
# marker file at that point and wait there to be killed. Points, in order: writing, staged, ready,
# old-moved, swapped.
PAUSE_ENV = "NASBENCH_SUITE_TEST_PAUSE_IMPORT"


def checkpoint(point: str) -> None:
    """A named point of the import; pauses there when the crash tests ask for it (PAUSE_ENV)."""
    wanted, _, marker = os.environ.get(PAUSE_ENV, "").partition(":")
    if wanted == point and marker:
        Path(marker).write_text(str(os.getpid()))
        time.sleep(600)


def _sibling(target: Path, suffix: str) -> Path:
    return target.with_name(f".{target.name}.{suffix}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def import_lock(target: Path) -> Iterator[None]:
    """Hold the store's import lock (waits for a running import to finish)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = _sibling(target, "lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create the import lock {lock} ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def staging_dir(target: Path) -> Path:
    """A fresh directory to write the new store into (call under the import lock)."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))


def leftovers(target: Path) -> list[Path]:
    """What killed imports left beside `target`."""
    found = sorted(p for p in target.parent.glob(f".{target.name}.tmp-*") if p.is_dir())
    return found + [p for p in (_sibling(target, "new"), _sibling(target, "old")) if p.exists()]


def remove_leftovers(target: Path) -> list[Path]:
    """Remove what killed imports left beside `target` (call under the import lock, after `recover`)."""
    gone = leftovers(target)
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
    return gone


def install(staged: Path, target: Path) -> None:
    """Swap the complete store in `staged` into `target` (call under the import lock)."""
    new, old = _sibling(target, "new"), _sibling(target, "old")
    checkpoint("staged")
    os.replace(staged, new)
    fsync_dir(target.parent)
    checkpoint("ready")
    if target.exists():
        os.replace(target, old)
        checkpoint("old-moved")
    os.replace(new, target)
    fsync_dir(target.parent)
    checkpoint("swapped")
    shutil.rmtree(old, ignore_errors=True)


def check_target(target: Path) -> None:
    """Refuse to replace a directory that is not a store."""
    if (
        target.exists()
        and not (target / MANIFEST).exists()
        and (not target.is_dir() or any(target.iterdir()))
    ):
        raise StoreError(f"{target} exists and is not a store; choose another --store directory")


def recover(target: Path) -> str | None:
    """Finish what a killed import left: with no store at `target`, complete the swap from `.new` or
    restore `.old`. Returns what was done, or None when there was nothing to do."""
    new, old = _sibling(target, "new"), _sibling(target, "old")
    if target.exists() or not (new.exists() or old.exists()):
        return None
    try:
        with import_lock(target):
            return _recover_locked(target)
    except StoreError as exc:
        raise StoreError(
            f"no store at {target}, but an interrupted import left {new.name} or {old.name} beside it and "
            f"the lock cannot be taken here ({exc}); run `nasbench-suite data import` again"
        ) from None


def _recover_locked(target: Path) -> str | None:
    if target.exists():  # another process recovered it, or a running import finished
        return None
    for candidate, done in ((_sibling(target, "new"), "completed"), (_sibling(target, "old"), "undid")):
        if candidate.is_dir() and manifest_is_intact(candidate):
            try:
                os.replace(candidate, target)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY):
                    return None
                raise
            fsync_dir(target.parent)
            return f"{done} an interrupted import: {target} is the {'new' if done == 'completed' else 'previous'} store"
    return None
