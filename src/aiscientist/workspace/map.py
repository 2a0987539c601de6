"""The live map of a workspace: ``map.json`` and ``MAP.md``.

One entry per file (path, owner role, size, sha256, mtime, one-line summary). Kept current
incrementally: ``update`` re-reads only the paths it is given, ``refresh`` stats the tree and
re-hashes only files whose size or mtime changed. Written by the runtime alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import msgspec

from aiscientist.workspace.atomic import atomic_write_bytes, atomic_write_text, sha256_file
from aiscientist.workspace.regions import owners

SKIP_DIRS = frozenset({".git", "__pycache__", ".venv", "node_modules"})
SKIP_FILES = frozenset({"map.json", "MAP.md"})
UNLISTED = ("agent/state/", "agent/experiments/", "journal/")
"""Runtime records kept in ``map.json`` but not listed in ``MAP.md`` (the agents' view): a
long run has thousands of them and agents reach them through their own tools."""


class MapEntry(msgspec.Struct):
    path: str
    owner: str
    size: int
    sha256: str
    mtime_ns: int
    summary: str = ""


@dataclass
class MapStats:
    hashed: int = 0
    removed: int = 0


def _first_line(path: Path) -> str:
    if path.suffix not in {".md", ".txt", ".py", ".sh", ".json", ".yaml", ".yml", ".csv", ".log"}:
        return ""
    try:
        with open(path, errors="replace") as fh:
            for _ in range(20):
                line = fh.readline()
                if not line:
                    break
                line = line.strip().lstrip("#").strip()
                if line:
                    return line[:120]
    except OSError:
        return ""
    return ""


class WorkspaceMap:
    """Index of a run directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.entries: dict[str, MapEntry] = {}
        self.stats = MapStats()
        self._dirty = False
        existing = self.root / "map.json"
        if existing.exists():
            try:
                items = msgspec.json.decode(existing.read_bytes(), type=list[MapEntry])
                self.entries = {e.path: e for e in items}
            except msgspec.DecodeError:
                self.entries = {}

    def update(self, rel: str, summary: str | None = None) -> None:
        """Re-read one path (added, changed or deleted)."""
        if rel in SKIP_FILES:
            return
        p = self.root / rel
        try:
            st = p.stat()
        except FileNotFoundError:
            if self.entries.pop(rel, None) is not None:
                self.stats.removed += 1
                self._dirty = True
            return
        old = self.entries.get(rel)
        if old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
            if summary and summary != old.summary:
                old.summary = summary[:200]
                self._dirty = True
            return
        roles = sorted(owners(rel))
        self.entries[rel] = MapEntry(
            path=rel,
            owner=",".join(roles) if roles else "-",
            size=st.st_size,
            sha256=sha256_file(p),
            mtime_ns=st.st_mtime_ns,
            summary=(summary or (old.summary if old else "") or _first_line(p))[:200],
        )
        self.stats.hashed += 1
        self._dirty = True

    def refresh(self) -> None:
        """Stat the whole tree; re-hash only changed files; drop deleted ones."""
        seen: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in filenames:
                if name.startswith(".") and name.endswith(".tmp"):
                    continue
                rel = Path(dirpath, name).relative_to(self.root).as_posix()
                if rel in SKIP_FILES:
                    continue
                seen.add(rel)
                self.update(rel)
        for rel in [r for r in self.entries if r not in seen]:
            del self.entries[rel]
            self.stats.removed += 1
            self._dirty = True

    def save(self, force: bool = False) -> bool:
        """Write ``map.json`` and ``MAP.md`` if anything changed; returns whether it wrote."""
        if not (self._dirty or force):
            return False
        items = sorted(self.entries.values(), key=lambda e: e.path)
        atomic_write_bytes(self.root / "map.json", msgspec.json.encode(items))
        atomic_write_text(self.root / "MAP.md", self.render(items))
        self._dirty = False
        return True

    def render(self, items: list[MapEntry] | None = None, limit: int = 400) -> str:
        """The map as markdown: one line per file, grouped by top-level directory."""
        items = items if items is not None else sorted(self.entries.values(), key=lambda e: e.path)
        listed = [e for e in items if not e.path.startswith(UNLISTED)]
        lines = ["# Workspace map", "", f"{len(items)} files.", ""]
        if len(listed) < len(items):
            lines.append(
                f"{len(items) - len(listed)} runtime records under {', '.join(UNLISTED)} are "
                "not listed (wait_experiments reports experiment results)."
            )
        items = listed
        shown = 0
        current = None
        for e in items:
            top = e.path.split("/", 1)[0] if "/" in e.path else "."
            if top != current:
                lines += ["", f"## {top}/" if top != "." else "## (root)"]
                current = top
            if shown >= limit:
                continue
            lines.append(f"- `{e.path}` ({e.size} B, {e.owner}) {e.summary}".rstrip())
            shown += 1
        if shown < len(items):
            lines.append(f"\n… {len(items) - shown} more files (see map.json)")
        return "\n".join(lines) + "\n"

    def digest_of(self, rel: str) -> str:
        e = self.entries.get(rel)
        return e.sha256 if e else ""
