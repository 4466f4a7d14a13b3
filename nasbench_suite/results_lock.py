"""One writer per results directory: an exclusive lock on `DIR/.lock`.

    with results_lock(out, command="nasbench-suite compare ..."):
        ...  # check or write config.json, run, write run files

The lock is `fcntl.flock(LOCK_EX | LOCK_NB)` on a file that is never deleted or replaced (a lock lives
on the file's inode, so replacing the file would hand out a second lock). The holder writes its pid,
host, start time and command into the file; a second writer fails at once with one line naming them.
The kernel drops the lock when the holder exits, however it exits (SIGKILL included), so a stale
`.lock` file blocks nobody: its text only describes the last holder.

Shared file systems: on Linux, `flock` on NFS (v3 with lockd, and v4) is emulated with whole-file
POSIX byte-range locks since kernel 2.6.12, so writers on different machines exclude each other.
CIFS/SMB maps it to its own byte-range locks. Lustre and BeeGFS grant it across clients only when
mounted with `-o flock` (with `-o localflock` the lock is local to one machine); some FUSE file systems
(sshfs) do not support it at all: there `flock` fails with ENOLCK/EOPNOTSUPP and the suite refuses to
write rather than write unlocked.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nasbench_suite.errors import ResultsError

LOCK = ".lock"
_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


def _holder(text: str) -> str:
    """What the lock file says about its holder, as a phrase for the message."""
    try:
        info = json.loads(text)
        if not isinstance(info, dict):
            raise ValueError
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["started"])))
        return f"pid {info['pid']} on {info['host']!r} since {started} ({info['command']!r})"
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        return "another process (it has not written its name yet)"


def _open(out: Path) -> tuple[int, list[Path]]:
    """The lock file's descriptor, and the folders made for it (deepest first)."""
    made: list[Path] = []
    try:
        if out.exists() and not out.is_dir():
            raise ResultsError(f"--out {str(out)!r} is a file, not a directory; choose a directory")
        folder = out.absolute()
        while not folder.exists():
            made.append(folder)
            folder = folder.parent
        out.mkdir(parents=True, exist_ok=True)
        return os.open(out / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), made
    except OSError as exc:
        _remove_empty(made)
        raise ResultsError(
            f"cannot write results to {str(out)!r}: {exc.strerror or exc}; choose another --out"
        ) from None


def _remove_empty(made: list[Path]) -> None:
    """Remove the folders this lock made, deepest first, while they are empty."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def results_lock(out: Path, *, command: str | None = None) -> Iterator[None]:
    """Hold the results directory `out` (created if missing) for writing; ResultsError if another
    process holds it or the file system cannot lock."""
    out = Path(out)
    fd, made = _open(out)
    failed = True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _BUSY:
                text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
                raise ResultsError(
                    f"{str(out)!r} is being written by {_holder(text)}; wait for it to finish or choose "
                    "another --out"
                ) from None
            raise ResultsError(
                f"cannot lock {str(out / LOCK)!r} ({exc.strerror or exc}): this file system does not "
                "support flock (see the README's Reliability section); write results to a local or NFS "
                "directory"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": command if command is not None else " ".join(sys.argv),
        }
        data = json.dumps(info).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        yield
        failed = False
    finally:
        if failed and made and os.listdir(out) == [LOCK]:  # a command that failed leaves nothing behind
            (out / LOCK).unlink()
            _remove_empty(made)
        os.close(fd)  # closing the last descriptor releases the flock
