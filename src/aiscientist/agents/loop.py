"""The agent loop: ``run()`` repeats ``step()`` until the finish tool or a limit ends it.

``step()`` = check the budget, query the model with the session's tools, execute the tool
calls it asks for, record usage. How a model turns replies into tool calls is the model's own
business (``models/json_actions.py`` for small models); a reply it cannot read comes back as
``ModelFormatError`` and is shown to the model. A steered session (``agents/steering.py``)
also has its next call narrowed and repeated reads refused; a narrowed call whose every
argument is fixed is made without asking the model. A resumed session is handed the
replies its transcript recorded (``agents/transcript.py``) and serves them before asking the
model again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, cast

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.context import compact
from aiscientist.agents.steering import Steering
from aiscientist.agents.tools import Finished, ToolSet
from aiscientist.agents.transcript import FORMAT_ERROR, PRELOADED, STEERED, Replay
from aiscientist.errors import BudgetExhaustedError, ModelFormatError
from aiscientist.messages import Usage
from aiscientist.models.base import (
    ChatMessage,
    Completion,
    Model,
    ToolCall,
    ToolChoice,
    ToolSpec,
)

UsageSink = Callable[[Completion, float], None]
NO_CALL = "No tool was called. Call one of the tools ({tools}); call finish when the work is done."
SETTLED_SPARE = 20
"""Calls the steering makes without the model are no model steps: ``max_steps`` does not
count them (a one-step session still submits, waits and reports). A session makes at most
``max_steps + SETTLED_SPARE`` of them, so a steering fault cannot loop for good."""


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
    steered: bool = False
    """Narrow the next call to what the session still owes (``agents/steering.py``)."""
    on_usage: UsageSink | None = None
    status_line: Callable[[], str] | None = None
    keep_recent: int = 12
    on_message: Callable[[ChatMessage], None] | None = None
    """Called with every message added to the conversation (the session transcript)."""
    context_tokens: int | None = None
    """Prompt budget in tokens (None = 60% of the model's window); compaction halves it."""
    replay: list[Replay] = field(default_factory=list)
    """Replies of this session recorded before it was cut short: served first, not billed,
    and not written to the transcript again."""
    messages: list[ChatMessage] = field(default_factory=list)
    steps: int = 0
    """Model steps taken (``max_steps`` bounds them)."""
    steered_calls: int = 0
    """Calls the steering made without the model (``SETTLED_SPARE``)."""
    usage: Usage = Usage()

    def __post_init__(self) -> None:
        self.steering = Steering(self.tools) if self.steered else None
        self.messages = []
        self._replaying = bool(self.replay)
        self._add(ChatMessage("system", self.system))
        self._add(ChatMessage("user", self.task))

    def _add(self, message: ChatMessage) -> None:
        self.messages.append(message)
        self._log(message)

    def _log(self, message: ChatMessage) -> None:
        if self.on_message is not None and not self._replaying:
            self.on_message(message)

    def preload(self, calls: list[ToolCall]) -> None:
        """Make calls on the model's behalf before its first step (reading the files it was
        handed): they appear in the conversation as its own and cost no model step."""
        for i, call in enumerate(calls):
            call = ToolCall(call.name, call.arguments, call.id or f"{PRELOADED}{i}")
            self._add(ChatMessage("assistant", "", tool_calls=(call,)))
            out = self.tools.call(call.name, call.arguments)
            if self.steering is not None:
                self.steering.remember(call)  # the model is not to repeat it
            self._add(ChatMessage("tool", out, tool_call_id=call.id, name=call.name))

    def run(self) -> Outcome:
        """Step until finished, out of steps, or out of budget."""
        try:
            while self.step():
                pass
        except Finished as done:
            return Outcome("ok", done.summary, self.steps, self.usage)
        except BudgetExhaustedError as exc:
            return Outcome("budget_exhausted", str(exc), self.steps, self.usage)
        return Outcome("limit_reached", f"stopped after {self.steps} steps", self.steps, self.usage)

    def step(self) -> bool:
        """One model call and the tool calls it asks for, or one call the steering makes
        without the model; False when the session is out of steps."""
        if self.steered_calls >= self.max_steps + SETTLED_SPARE:
            return False
        specs, choice = self.steering.offer() if self.steering else (self.tools.specs(), "auto")
        settled = self.steering.settled() if self.steering and not self.replay else None
        made = settled is not None or (bool(self.replay) and _steered(self.replay[0]))
        if self.steps >= self.max_steps and not made:
            return False
        self.guard.check()
        self._compact()
        if self._replaying and not self.replay:  # the recorded replies are spent: live again
            self._replaying = False
            n = self.steps + self.steered_calls
            self._log(ChatMessage("user", f"[resumed after {n} recorded replies]"))
        if settled is not None:  # every argument is fixed: made without asking the model
            self.steered_calls += 1
            call = ToolCall(settled.name, settled.arguments, f"{STEERED}{self.steered_calls}")
            self._add(ChatMessage("assistant", "", tool_calls=(call,)))
            out = self._execute(call)
            self._add(ChatMessage("tool", out, tool_call_id=call.id, name=call.name))
            return True
        prompt = list(self.messages)
        if self.status_line is not None:  # shown for this step only; kept in the transcript
            status = ChatMessage("user", self.status_line())
            prompt.append(status)
            self._log(status)
        started = time.monotonic()
        try:
            reply = self._ask(prompt, specs, choice)
        except ModelFormatError as bad:
            unread = cast(Completion, bad.completion)
            self._count(unread, started)
            self._add(ChatMessage("assistant", unread.content))
            self._add(ChatMessage("user", f"{FORMAT_ERROR}{bad}"))
            return True
        self._count(reply, started)
        calls = list(reply.tool_calls)
        if self.steering is not None:  # a forced call keeps its fixed arguments
            calls = [self.steering.pin(c) for c in calls]
        self._add(ChatMessage("assistant", reply.content, tool_calls=tuple(calls)))
        if not calls:
            self._add(ChatMessage("user", NO_CALL.format(tools=", ".join(self.tools.names()))))
            return True
        for i, call in enumerate(calls):
            out = self._execute(call)
            self._add(ChatMessage("tool", out, tool_call_id=call.id or f"call_{i}", name=call.name))
        return True

    def _ask(
        self, prompt: list[ChatMessage], specs: list[ToolSpec], choice: str | ToolChoice
    ) -> Completion:
        """The next reply: a recorded one while the session is resumed, else the model's."""
        if self.replay:
            recorded = self.replay.pop(0)
            if isinstance(recorded, ModelFormatError):
                raise recorded
            return recorded
        return self.model.complete(prompt, tools=specs, tool_choice=choice)

    def _count(self, reply: Completion, started: float) -> None:
        if self._replaying:  # billed when it was first said
            if _steered(reply):
                self.steered_calls += 1
            else:
                self.steps += 1
            return
        self.steps += 1
        self.usage = self.usage + reply.usage
        self.guard.record(reply.usage)
        if self.on_usage is not None:
            self.on_usage(reply, time.monotonic() - started)

    def _execute(self, call: ToolCall) -> str:
        """Run one call (finish raises ``Finished`` if it is accepted) and say what the
        session still owes."""
        refused = self.steering.refuse(call) if self.steering is not None else None
        return (refused or self.tools.call(call.name, call.arguments)) + self.tools.owed()

    def _compact(self) -> None:
        """Summarise old turns once the prompt nears its budget (``agents/context.py``)."""
        limit = int(self.model.context_window * 0.6)
        if self.context_tokens is not None:
            limit = min(limit, self.context_tokens)
        self.messages = compact(self.messages, limit, self.keep_recent)


def _steered(reply: Replay) -> bool:
    """Whether a recorded reply is a call the steering made without the model."""
    calls = reply.tool_calls if isinstance(reply, Completion) else ()
    return bool(calls) and all(c.id.startswith(STEERED) for c in calls)
