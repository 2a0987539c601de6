"""``WorkspaceView``: what one role sees of the workspace. Reads anywhere, writes only the
role's regions (``regions.REGIONS``); any other write raises ``RegionPermissionError``."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from aiscientist.errors import RegionPermissionError, WorkspaceError
from aiscientist.messages import Pointer
from aiscientist.workspace.atomic import (
    append_line,
    atomic_write_bytes,
    sha256_file,
)
from aiscientist.workspace.paths import relative_posix, resolve_inside
from aiscientist.workspace.regions import HIDDEN, REGIONS, owners, region_of

OnWrite = Callable[[str, str, str | None], None]
"""Called after each write with (relative path, role, one-line summary or None)."""


class WorkspaceView:
    """A role's handle on a run directory."""

    def __init__(self, root: Path, role: str, on_write: OnWrite | None = None) -> None:
        self.root = root.resolve()
        self.role = role
        self._on_write = on_write
        self._written: dict[str, None] = {}
        self._logs: dict[str, tuple[Path, str]] = {}

    # ---- reading ----
    def path(self, rel: str | Path) -> Path:
        """Absolute path of ``rel``, refused if it escapes the workspace."""
        return resolve_inside(self.root, rel, root_resolved=True)

    def rel(self, path: Path) -> str:
        """Posix path of ``path`` relative to the run directory."""
        return relative_posix(self.root, path, root_resolved=True)

    def exists(self, rel: str | Path) -> bool:
        return self.path(rel).exists()

    def hidden(self, p: Path) -> bool:
        """Whether ``p`` is hidden from this role (``regions.HIDDEN``; the runtime sees all)."""
        return self.role != "runtime" and any(p.is_relative_to(self.root / h) for h in HIDDEN)

    def readable(self, rel: str | Path) -> Path:
        """Absolute path of ``rel`` for reading; refused if hidden from this role."""
        p = self.path(rel)
        if self.hidden(p):
            raise RegionPermissionError(f"{str(rel)!r} is hidden from agents (held-out labels)")
        return p

    def read_text(self, rel: str | Path, limit: int | None = None) -> str:
        """Text of a file; at most ``limit`` characters when given."""
        p = self.readable(rel)
        try:
            text = p.read_text(errors="replace")
        except FileNotFoundError as exc:
            raise WorkspaceError(f"no such file in the workspace: {str(rel)!r}") from exc
        except IsADirectoryError as exc:
            raise WorkspaceError(f"{str(rel)!r} is a directory, not a file") from exc
        return text if limit is None else text[:limit]

    def read_bytes(self, rel: str | Path) -> bytes:
        try:
            return self.readable(rel).read_bytes()
        except FileNotFoundError as exc:
            raise WorkspaceError(f"no such file in the workspace: {str(rel)!r}") from exc

    def list(self, rel: str | Path = ".", pattern: str = "*", limit: int = 500) -> list[str]:
        """Relative paths of files under ``rel`` matching ``pattern`` (recursive glob)."""
        base = self.path(rel) if str(rel) not in (".", "") else self.root
        out: list[str] = []
        for p in sorted(base.rglob(pattern)):
            if p.is_file() and ".git" not in p.parts and not self.hidden(p):
                out.append(self.rel(p))
                if len(out) >= limit:
                    break
        return out

    # ---- writing ----
    def own_regions(self) -> tuple[str, ...]:
        """The regions this role may write (agents' transcripts and usage excluded)."""
        return tuple(
            r for r, roles in REGIONS.items() if self.role in roles and not r.startswith("journal/")
        )

    def can_write(self, rel: str) -> bool:
        return self.role in owners(rel)

    def writable_path(self, rel: str | Path) -> Path:
        """Absolute path of ``rel`` after checking that this role may write it."""
        target = self.path(rel)
        rel_posix = self.rel(target)
        if self.role not in owners(rel_posix):
            region = region_of(rel_posix) or "(no region)"
            raise RegionPermissionError(
                f"role {self.role!r} may not write {rel_posix!r}: region {region!r} belongs to "
                f"{sorted(owners(rel_posix)) or 'nobody'}; write inside your own regions: "
                + ", ".join(self.own_regions())
            )
        return target

    def write_text(self, rel: str | Path, text: str, summary: str | None = None) -> Pointer:
        """Atomically replace a file in one of the role's regions."""
        return self.write_bytes(rel, text.encode("utf-8"), summary)

    def write_bytes(self, rel: str | Path, data: bytes, summary: str | None = None) -> Pointer:
        target = self.writable_path(rel)
        atomic_write_bytes(target, data)
        return self._touched(target, summary)

    def append_record(self, rel: str | Path, line: bytes, sync: bool = True) -> Pointer:
        """Append one JSON line to a log this role alone writes (``sync``: fsync it). The
        checked, resolved path of a log is kept for the view's lifetime: a session appends to
        its transcript and usage logs on every message, and resolving (one ``lstat`` per path
        component) and re-checking each time was most of a short session's cost."""
        key = str(rel)
        if key not in self._logs:
            target = self.writable_path(rel)
            self._logs[key] = (target, self.rel(target))
        target, rel_posix = self._logs[key]
        append_line(target, line, sync)
        return self._touched(target, None, rel_posix)

    def begin_section(self, rel: str | Path, title: str) -> Pointer:
        """Open a new session section in an append-only markdown log."""
        target = self.writable_path(rel)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        header = f"\n## {title} ({stamp} UTC)\n\n"
        if not target.exists():
            header = f"# {target.stem.replace('_', ' ')}\n" + header
        append_line(target, header.encode().rstrip(b"\n") + b"\n")
        return self._touched(target, None)

    def append_text(self, rel: str | Path, text: str) -> Pointer:
        """Append text to the current section of an append-only log."""
        target = self.writable_path(rel)
        append_line(target, text.encode("utf-8"))
        return self._touched(target, None)

    def copy_in(self, source: Path, rel: str | Path, summary: str | None = None) -> Pointer:
        """Copy a host file into the role's region (atomically)."""
        return self.write_bytes(rel, source.read_bytes(), summary)

    def remove_tree(self, rel: str | Path) -> None:
        """Delete a directory inside the role's regions."""
        target = self.writable_path(rel)
        if target == self.root:
            raise RegionPermissionError("refusing to delete the workspace root")
        shutil.rmtree(target, ignore_errors=True)

    # ---- deltas ----
    def note_written(self, target: Path, summary: str | None = None) -> Pointer:
        """Record a file written by a subprocess (e.g. a sandboxed command) in the delta."""
        return self._touched(target.resolve(), summary)

    def take_delta(self) -> tuple[Pointer, ...]:
        """Pointers to the files written since the last call, then forget them."""
        out = []
        for rel in self._written:
            p = self.root / rel
            if p.is_file():
                out.append(Pointer(path=rel, digest=sha256_file(p), size=p.stat().st_size))
        self._written.clear()
        return tuple(out)

    def _touched(self, target: Path, summary: str | None, rel: str | None = None) -> Pointer:
        rel = rel or self.rel(target)
        self._written[rel] = None
        if self._on_write is not None:
            self._on_write(rel, self.role, summary)
        return Pointer(path=rel, size=target.stat().st_size)
