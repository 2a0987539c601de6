"""Resolve paths that come from outside (models, users) and refuse any that leave the root."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from aiscientist.errors import PathEscapeError


def resolve_inside(root: Path, rel: str | Path, *, root_resolved: bool = False) -> Path:
    """Absolute path of ``rel`` under ``root``; raises ``PathEscapeError`` if it escapes.

    Refused: absolute paths, ``..`` components, and symlinks (anywhere on the way) that point
    outside ``root``. The result is fully resolved, so a later open cannot be redirected by a
    link that already exists.
    """
    raw = str(rel)
    if not raw or raw.strip() == "":
        raise PathEscapeError("empty path; give a path relative to the workspace")
    if "\x00" in raw:
        raise PathEscapeError(f"path {raw!r} contains a NUL byte")
    pure = PurePosixPath(raw.replace("\\", "/"))
    if pure.is_absolute():
        raise PathEscapeError(
            f"path {raw!r} is absolute; give a path relative to the workspace root"
        )
    if ".." in pure.parts:
        raise PathEscapeError(f"path {raw!r} contains '..'; paths must stay inside the workspace")
    base = root if root_resolved else root.resolve()
    target = (base / Path(*pure.parts)).resolve()
    if target != base and base not in target.parents:
        raise PathEscapeError(
            f"path {raw!r} resolves to {str(target)!r}, outside the workspace "
            f"{str(base)!r} (through a symlink)"
        )
    return target


def relative_posix(root: Path, path: Path, *, root_resolved: bool = False) -> str:
    """``path`` relative to ``root`` in posix form (``path`` must be inside ``root``).
    ``root_resolved``: the caller already resolved ``root`` (saves a walk of its parts)."""
    base = root if root_resolved else root.resolve()
    return path.resolve().relative_to(base).as_posix()
