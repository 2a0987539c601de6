"""The ``Model`` protocol: chat messages and tools in, a completion with tool calls out.

Every backend (litellm, scripted, replay) implements ``complete``. Messages and completions
are msgspec Structs so cassettes and usage logs serialise them without glue.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from aiscientist.messages import Usage

ChatRole = Literal["system", "user", "assistant", "tool"]


class ToolCall(msgspec.Struct, frozen=True):
    """One tool call requested by the model; ``arguments`` is the decoded JSON object."""

    name: str
    arguments: dict[str, Any] = {}
    id: str = ""


class ChatMessage(msgspec.Struct, frozen=True):
    """One message of a conversation."""

    role: ChatRole
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""


class ToolSpec(msgspec.Struct, frozen=True):
    """A tool as the model sees it: a name, a description and a JSON schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


class ToolChoice(msgspec.Struct, frozen=True):
    """A narrowed ``tool_choice``: the reply must call one of ``allowed``; with one allowed
    tool, ``fixed`` pins some of its arguments (e.g. the path of the file still to write)."""

    allowed: tuple[str, ...]
    fixed: dict[str, Any] = {}


class Completion(msgspec.Struct, frozen=True):
    """A model's reply."""

    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    model: str = ""
    finish_reason: str = ""


@runtime_checkable
class Model(Protocol):
    """A language model backend."""

    name: str

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | ToolChoice | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        """Return the model's reply to ``messages``.

        ``tools`` are offered for tool calling; ``tool_choice`` is ``"auto"``, ``"required"``,
        a tool name or a ``ToolChoice``; ``json_schema`` asks for a JSON object reply that
        follows the schema (structured judgements). Raises ``TransientModelError`` or
        ``FatalModelError``; a model that turns text into tool calls raises
        ``ModelFormatError`` for a reply it cannot read.
        """
        ...

    @property
    def context_window(self) -> int:
        """Tokens the model accepts in one prompt."""
        ...

    def for_role(self, role: str) -> Model | None:
        """The model of a sub-role of this one (a Tier-2 reader, the lesson writer): a real
        model is its own; a scripted one serves that role's part of its script, or None."""
        ...


def estimate_tokens(messages: list[ChatMessage]) -> int:
    """A cheap token estimate (4 characters a token) for context management."""
    chars = 0
    for m in messages:
        chars += len(m.content) + 16
        for tc in m.tool_calls:
            chars += len(tc.name) + len(msgspec.json.encode(tc.arguments))
    return chars // 4 + 1
