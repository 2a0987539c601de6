"""Record real model calls to a cassette and replay them deterministically.

A cassette is a JSON-lines file; each line is one ``CassetteEntry``: the request (messages,
tools, tool choice, JSON schema), its digest, the role, and the ``Completion`` it got.
``RecordingModel`` wraps any model and appends an entry per call. ``ReplayModel`` answers
from a cassette, with no network and no server:

- ``strict`` (default): a request is looked up by its digest. The same request recorded
  several times gets its answers in recorded order, then the last one again. An unknown
  request raises ``FatalModelError`` naming the request, so a changed prompt fails loudly.
- ``ordered``: the role's answers in recorded order whatever the request (for prompts that
  hold times or ids); running out raises ``FatalModelError``.

The digest covers the request only, not the model name, so a cassette recorded with one
backend replays under any configuration. Give each concurrently recording process its own
cassette (one writer per append-only file).
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from pathlib import Path
from typing import Any, Literal

import msgspec

from aiscientist.errors import ConfigError, FatalModelError
from aiscientist.models.base import ChatMessage, Completion, Model, ToolChoice, ToolSpec

CASSETTE_SCHEMA_VERSION = 1
ReplayMode = Literal["strict", "ordered"]


class Request(msgspec.Struct, frozen=True):
    """Everything a model call depends on."""

    messages: list[ChatMessage]
    tools: list[ToolSpec] | None = None
    tool_choice: str | ToolChoice | None = None
    json_schema: dict[str, Any] | None = None


class CassetteEntry(msgspec.Struct, frozen=True):
    """One recorded call."""

    key: str
    role: str
    request: Request
    response: Completion
    context_window: int = 0
    schema_version: int = CASSETTE_SCHEMA_VERSION


def request_key(request: Request) -> str:
    """A stable digest of ``request`` (key order in schemas does not matter)."""
    data = msgspec.json.encode(request, order="deterministic")
    return hashlib.sha256(data).hexdigest()[:32]


def read_cassette(path: str | Path) -> list[CassetteEntry]:
    """Every entry of the cassette at ``path``."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read cassette {str(p)!r}: {exc}; record one with the model spec "
            f"'record:{p}=SPEC'"
        ) from exc
    decoder = msgspec.json.Decoder(CassetteEntry)
    entries = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(decoder.decode(line))
        except msgspec.DecodeError as exc:
            raise ConfigError(
                f"cassette {str(p)!r} line {n} is not a cassette entry: {exc}"
            ) from exc
    return entries


class RecordingModel:
    """Calls ``inner`` and appends every request and reply to a cassette."""

    def __init__(self, inner: Model, cassette: str | Path, role: str = "default") -> None:
        self.inner = inner
        self.name = inner.name
        self.cassette = Path(cassette)
        self.role = role
        self._encoder = msgspec.json.Encoder()

    @property
    def context_window(self) -> int:
        return self.inner.context_window

    def for_role(self, role: str) -> RecordingModel:
        return self

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | ToolChoice | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        reply = self.inner.complete(messages, tools, tool_choice, json_schema)
        request = Request(list(messages), list(tools) if tools else None, tool_choice, json_schema)
        entry = CassetteEntry(
            key=request_key(request),
            role=self.role,
            request=request,
            response=reply,
            context_window=self.inner.context_window,
        )
        self.cassette.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.cassette, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, self._encoder.encode(entry) + b"\n")
        finally:
            os.close(fd)
        return reply


class ReplayModel:
    """Answers from a cassette; see the module docstring for the two modes."""

    def __init__(
        self,
        entries: list[CassetteEntry],
        mode: ReplayMode = "strict",
        role: str = "default",
        name: str = "replay",
    ) -> None:
        if mode not in ("strict", "ordered"):
            raise ConfigError(f"replay mode {mode!r} is unknown; use 'strict' or 'ordered'")
        self.name = name
        self.mode: ReplayMode = mode
        self.role = role
        mine = [e for e in entries if e.role == role] or entries
        self._window = next((e.context_window for e in mine if e.context_window), 32768)
        self._ordered = deque(e.response for e in mine)
        self._by_key: dict[str, deque[Completion]] = {}
        self._last: dict[str, Completion] = {}
        for e in entries:
            self._by_key.setdefault(e.key, deque()).append(e.response)
        self._count = len(entries)

    @classmethod
    def from_file(
        cls, path: str | Path, mode: ReplayMode = "strict", role: str = "default"
    ) -> ReplayModel:
        return cls(read_cassette(path), mode=mode, role=role, name=f"replay:{path}")

    def for_role(self, role: str) -> ReplayModel:
        return self

    @property
    def context_window(self) -> int:
        return self._window

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | ToolChoice | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        if self.mode == "ordered":
            if not self._ordered:
                raise FatalModelError(
                    f"{self.name!r} (role {self.role!r}) has no recorded reply left; "
                    "re-record the cassette for the longer run"
                )
            return self._ordered.popleft()
        request = Request(list(messages), list(tools) if tools else None, tool_choice, json_schema)
        key = request_key(request)
        queue = self._by_key.get(key)
        if queue:
            self._last[key] = queue.popleft()
            return self._last[key]
        if key in self._last:
            return self._last[key]
        last = messages[-1].content[:200] if messages else ""
        raise FatalModelError(
            f"{self.name!r} (role {self.role!r}) has no recording of request {key!r} "
            f"({len(messages)} messages, last: {last!r}) among {self._count} recorded calls; "
            "the prompt changed since recording: re-record, or replay with '#ordered'"
        )
