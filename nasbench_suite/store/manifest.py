"""The store's manifest and the checksum that covers it.

`manifest.json` names every array file with its sha256; `manifest.sha256` beside it holds the sha256
of the manifest's bytes, in `sha256sum` format (`sha256sum -c manifest.sha256` inside the store checks
it too). So an edit of the manifest itself (a table's seeds reordered, a metric pointed at another
metric's file with that file's checksum) is caught when the store is opened, before any query.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
MANIFEST_SHA = "manifest.sha256"


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> None:
    """Write `manifest.json`, then its checksum (last: a store is complete once both are there)."""
    data = json.dumps(manifest, indent=1).encode()
    _write_synced(directory / MANIFEST, data)
    _write_synced(directory / MANIFEST_SHA, f"{hashlib.sha256(data).hexdigest()}  {MANIFEST}\n".encode())


def manifest_problem(directory: Path, raw: bytes) -> str | None:
    """What is wrong with the manifest bytes `raw` of the store in `directory`; None if they match
    their recorded checksum."""
    sidecar = directory / MANIFEST_SHA
    try:
        recorded = sidecar.read_text().split()
    except FileNotFoundError:
        return (
            f"{MANIFEST_SHA} is missing (the store was made by an older suite version, or the file was "
            "deleted), so its manifest cannot be checked"
        )
    except (OSError, UnicodeDecodeError) as exc:
        return f"{MANIFEST_SHA} is unreadable ({exc})"
    if len(recorded) != 2 or recorded[1] != MANIFEST:
        return f"{MANIFEST_SHA} is corrupt (expected '<sha256>  {MANIFEST}')"
    if hashlib.sha256(raw).hexdigest() != recorded[0]:
        return f"{MANIFEST} does not match its checksum in {MANIFEST_SHA} (edited or corrupt)"
    return None


def manifest_is_intact(directory: Path) -> bool:
    try:
        raw = (directory / MANIFEST).read_bytes()
    except OSError:
        return False
    return manifest_problem(directory, raw) is None


def recorded_provenance(raw: bytes) -> Mapping[str, Any]:
    """The provenance in manifest bytes, best effort (for repair advice on a manifest that fails)."""
    try:
        manifest = json.loads(raw)
        provenance = manifest.get("provenance", {}) if isinstance(manifest, dict) else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return provenance if isinstance(provenance, dict) else {}


def repair_hint(store: Path, provenance: Mapping[str, Any]) -> str:
    """How to repair the store at `store`: the exact re-import command from the recorded source."""
    source = provenance.get("source")
    target = shlex.quote(str(store))
    if isinstance(source, str) and source and Path(source).exists():
        return f"repair: nasbench-suite data import {shlex.quote(source)} --store {target}"
    where = f" (recorded as {source!r}, which is not there)" if isinstance(source, str) and source else ""
    return f"repair: re-import from the original source{where}: nasbench-suite data import SOURCE --store {target}"
