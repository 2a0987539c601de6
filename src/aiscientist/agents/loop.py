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
from aiscientist.agents.tools import Finished, Todo, ToolSet, truncate
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
"""The shape of a JSON action; ``action_schema`` narrows it to the session's tools."""


def action_schema(
    tools: ToolSet, exclude: tuple[str, ...] = (), forced: Todo | None = None
) -> dict[str, Any]:
    """One JSON action over the session's tools: one variant per tool, its name a constant and
    its arguments the tool's own schema. A backend that constrains decoding on the schema
    (llama.cpp turns it into a grammar) can then only produce a call to a real tool with
    well-typed arguments (they are still validated when the tool runs). ``exclude`` drops
    tools; ``forced`` narrows the action to one call with some arguments fixed."""
    variants = []
    for spec in tools.specs():
        if spec.name in exclude or (forced is not None and spec.name != forced.tool):
            continue
        params = spec.parameters
        if forced is not None and forced.fixed:
            props = dict(params.get("properties", {}))
            props.update({k: {"const": v} for k, v in forced.fixed.items()})
            params = {**params, "properties": props}
        variants.append(
            {
                "type": "object",
                "properties": {"tool": {"const": spec.name}, "arguments": params},
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            }
        )
    return {"anyOf": variants} if variants else JSON_ACTION_SCHEMA


def _call_key(call: ToolCall) -> tuple[str, str]:
    """A tool call's identity, for spotting an exact repeat."""
    return call.name, json.dumps(call.arguments, sort_keys=True, default=str)


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
    _last_call: tuple[str, str] | None = None
    _stalled: int = 0
    _last_todo: tuple[str, ...] = ()

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

    def preload(self, calls: list[ToolCall]) -> None:
        """Make calls on the model's behalf before its first step (reading the files it was
        handed): they appear in the conversation as its own, cost no model step, and ground a
        small model in the task before it acts."""
        for i, call in enumerate(calls):
            call = ToolCall(call.name, call.arguments, call.id or f"pre_{i}")
            text = ""
            if self.protocol == "json":  # what the model would have answered itself
                text = json.dumps({"tool": call.name, "arguments": call.arguments})
            self._add(ChatMessage("assistant", text, tool_calls=(call,)))
            out = self.tools.call(call.name, call.arguments)
            self._add(ChatMessage("tool", out, tool_call_id=call.id, name=call.name))
            self._last_call = _call_key(call)

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
            reply = self.model.complete(prompt, json_schema=self._json_schema())
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
            out = self._execute(call)
            self._add(ChatMessage("tool", out, tool_call_id=call.id or f"call_{i}", name=call.name))

    def _execute(self, call: ToolCall) -> str:
        """Run one call; refuse an exact repeat of the previous read (its result is already in
        the conversation: small models otherwise loop on it); remind what finish still needs."""
        key = _call_key(call)
        tool = self.tools.tools.get(call.name)
        repeat = key == self._last_call and tool is not None and tool.reads_only
        self._last_call = key
        if repeat:
            out = (
                f"ERROR: you just called {call.name} with these same arguments; its result is "
                "above. Do not repeat it: take the next step of your task."
            )
        else:
            out = self.tools.call(call.name, call.arguments)  # finish raises Finished if valid
        todo = self.tools.todo()
        needed = [t.text for t in todo if t.blocks_finish]
        advice = [t.text for t in todo if not t.blocks_finish]
        if advice:
            out += "\n\n[Next: " + "; ".join(advice) + ".]"
        if needed:
            out += "\n\n[Before you can finish: " + "; ".join(needed) + ".]"
        return out

    # ---- protocols ----
    def _json_schema(self) -> dict[str, Any]:
        """The action schema for this step: finish is not offered while something it needs
        is missing, and after a todo's ``patience`` in steps without progress, only the call
        that makes progress is (a small model otherwise reads and retries forever)."""
        todo = self.tools.todo()
        key = tuple(t.text for t in todo)
        self._stalled = self._stalled + 1 if todo and key == self._last_todo else 0
        self._last_todo = key
        forced = next(
            (t for t in todo if t.tool in self.tools.tools and self._stalled >= t.patience), None
        )
        if forced is not None:
            return action_schema(self.tools, forced=forced)
        blocked = any(t.blocks_finish for t in todo)
        return action_schema(self.tools, exclude=("finish",) if blocked else ())

    def _json_instructions(self) -> str:
        lines = [
            "Reply with ONE JSON object and nothing else: "
            '{"tool": "<tool name>", "arguments": {...}}. Tools:'
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
            # strict=False: small models put raw newlines inside strings (code, markdown)
            data = json.loads(text[start : end + 1], strict=False) if start >= 0 < end else None
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
