"""Tools: functions with pydantic argument models. Their JSON schema is what the model sees.

A tool returns a string (what the model reads next). ``ToolError`` (and workspace refusals)
go back to the model as the tool's result; anything else propagates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from aiscientist.errors import ToolError, WorkspaceError
from aiscientist.models.base import ToolSpec

MAX_TOOL_OUTPUT = 6000


class Args(BaseModel):
    """Base of tool argument models: unknown arguments are errors the model can fix."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class NoArgs(Args):
    pass


class Finished(Exception):  # noqa: N818 - control flow, not an error
    """Raised by the finish tool: the session ends with this summary."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


@dataclass(frozen=True)
class Todo:
    """Something a session must still do before it may finish, and the call that does it."""

    text: str
    tool: str = ""
    """The tool that does it, if one call can."""
    fixed: dict[str, Any] = field(default_factory=dict)
    """Arguments that call must have (e.g. the path of the file still to write)."""
    blocks_finish: bool = True
    """False for advice (the next step of a plan) rather than a requirement."""
    patience: int = 3
    """Steps without progress before a small model's next action is narrowed to ``tool``."""


@dataclass(frozen=True)
class Tool:
    """A named function the model can call."""

    name: str
    description: str
    args: type[Args]
    fn: Callable[[Any], str]
    reads_only: bool = False
    """It changes nothing: the same call twice in a row returns what the first one did."""
    todo: Callable[[], list[Todo]] | None = None
    """What must still happen before this tool succeeds (finish: files not yet written)."""

    def spec(self) -> ToolSpec:
        return ToolSpec(
            name=self.name, description=self.description, parameters=_args_schema(self.args)
        )


@functools.cache
def _args_schema(args: type[Args]) -> dict[str, Any]:
    """JSON schema of an argument model, built once per class (it costs ~2 ms each, and every
    session lists every tool)."""
    schema = args.model_json_schema()
    schema.pop("title", None)
    return schema


def truncate(text: str, limit: int = MAX_TOOL_OUTPUT) -> str:
    """Keep the head and tail of long output, saying how much was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters cut] …\n{text[-half:]}"


class ToolSet:
    """The tools of one agent session, by name."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self.tools = {t.name: t for t in tools}

    def specs(self) -> list[ToolSpec]:
        return [t.spec() for t in self.tools.values()]

    def names(self) -> list[str]:
        return list(self.tools)

    def todo(self) -> list[Todo]:
        """Everything still required before the session may finish."""
        return [item for t in self.tools.values() if t.todo is not None for item in t.todo()]

    def owed(self) -> str:
        """What the session still owes, as the text that follows a tool's result."""
        todo = self.todo()
        advice = [t.text for t in todo if not t.blocks_finish]
        needed = [t.text for t in todo if t.blocks_finish]
        out = "\n\n[Next: " + "; ".join(advice) + ".]" if advice else ""
        return out + ("\n\n[Before you can finish: " + "; ".join(needed) + ".]" if needed else "")

    def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Run a tool; errors the model can fix come back as text starting with ``ERROR``."""
        if "__invalid_json__" in arguments:
            return (
                f"ERROR: the arguments of {name!r} were not valid JSON: "
                f"{str(arguments['__invalid_json__'])[:300]!r}; send one JSON object"
            )
        tool = self.tools.get(name)
        if tool is None:
            return f"ERROR: unknown tool {name!r}; available tools: {', '.join(self.tools)}"
        try:
            parsed = tool.args.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or '(root)'}: {e['msg']}"
                for e in exc.errors()
            )
            return f"ERROR: invalid arguments for {name!r}: {problems}"
        try:
            return truncate(tool.fn(parsed))
        except (ToolError, WorkspaceError) as exc:
            return f"ERROR: {exc}"
