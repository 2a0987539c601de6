"""Durability of the tree: ``tree/events.jsonl`` (append-only, one writer) + snapshots.

Each event is appended (and fsynced) before the tree applies it. Every ``snapshot_every``
events the whole tree is written to ``tree/snapshot.msgpack`` atomically (temp file, fsync,
rename), with the byte offset of the log it covers. Rebuilding loads the snapshot, then replays
the events after that offset whose ``seq`` is above the snapshot's version. A torn last line
(a crash in the middle of an append) was never applied and is dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import msgspec

from aiscientist.errors import TreeError
from aiscientist.hypotheses.events import EVENT_DECODER, EVENT_ENCODER, TreeEvent, TreeSnapshot
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.workspace.atomic import atomic_write_bytes

EVENTS_FILE = "events.jsonl"
SNAPSHOT_FILE = "snapshot.msgpack"


def _read_snapshot(tree_dir: Path) -> TreeSnapshot | None:
    path = tree_dir / SNAPSHOT_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.msgpack.decode(data, type=TreeSnapshot)
    except msgspec.DecodeError as exc:
        raise TreeError(
            f"tree snapshot {str(path)!r} is unreadable ({exc}); delete it to rebuild the "
            "tree from events.jsonl alone"
        ) from exc


def _replay(tree_dir: Path, clock: Callable[[], float]) -> tuple[HypothesisTree, int, int]:
    """Rebuild the tree; returns it, the offset of the end of the last whole line, file size."""
    snap = _read_snapshot(tree_dir)
    tree = (
        HypothesisTree(clock=clock)
        if snap is None
        else HypothesisTree.from_snapshot(snap, clock=clock)
    )
    offset = 0 if snap is None else snap.log_offset
    path = tree_dir / EVENTS_FILE
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size < offset:
                raise TreeError(
                    f"{str(path)!r} is {size} bytes but the snapshot covers {offset}; the log "
                    "was truncated. Delete snapshot.msgpack to rebuild from the log alone"
                )
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return tree, 0, 0
    end = data.rfind(b"\n") + 1  # bytes after the last newline are a torn append
    for lineno, line in enumerate(data[:end].splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = EVENT_DECODER.decode(line)
        except msgspec.DecodeError as exc:
            raise TreeError(
                f"{str(path)!r}: event line {lineno} after offset {offset} is invalid: {exc}"
            ) from exc
        if event.seq <= tree.version:
            continue
        tree.replay(event)
    return tree, offset + end, size


def load_tree(tree_dir: Path, clock: Callable[[], float] = time.time) -> HypothesisTree:
    """Read-only rebuild of the tree in ``tree_dir`` (safe while the writer is appending)."""
    return _replay(Path(tree_dir), clock)[0]


class TreeStore:
    """The single writer of a run's ``tree/``: open it, mutate ``store.tree``, close it."""

    def __init__(
        self,
        tree_dir: Path,
        *,
        snapshot_every: int = 1000,
        fsync: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dir = Path(tree_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.snapshot_every = snapshot_every
        self.fsync = fsync
        self.tree, good, size = _replay(self.dir, clock)
        path = self.dir / EVENTS_FILE
        if size > good:  # drop a torn last line before appending after it
            with open(path, "r+b") as fh:
                fh.truncate(good)
        self._fh: BinaryIO = open(path, "ab")
        self._offset = good
        self._since_snapshot = 0
        self.tree.set_sink(self._append)
        self.tree.on_applied.append(self._after)

    def _append(self, event: TreeEvent) -> None:
        line = EVENT_ENCODER.encode(event) + b"\n"
        self._fh.write(line)
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._offset += len(line)

    def _after(self, event: TreeEvent) -> None:
        self._since_snapshot += 1
        if self.snapshot_every and self._since_snapshot >= self.snapshot_every:
            self.snapshot()

    def snapshot(self) -> None:
        """Write the whole tree atomically, tagged with the log offset it covers."""
        snap = self.tree.to_snapshot(log_offset=self._offset)
        atomic_write_bytes(self.dir / SNAPSHOT_FILE, msgspec.msgpack.encode(snap))
        self._since_snapshot = 0

    def close(self) -> None:
        self._fh.close()
        self.tree.set_sink(None)

    def __enter__(self) -> TreeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
