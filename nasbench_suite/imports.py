"""Import a module named by a dotted name or by a path to a `.py` file, the same way in every process.

This is how strategies from outside the suite arrive (`--strategy-module`, the `nasbench_suite.strategies`
entry points): the main process imports them, and so does every worker process, which matters when the
workers are spawned rather than forked (a spawned worker starts with nothing imported).

A file is imported under a name derived from its resolved path, `nasbench_suite_ext_<stem>_<hash>`, never
under its bare stem: a user's `random.py` or `strategies.py` cannot shadow another module, and the same file
gets the same name in a worker, so the classes it defines pickle by reference.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from nasbench_suite.errors import ConfigError

PREFIX = "nasbench_suite_ext_"


def is_file(text: str) -> bool:
    """A `.py` path (or anything with a path separator) rather than a dotted module name."""
    return text.endswith(".py") or "/" in text or "\\" in text


def normalize(text: str) -> str:
    """The form that is recorded and compared: a file as its absolute resolved path, a module as given.

    >>> normalize("json.decoder")
    'json.decoder'
    """
    if is_file(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"strategy module file {text!r} does not exist (looked at {str(path.absolute())!r})"
            )
        return str(path.resolve())
    if not text or not all(part.isidentifier() for part in text.split(".")):
        raise ConfigError(
            f"{text!r} is neither a .py file nor a module name (a dotted name like 'mypackage.strategies')"
        )
    return text


def module_name(path: str | Path) -> str:
    """The name a file is imported under: its stem made an identifier, plus a hash of its resolved path."""
    resolved = Path(path).resolve()
    stem = re.sub(r"\W", "_", resolved.stem)
    return f"{PREFIX}{stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:10]}"


def load(text: str) -> ModuleType:
    """Import `text` (a dotted module name or a `.py` file) once; later calls return the same module.

    >>> load("json.decoder").__name__
    'json.decoder'
    """
    spec = normalize(text)
    if not is_file(spec):
        return _import_name(spec)
    name = module_name(spec)
    if name in sys.modules:
        return sys.modules[name]
    found = importlib.util.spec_from_file_location(name, spec)
    if found is None or found.loader is None:
        raise ConfigError(f"cannot import {text!r}: not a Python source file")
    module = importlib.util.module_from_spec(found)
    sys.modules[name] = module
    try:
        found.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise _failed(text, exc) from exc
    return module


def load_all(texts: Iterable[str]) -> tuple[ModuleType, ...]:
    return tuple(load(t) for t in texts)


def source_of(module: str) -> str:
    """What `load` needs to import module `module` again (in another process): its file for a module
    loaded from a file, else its name."""
    if module.startswith(PREFIX) and module in sys.modules and sys.modules[module].__file__:
        return str(Path(sys.modules[module].__file__ or "").resolve())
    return module


def _import_name(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            here = Path(*name.split(".")).with_suffix(".py")
            hint = f" (there is {str(here)!r} here: pass that path)" if here.is_file() else ""
            raise ConfigError(
                f"no module named {name!r} on the Python path; give the path of a .py file instead, or add "
                f"the folder that holds it to PYTHONPATH{hint}"
            ) from None
        raise _failed(name, exc) from exc
    except Exception as exc:
        raise _failed(name, exc) from exc


def _failed(text: str, exc: BaseException) -> ConfigError:
    """One line that names the user's code where it broke (its own traceback is a bug of theirs, not ours)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({exc.filename}, line {exc.lineno})"
    elif frames:
        where = f" ({frames[-1].filename}, line {frames[-1].lineno})"
    return ConfigError(f"importing strategy module {text!r} failed: {type(exc).__name__}: {exc}{where}")
