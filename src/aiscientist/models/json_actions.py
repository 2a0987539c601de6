"""Tool calls as JSON text, for models whose own tool calling is unreliable (small local ones).

``JsonActionModel`` wraps any model. It lists the offered tools in the system message, asks
the inner model for one JSON object ``{"tool": ..., "arguments": {...}}`` under a schema built
from those tools (llama.cpp turns the schema into a grammar, so the reply can only be a call
to a real tool with well-typed arguments), and turns the reply into a ``ToolCall``. A reply it
cannot read raises ``ModelFormatError``, which the agent loop feeds back to the model.

``tool_choice`` narrows the schema: a tool name or a ``ToolChoice`` (allowed tools, fixed
arguments). The instructions always list every offered tool, so consecutive prompts share
their prefix (the server's prompt cache reuses it).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from aiscientist.errors import ModelFormatError
from aiscientist.models.base import ChatMessage, Completion, Model, ToolCall, ToolChoice, ToolSpec

Protocol = Literal["native", "json"]

ANY_ACTION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "tool": {"type": "string"},
        "arguments": {"type": "object"},
    },
    "required": ["tool", "arguments"],
}
"""The shape of a JSON action when no tool is offered."""


def action_schema(tools: list[ToolSpec], choice: str | ToolChoice | None = None) -> dict[str, Any]:
    """One JSON action over ``tools``: one variant per allowed tool, its name a constant and
    its arguments the tool's own schema, with ``choice.fixed`` arguments as constants."""
    if isinstance(choice, str) and choice not in ("auto", "required", "none"):
        choice = ToolChoice((choice,))
    allowed = choice.allowed if isinstance(choice, ToolChoice) else None
    fixed = choice.fixed if isinstance(choice, ToolChoice) and len(choice.allowed) == 1 else {}
    variants = []
    for spec in tools:
        if allowed is not None and spec.name not in allowed:
            continue
        params = spec.parameters
        if fixed:
            props = dict(params.get("properties", {}))
            props.update({k: {"const": v} for k, v in fixed.items()})
            params = {**params, "properties": props}
        variants.append(
            {
                "type": "object",
                "properties": {"tool": {"const": spec.name}, "arguments": params},
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            }
        )
    return {"anyOf": variants} if variants else ANY_ACTION


def instructions(tools: list[ToolSpec]) -> str:
    """How to answer, and every tool with its arguments."""
    lines = [
        "Reply with ONE JSON object and nothing else: "
        '{"tool": "<tool name>", "arguments": {...}}. Tools:'
    ]
    for spec in tools:
        required = set(spec.parameters.get("required", []))
        lines.append(f"- {spec.name}: {spec.description}")
        for name, prop in spec.parameters.get("properties", {}).items():
            kind = prop.get("type", "any")
            opt = "" if name in required else ", optional"
            lines.append(f"    {name} ({kind}{opt}): {prop.get('description', '')}".rstrip(": "))
    return "\n".join(lines)


def action_text(call: ToolCall) -> str:
    """A tool call written as the JSON action the model would have replied."""
    return json.dumps({"tool": call.name, "arguments": call.arguments})


def parse_action(content: str) -> ToolCall | None:
    """The tool call in a reply (the outermost ``{...}``), or None if there is none."""
    text = content.strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        # strict=False: small models put raw newlines inside strings (code, markdown)
        data = json.loads(text[start : end + 1], strict=False)
    except (ValueError, RecursionError):  # bad JSON, an integer too long, nesting too deep
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
        return None
    args = data.get("arguments")
    return ToolCall(name=data["tool"], arguments=args if isinstance(args, dict) else {})


class JsonActionModel:
    """``inner`` driven through JSON actions instead of native tool calls."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.name = inner.name

    @property
    def context_window(self) -> int:
        return self.inner.context_window

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | ToolChoice | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        if not tools:  # a structured reply, not an action
            return self.inner.complete(messages, json_schema=json_schema)
        reply = self.inner.complete(
            _as_text(messages, instructions(tools)), json_schema=action_schema(tools, tool_choice)
        )
        call = parse_action(reply.content)
        if call is None:
            raise ModelFormatError(
                f"your reply was not one JSON action: {reply.content[:300]!r}; reply with one "
                '{"tool": ..., "arguments": {...}} object',
                reply,
            )
        return Completion(
            content=reply.content,
            tool_calls=(call,),
            usage=reply.usage,
            model=reply.model,
            finish_reason=reply.finish_reason,
        )

    def for_role(self, role: str) -> Model | None:
        inner = self.inner.for_role(role)
        return None if inner is None else JsonActionModel(inner)


def _as_text(messages: list[ChatMessage], how: str) -> list[ChatMessage]:
    """The conversation with the instructions at the end of the system message, and calls
    made on the model's behalf (no text of their own) written as its JSON actions."""
    out = []
    for i, m in enumerate(messages):
        if i == 0 and m.role == "system":
            m = ChatMessage("system", f"{m.content}\n\n{how}")
        elif m.role == "assistant" and m.tool_calls and not m.content:
            m = ChatMessage("assistant", action_text(m.tool_calls[0]), m.tool_calls)
        out.append(m)
    return out


def with_protocol(model: Model, protocol: Protocol) -> Model:
    """``model`` as a session of ``protocol`` talks to it."""
    return JsonActionModel(model) if protocol == "json" else model
