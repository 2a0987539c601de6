"""Create and open run directories: the DESIGN.md layout, ``run.json`` read and written
atomically."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import msgspec

from aiscientist.errors import UserError
from aiscientist.messages import RunManifest, new_id
from aiscientist.workspace.atomic import atomic_write_bytes
from aiscientist.workspace.regions import LAYOUT_DIRS


def manifest_path(run_dir: Path) -> Path:
    return run_dir / "run.json"


def read_manifest(run_dir: Path) -> RunManifest:
    """``run.json`` of ``run_dir``; a clear error when it is missing or corrupt."""
    p = manifest_path(run_dir)
    if not p.exists():
        raise UserError(f"{str(run_dir)!r} is not a run directory (no run.json)")
    try:
        return msgspec.json.decode(p.read_bytes(), type=RunManifest)
    except msgspec.DecodeError as exc:
        raise UserError(f"run.json in {str(run_dir)!r} is corrupt: {exc}") from exc


def write_manifest(run_dir: Path, manifest: RunManifest) -> RunManifest:
    """Rewrite ``run.json`` atomically with ``updated_at`` set."""
    m = msgspec.structs.replace(manifest, updated_at=time.time())
    atomic_write_bytes(manifest_path(run_dir), msgspec.json.format(msgspec.json.encode(m)))
    return m


def make_run_dir(root: Path, task_name: str) -> tuple[str, Path]:
    """A new, empty run directory with the layout; returns ``(run_id, path)``."""
    run_id = f"{task_name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{new_id('r')[-6:]}"
    run_dir = (root / run_id).resolve()
    run_dir.mkdir(parents=True, exist_ok=False)
    for d in LAYOUT_DIRS:
        (run_dir / d).mkdir(parents=True, exist_ok=True)
    return run_id, run_dir


def copy_public(task_root: Path, rel_files: list[Path], run_dir: Path) -> None:
    """Copy the task's public files (never ``private/``) into ``task/``, read-only."""
    dest_root = run_dir / "task"
    for rel in rel_files:
        if rel.parts and rel.parts[0] == "private":
            continue
        src = task_root / rel
        dest = dest_root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        dest.chmod(0o444)
