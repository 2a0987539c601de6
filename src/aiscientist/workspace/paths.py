"""Resolve paths that come from outside (models, users) and refuse any that leave the root."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from aiscientist.errors import PathEscapeError


def resolve_inside(root: Path, rel: str | Path) -> Path:
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
    root_resolved = root.resolve()
    target = (root_resolved / Path(*pure.parts)).resolve()
    if target != root_resolved and root_resolved not in target.parents:
        raise PathEscapeError(
            f"path {raw!r} resolves to {str(target)!r}, outside the workspace "
            f"{str(root_resolved)!r} (through a symlink)"
        )
    return target


def relative_posix(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in posix form (``path`` must be inside ``root``)."""
    return path.resolve().relative_to(root.resolve()).as_posix()
