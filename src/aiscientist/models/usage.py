"""The usage log: one JSON line per model call (role, model, tokens, cost, latency, time).

A run keeps one per role at ``journal/usage/<role>.jsonl`` (``workspace.regions.usage_log``):
agents append through their workspace view, the judge's model through ``append_usage``; both
write ``UsageRecord`` lines, read back with ``read_usage``. ``append_usage`` appends whole
lines with a single ``write`` on an ``O_APPEND`` file, so lines from different models of one
process never interleave. On a shared network filesystem give each writer its own file (one
writer per append-only log).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import msgspec

from aiscientist.messages import Usage
from aiscientist.models.base import ChatMessage, Completion, Model, ToolChoice, ToolSpec

USAGE_SCHEMA_VERSION = 1


class UsageRecord(msgspec.Struct, frozen=True):
    """One model call as the usage log keeps it."""

    role: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    timestamp: float
    attempts: int = 1
    schema_version: int = USAGE_SCHEMA_VERSION

    @property
    def usage(self) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=self.cost_usd,
            calls=1,
        )


_encoder = msgspec.json.Encoder()


def append_usage(path: str | Path, record: UsageRecord) -> None:
    """Append ``record`` to the JSON-lines file at ``path`` (parents are created)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    line = _encoder.encode(record) + b"\n"
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_usage(path: str | Path) -> list[UsageRecord]:
    """Read every record of a usage log; a missing file is an empty log.

    A torn last line (the process died mid-write) is skipped rather than failing the run.
    """
    p = Path(path)
    if not p.exists():
        return []
    decoder = msgspec.json.Decoder(UsageRecord)
    records = []
    for line in p.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            records.append(decoder.decode(line))
        except msgspec.DecodeError:
            continue
    return records


def calls_made(path: str | Path) -> int:
    """How many model calls the usage log at ``path`` records (a reply served again from a
    transcript is no call; logs of older runs hold such replies with zero usage)."""
    return sum(1 for r in read_usage(path) if r.prompt_tokens or r.completion_tokens or r.cost_usd)


def total_usage(path: str | Path) -> Usage:
    """Sum of every call in the usage log at ``path``."""
    total = Usage()
    for record in read_usage(path):
        total = total + record.usage
    return total


def record_for(
    role: str, completion: Completion, latency_s: float, attempts: int = 1
) -> UsageRecord:
    """The usage record of one finished call."""
    return UsageRecord(
        role=role,
        model=completion.model,
        prompt_tokens=completion.usage.prompt_tokens,
        completion_tokens=completion.usage.completion_tokens,
        cost_usd=completion.usage.cost_usd,
        latency_s=round(latency_s, 4),
        timestamp=time.time(),
        attempts=attempts,
    )


class UsageLoggingModel:
    """Wraps any model (scripted, replay) so each call is appended to a usage log.

    ``LiteLLMModel`` logs by itself (it also knows the attempt count); this wrapper gives the
    test doubles the same log, so budgets behave the same with and without an API key.
    Attributes not defined here (``position``, ``seek``) are those of the wrapped model.
    """

    def __init__(self, inner: Model, path: str | Path, role: str = "default") -> None:
        self.inner = inner
        self.name = inner.name
        self.path = Path(path)
        self.role = role

    @property
    def context_window(self) -> int:
        return self.inner.context_window

    def for_role(self, role: str) -> UsageLoggingModel:
        return self

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | ToolChoice | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        start = time.monotonic()
        completion = self.inner.complete(messages, tools, tool_choice, json_schema)
        append_usage(self.path, record_for(self.role, completion, time.monotonic() - start))
        return completion

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not set on the instance. While unpickling (Ray ships
        # models to judge tasks) ``inner`` is not set yet: refuse instead of recursing.
        if name == "inner" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)
