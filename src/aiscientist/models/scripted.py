"""``ScriptedModel``: replays a script of replies, tool calls included, with no API key.

A script is YAML or JSON. Either a list of replies (one model for every role), or a mapping
from role to list of replies; ``default`` serves roles not named. A reply is a string (the
content) or an object::

    orchestrator:
      - tool_calls:
          - {name: delegate, arguments: {role: comprehension, instruction: "Read the task"}}
      - content: "done"
        tool_calls: [{name: finish, arguments: {summary: "submitted"}}]

A reply may name what it costs (``cost_usd: 0.01``), so USD budgets are tested without an
API key, and how long it takes (``seconds: 30``: a slow model). When a role's replies run
out the model answers with a ``finish`` call, so a short script ends a session instead of
looping. A resumed run builds the model with ``start`` = the calls
the role made before (its usage log), so the script goes on where it stopped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from aiscientist.errors import ConfigError
from aiscientist.messages import Usage
from aiscientist.models.base import (
    ChatMessage,
    Completion,
    ToolCall,
    ToolChoice,
    ToolSpec,
    estimate_tokens,
)


def load_script(path: str | Path) -> dict[str, list[Any]]:
    """Read a script file into ``{role: [reply, ...]}``."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read model script {str(p)!r}: {exc}") from exc
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"model script {str(p)!r} is not valid YAML/JSON: {exc}") from exc
    if isinstance(data, list):
        return {"default": data}
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
        return {str(k): v for k, v in data.items()}
    raise ConfigError(
        f"model script {str(p)!r} must be a list of replies or a mapping of role to list"
    )


def _reply(raw: Any, index: int) -> Completion:
    if isinstance(raw, str):
        return Completion(content=raw, finish_reason="stop")
    if not isinstance(raw, dict):
        raise ConfigError(f"script reply #{index} must be a string or a mapping, got {raw!r}")
    calls = []
    for j, tc in enumerate(raw.get("tool_calls") or []):
        if not isinstance(tc, dict) or "name" not in tc:
            raise ConfigError(f"script reply #{index} tool call #{j} needs a 'name': {tc!r}")
        calls.append(
            ToolCall(name=tc["name"], arguments=dict(tc.get("arguments") or {}), id=f"call_{j}")
        )
    return Completion(
        content=str(raw.get("content") or ""),
        tool_calls=tuple(calls),
        finish_reason="tool_calls" if calls else "stop",
    )


class ScriptedModel:
    """Replays the replies of one role from a script, in order."""

    def __init__(
        self,
        replies: list[Any],
        name: str = "scripted",
        window: int = 32768,
        script: dict[str, list[Any]] | None = None,
    ) -> None:
        self.name = name
        self._replies = replies
        self._cursor = 0
        self._window = window
        self._script = script or {}
        self.schemas: list[dict[str, Any] | None] = []
        """The ``json_schema`` of every request, in order: what the model was allowed to say."""
        self.last_prompt: list[ChatMessage] = []
        """The messages of the latest request."""

    @classmethod
    def from_file(cls, path: str | Path, role: str = "default", start: int = 0) -> ScriptedModel:
        script = load_script(path)
        replies = script.get(role, script.get("default", []))
        model = cls(list(replies), name=f"scripted:{path}#{role}", script=script)
        model._cursor = max(0, start)
        return model

    def for_role(self, role: str) -> ScriptedModel | None:
        """A model for a sub-role (a Tier-2 subagent) from the same script, if it has one."""
        if role not in self._script:
            return None
        base = self.name.split("#", 1)[0]
        return ScriptedModel(list(self._script[role]), f"{base}#{role}", self._window, self._script)

    @property
    def context_window(self) -> int:
        return self._window

    @property
    def position(self) -> int:
        """How many replies have been served."""
        return self._cursor

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | ToolChoice | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        prompt_tokens = estimate_tokens(messages)
        self.schemas.append(json_schema)
        self.last_prompt = messages
        cost = 0.0
        if self._cursor >= len(self._replies):
            reply = Completion(
                # under the JSON-action protocol the content is the action
                content=(
                    '{"tool": "finish", "arguments": {"summary": "script exhausted"}}'
                    if json_schema is not None
                    else "(script exhausted)"
                ),
                tool_calls=(
                    ToolCall(name="finish", arguments={"summary": "script exhausted"}, id="x"),
                ),
                finish_reason="tool_calls",
            )
        else:
            reply = _reply(self._replies[self._cursor], self._cursor)
            raw = self._replies[self._cursor]
            cost = float(raw.get("cost_usd") or 0.0) if isinstance(raw, dict) else 0.0
            time.sleep(float(raw.get("seconds") or 0.0) if isinstance(raw, dict) else 0.0)
        self._cursor += 1
        completion_tokens = max(1, len(reply.content) // 4 + 8 * len(reply.tool_calls))
        return Completion(
            content=reply.content,
            tool_calls=reply.tool_calls,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_usd=cost,
                calls=1,
            ),
            model=self.name,
            finish_reason=reply.finish_reason,
        )
