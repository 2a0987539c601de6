"""The agent loop: ``run()`` repeats ``step()`` until the finish tool or a limit ends it.

``step()`` = check the budget, query the model, execute its tool calls, persist usage. Two
tool protocols: ``native`` (the backend's tool calls) and ``json`` (the model answers with one
JSON object ``{"tool": ..., "arguments": {...}}`` under a schema, for backends whose ``auto``
tool choice is unreliable, such as small local models).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.tools import Finished, ToolSet, truncate
from aiscientist.errors import BudgetExhaustedError
from aiscientist.messages import Usage
from aiscientist.models.base import ChatMessage, Completion, Model, ToolCall, estimate_tokens

Protocol = Literal["native", "json"]
UsageSink = Callable[[Completion, float], None]

JSON_ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "tool": {"type": "string"},
        "arguments": {"type": "object"},
    },
    "required": ["tool", "arguments"],
}


@dataclass
class Outcome:
    """How a session ended."""

    status: Literal["ok", "limit_reached", "budget_exhausted"]
    summary: str
    steps: int
    usage: Usage = Usage()


@dataclass
class Agent:
    """One agent session over a tool set."""

    model: Model
    tools: ToolSet
    system: str
    task: str
    guard: BudgetGuard
    max_steps: int = 60
    protocol: Protocol = "native"
    on_usage: UsageSink | None = None
    status_line: Callable[[], str] | None = None
    keep_recent: int = 12
    on_message: Callable[[ChatMessage], None] | None = None
    """Called with every message added to the conversation (the session transcript)."""
    context_tokens: int | None = None
    """Prompt budget in tokens (None = 60% of the model's window); compaction halves it."""
    messages: list[ChatMessage] = field(default_factory=list)
    steps: int = 0
    usage: Usage = Usage()

    def __post_init__(self) -> None:
        system = self.system
        if self.protocol == "json":
            system += "\n\n" + self._json_instructions()
        self.messages = []
        self._add(ChatMessage("system", system))
        self._add(ChatMessage("user", self.task))

    def _add(self, message: ChatMessage) -> None:
        self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)

    def run(self) -> Outcome:
        """Step until finished, out of steps, or out of budget."""
        try:
            while self.steps < self.max_steps:
                self.step()
        except Finished as done:
            return Outcome("ok", done.summary, self.steps, self.usage)
        except BudgetExhaustedError as exc:
            return Outcome("budget_exhausted", str(exc), self.steps, self.usage)
        return Outcome("limit_reached", f"stopped after {self.steps} steps", self.steps, self.usage)

    def step(self) -> None:
        """One model call and the tool calls it asks for."""
        self.guard.check()
        self._compact()
        prompt = list(self.messages)
        if self.status_line is not None:
            prompt.append(ChatMessage("user", self.status_line()))
        started = time.monotonic()
        if self.protocol == "native":
            reply = self.model.complete(prompt, tools=self.tools.specs(), tool_choice="auto")
            calls = list(reply.tool_calls)
        else:
            reply = self.model.complete(prompt, json_schema=JSON_ACTION_SCHEMA)
            calls = self._parse_json_action(reply.content)
        self.steps += 1
        self.usage = self.usage + reply.usage
        self.guard.record(reply.usage)
        if self.on_usage is not None:
            self.on_usage(reply, time.monotonic() - started)
        self._add(ChatMessage("assistant", reply.content, tool_calls=tuple(calls)))
        if not calls:
            self._add(
                ChatMessage(
                    "user",
                    "No tool was called. Call one of the tools "
                    f"({', '.join(self.tools.names())}); call finish when the work is done.",
                )
            )
            return
        for i, call in enumerate(calls):
            if call.name == "finish" and "finish" in self.tools.tools:
                out = self.tools.call("finish", call.arguments)  # raises Finished when valid
            else:
                out = self.tools.call(call.name, call.arguments)
            self._add(ChatMessage("tool", out, tool_call_id=call.id or f"call_{i}", name=call.name))

    # ---- protocols ----
    def _json_instructions(self) -> str:
        lines = [
            "Reply with ONE JSON object and nothing else: "
            '{"thought": "...", "tool": "<tool name>", "arguments": {...}}. Tools:'
        ]
        for spec in self.tools.specs():
            required = set(spec.parameters.get("required", []))
            args = []
            for name, prop in spec.parameters.get("properties", {}).items():
                kind = prop.get("type", "any")
                opt = "" if name in required else ", optional"
                args.append(f"{name} ({kind}{opt}): {prop.get('description', '')}".rstrip(": "))
            lines.append(f"- {spec.name}: {spec.description}")
            lines += [f"    {a}" for a in args]
        return "\n".join(lines)

    def _parse_json_action(self, content: str) -> list[ToolCall]:
        text = content.strip()
        start, end = text.find("{"), text.rfind("}")
        try:
            data = json.loads(text[start : end + 1]) if start >= 0 < end else None
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
            return [
                ToolCall(
                    name="__invalid__",
                    arguments={"__invalid_json__": content[:300]},
                    id="json_0",
                )
            ]
        args = data.get("arguments")
        return [ToolCall(name=data["tool"], arguments=args if isinstance(args, dict) else {})]

    # ---- context ----
    def _compact(self) -> None:
        """Summarise old turns once the prompt nears the model's context window.

        Keeps the system and task messages, a digest of old turns, and as many recent turns
        as fit in half the budget (long tool outputs in them are truncated to fit).
        """
        limit = int(self.model.context_window * 0.6)
        if self.context_tokens is not None:
            limit = min(limit, self.context_tokens)
        if estimate_tokens(self.messages) <= limit:
            return
        head, body = self.messages[:2], self.messages[2:]
        keep_budget = limit // 3
        recent: list[ChatMessage] = []
        used = 0
        for m in reversed(body[-self.keep_recent :]):
            cost = estimate_tokens([m])
            if recent and used + cost > keep_budget:
                break
            if cost > keep_budget // 2:
                m = ChatMessage(
                    m.role,
                    truncate(m.content, keep_budget * 2),
                    m.tool_calls,
                    m.tool_call_id,
                    m.name,
                )
                cost = estimate_tokens([m])
            recent.insert(0, m)
            used += cost
        old = body[: len(body) - len(recent)]
        while recent and recent[0].role == "tool":  # never start on an orphan tool result
            old.append(recent.pop(0))
        digest = []
        for m in old:
            if m.role == "assistant" and m.tool_calls:
                names = ", ".join(
                    f"{c.name}({truncate(json.dumps(c.arguments), 120)})" for c in m.tool_calls
                )
                digest.append(f"- called {names}")
            elif m.role == "tool":
                digest.append(f"  -> {truncate(m.content, 160)}")
            elif m.role == "user" and m.content.startswith("Summary of earlier"):
                digest.append(truncate(m.content, 1500))
        kept: list[str] = []
        chars = 0
        for line in reversed(digest):  # newest first, within a quarter of the budget
            chars += len(line) + 1
            if chars > limit:
                break
            kept.insert(0, line)
        summary = ChatMessage(
            "user",
            "Summary of earlier steps (older turns were compacted):\n" + "\n".join(kept),
        )
        self.messages = [*head, summary, *recent]
