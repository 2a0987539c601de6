"""Steering: what holds a model that needs it (a small local one) to its role's contract.

The core loop (``agents/loop.py``) offers every tool and trusts the model. A steered session
(``models.steering``: ``auto`` steers the roles whose model is ``local``) also gets:

- **the next call narrowed** (``Steering.offer``): ``finish`` is not offered while something
  it needs is missing, and after a todo's ``patience`` in steps without progress the next call
  is forced to the tool that makes progress, with its fixed arguments, through the model's
  ``tool_choice``;
- **no repeat reads** (``Steering.refuse``): the same read twice in a row is refused (its
  result is already in the conversation; small models otherwise loop on it);
- **forced calls keep their fixed arguments** (``Steering.pin``), whatever the model wrote,
  and a forced call whose every argument is fixed is made without the model
  (``Steering.settled``: the refine loop's delegations, the training run, submit, wait, and
  the reports that end a refine session, naming its change, and an experimentation session);
- **the per-role rules below**, as data (``RULES``), applied to the role's tools
  (``steer_tools``): the orchestrator is walked through its task kind's first loop
  (``FIRST_LOOPS``, then ``REPAIR_LOOP`` while the submission is invalid, then on an improve
  task ``REFINE_LOOP`` until the budget ends: one change, then its experiment, named by the
  change); an improve task's implementation runs ``python train.py`` until
  ``submission.csv`` is valid (``TRAIN_COMMAND``), and a refine session first replaces one
  function of it (``replace_function``); a Python file is never written empty nor left
  unparsable by an edit; Python files written are mended (HTML entities decoded, imports of
  conventional module names added: ``agents/code_repair.py``); experimentation submits the
  training command, described by its delegation's instruction, and reads its result at once
  (after a refused submit, with the configured GPU demand); comprehension reads alone,
  without Tier-2 readers.

A decentralized run's peers have their own rules beside these (``agents/peer_steering.py``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from aiscientist.agents.tools import Todo, Tool, ToolSet
from aiscientist.agents.train_steering import (
    NO_CHANGE,
    TRAIN_COMMAND,
    edit_that_parses,
    one_change_first,
    until_submission_valid,
    with_code_repair,
)
from aiscientist.experiments.records import read_result
from aiscientist.messages import ExperimentResult
from aiscientist.models.base import ToolCall, ToolChoice, ToolSpec
from aiscientist.workspace.view import WorkspaceView

RULES: dict[str, tuple[str, ...]] = {
    "orchestrator": ("first_loop",),
    "comprehension": ("no_readers",),
    "experimentation": ("experiment_now",),
    "implementation:improve": ("train_until_valid", "code_repair"),
    "implementation:replicate": ("code_repair",),
    "helper": ("code_repair",),
}
"""The rules of each role (``role`` or ``role:task kind``) when it is steered."""

_BUILD_AND_TEST: tuple[tuple[str, str], ...] = (("implementation", "full"), ("experimentation", ""))
FIRST_LOOPS: dict[str, tuple[tuple[str, str], ...]] = {
    # a paper needs reading and ranking before code, and its reproduction a fix
    "replicate": (
        ("comprehension", ""),
        ("prioritization", ""),
        *_BUILD_AND_TEST,
        ("implementation", "fix"),
    ),
    # an improve task's code reads its description and data itself: submission first (on the
    # 2-core machine, reading and ranking took 6-9 of a 12-minute budget before any code);
    # the refine loop follows
    "improve": _BUILD_AND_TEST,
}
"""The first loop of each task kind, as (role, mode): what the orchestrator's prompt proposes
and a steered orchestrator is walked through."""
FIRST_LOOP_TEXT = {
    "comprehension": "read the task, write paper_analysis/",
    "prioritization": "write agent/prioritized_tasks.md",
    "implementation full": "write the code in submission/",
    "experimentation": "run it as an experiment and report the val_score",
    "implementation fix": (
        "repair what failed, or adopt the best experiment's output (adopt_output with exp_id "
        '"best")'
    ),
}


def first_loop(kind: str) -> tuple[tuple[str, str], ...]:
    return FIRST_LOOPS.get(kind, FIRST_LOOPS["replicate"])


def first_loop_prompt(kind: str) -> str:
    """The first loop of ``kind`` as the orchestrator's task lists it (and, for an improve
    task, the refine loop after it)."""
    lines = []
    for i, (role, mode) in enumerate(first_loop(kind), 1):
        named = f"{role} (mode {mode})" if mode else role
        lines.append(f"{i}. {named}: {FIRST_LOOP_TEXT[f'{role} {mode}'.strip()]}.")
    if kind == "improve":
        lines.append(
            "Then the refine loop: implementation (mode refine) makes one change to the "
            "champion's program, experimentation tests it; again and again."
        )
    return "\n".join(lines)


REPAIR_LOOP = (("implementation", "fix"), ("experimentation", ""))
"""After the first loop, while the submission is invalid: a fix, then an experiment."""
REFINE_LOOP = (("implementation", "refine"), ("experimentation", ""))
"""After an improve task's first loop, while the submission is valid: one change to the
champion's program, then an experiment that tests it (named by the change)."""
REFINE_INSTRUCTION = (
    "make one change to the best program that should improve its verified score, and name it"
)
TEST_INSTRUCTION = "test the change: {summary}"


def rules_for(role: str, kind: str) -> tuple[str, ...]:
    return RULES.get(role, ()) + RULES.get(f"{role}:{kind}", ())


class Steering:
    """Narrows a steered session's next call and refuses repeated reads."""

    def __init__(self, tools: ToolSet) -> None:
        self.tools = tools
        self._stalled = 0
        self._last_todo: tuple[str, ...] = ()
        self._last_call: tuple[str, str] | None = None
        self._forced: ToolChoice | None = None

    def offer(self) -> tuple[list[ToolSpec], str | ToolChoice]:
        """Every tool, and the ``tool_choice`` of this step (see the module docstring)."""
        todo = self.tools.todo()
        key = tuple(t.text for t in todo)
        self._stalled = self._stalled + 1 if todo and key == self._last_todo else 0
        self._last_todo = key
        specs = self.tools.specs()
        forced = next(
            (t for t in todo if t.tool in self.tools.tools and self._stalled >= t.patience), None
        )
        self._forced = None
        if forced is not None:
            self._forced = ToolChoice((forced.tool,), dict(forced.fixed))
            return specs, self._forced
        if any(t.blocks_finish for t in todo):
            return specs, ToolChoice(tuple(n for n in self.tools.names() if n != "finish"))
        return specs, "auto"

    def pin(self, call: ToolCall) -> ToolCall:
        """``call`` with the fixed arguments of this step's forced call, whatever the model
        wrote for them (a grammar holds a local model to them; not every model is held)."""
        f = self._forced
        if f is None or call.name not in f.allowed or not f.fixed:
            return call
        return ToolCall(call.name, {**call.arguments, **f.fixed}, call.id)

    def settled(self) -> ToolCall | None:
        """This step's forced call when its fixed arguments are all of its arguments: nothing
        is left for the model to choose, so it is not asked (a call of a 1.5B model costs
        5-60 s here, and a refine loop is mostly such calls)."""
        f = self._forced
        if f is None or len(f.allowed) != 1:
            return None
        tool = self.tools.tools.get(f.allowed[0])
        if tool is None or not set(tool.args.model_fields) <= set(f.fixed):
            return None
        return ToolCall(tool.name, dict(f.fixed), "")

    def remember(self, call: ToolCall) -> bool:
        """Note ``call`` as the latest; True when it repeats the previous call and only reads."""
        key = (call.name, json.dumps(call.arguments, sort_keys=True, default=str))
        tool = self.tools.tools.get(call.name)
        repeat = key == self._last_call and tool is not None and tool.reads_only
        self._last_call = key
        return repeat

    def refuse(self, call: ToolCall) -> str | None:
        """Why ``call`` is not run (an exact repeat of the previous read), or None."""
        if self.remember(call):
            return (
                f"ERROR: you just called {call.name} with these same arguments; its result is "
                "above. Do not repeat it: take the next step of your task."
            )
        return None


def steer_tools(
    role: str,
    kind: str,
    tools: list[Tool],
    view: WorkspaceView,
    delegated: Callable[[], list[tuple[str, str]]] | None = None,
    rescue: str | None = None,
    num_gpus: float = 0.0,
    mode: str = "",
    instruction: str = "",
    summary_of: Callable[[str], str] | None = None,
) -> list[Tool]:
    """``tools`` with the rules of ``role`` applied (``delegated``: the orchestrator's
    (role, status) of each delegation so far, ``summary_of``: the latest summary a role
    returned; ``rescue``: a working ``train.py`` for the task; ``num_gpus``: the configured
    GPU demand of an experiment; ``mode``, ``instruction``: the session's delegation)."""
    rules = rules_for(role, kind)
    refused = {"n": 0}  # a refine session's refused changes: bad attempts, as failed runs are
    out = []
    for t in tools:
        if t.name == "write_file" and "code_repair" in rules:
            t = with_code_repair(t)
        elif t.name == "edit_file" and "code_repair" in rules:
            t = edit_that_parses(t, view)
        elif t.name == "replace_function" and mode == "refine" and "train_until_valid" in rules:
            t = one_change_first(t, view, refused)
        elif t.name == "shell" and "train_until_valid" in rules:
            t = until_submission_valid(t, view, rescue, refine=mode == "refine", refused=refused)
        elif t.name == "finish" and "first_loop" in rules and delegated is not None:
            t = through_first_loop(t, delegated, kind, summary_of or (lambda _role: ""))
        elif t.name == "submit_experiment" and "experiment_now" in rules:
            t = experiment_now(t, view, num_gpus, instruction)
        out.append(t)
    return out


def experiment_now(
    submit: Tool, view: WorkspaceView, num_gpus: float, instruction: str = ""
) -> Tool:
    """``submit_experiment`` whose advice (submit, then wait) is forced at once, with the
    training command fixed, the delegation's ``instruction`` as the description (the title of
    the hypothesis it tests: the change, in a refine loop) and the configured GPU demand (a
    1.5B model asks for a GPU the cluster lacks, is refused, and asks again). Once the result
    is read the session finishes, reporting it (``result_line``)."""
    advice_of = submit.todo or (lambda: [])
    submitted: list[str] = []

    def fn(a: Any) -> str:
        out = submit.fn(a)
        submitted.extend(out.split()[1:2])  # "submitted <exp_id> ..."
        return out

    def todo() -> list[Todo]:
        advice = advice_of()
        result = read_result(view.root, submitted[-1]) if submitted and not advice else None
        if result is not None:  # its result is read: the session reports it and ends
            report = {"summary": result_line(result)}
            done = "finish: the result is in"
            return [Todo(done, "finish", report, blocks_finish=False, patience=0)]
        out = []
        for t in advice:
            fixed: dict[str, Any] = dict(t.fixed)
            if t.tool == "submit_experiment":
                command = "bash reproduce.sh" if view.exists("submission/reproduce.sh") else ""
                if not command and view.exists("submission/train.py"):
                    command = TRAIN_COMMAND
                fixed.update({"command": command} if command else {})
                fixed.update({"description": instruction[:200]} if instruction else {})
                # a new hypothesis: a 1.5B model names an experiment as its parent, 10 times
                fixed.update({"hypothesis": "", "parent": "", "num_gpus": num_gpus})
                # and the defaults of the rest: the call is then the framework's to make
                fixed.update({"outputs": ["submission.csv"], "seed": 0, "timeout_s": None})
            if t.tool == "wait_experiments":  # every one in flight (a 1.5B model invents ids)
                fixed.update({"exp_ids": [], "timeout_s": 900.0})
            out.append(dataclasses.replace(t, fixed=fixed, patience=0))
        return out

    return dataclasses.replace(submit, fn=fn, todo=todo)


def result_line(r: ExperimentResult) -> str:
    """An experiment's result in one line (what a steered experimentation session reports)."""
    if r.verified_score is not None:
        return f"{r.exp_id} {r.status}: verified score {r.verified_score:.6g}"
    return f"{r.exp_id} {r.status}, no verified score: {' '.join(r.summary.split())[:200]}"


def first_loop_next(delegated: list[tuple[str, str]], kind: str = "replicate") -> int:
    """Index in the first loop of ``kind`` of the next step, given the (role, status) of
    every delegation so far: steps are matched in order by role, counting only ones that
    ended ``ok``."""
    loop = first_loop(kind)
    i = 0
    for role, status in delegated:
        if i < len(loop) and role == loop[i][0] and status == "ok":
            i += 1
    return i


def through_first_loop(
    finish: Tool,
    delegated: Callable[[], list[tuple[str, str]]],
    kind: str,
    summary_of: Callable[[str], str] = lambda _role: "",
) -> Tool:
    """The orchestrator's ``finish`` with the next step of the first loop as advice; then a
    fix and an experiment in turn while the submission is invalid; then, on an improve task,
    the refine loop (one change, then its experiment, with their instructions fixed) until
    the budget ends. A replicate run may finish once its first loop is done. Every step is
    forced at once, except a replicate run's steps once its gate is met; an improve task's
    first loop and refine loop have every argument fixed (the model is not asked)."""
    needed_of = finish.todo or (lambda: [])

    def todo() -> list[Todo]:
        needed = needed_of()
        done = delegated()
        loop = first_loop(kind)
        step = first_loop_next(done, kind)
        blocked = any(t.blocks_finish for t in needed)
        if step >= len(loop) and not needed and kind != "improve":
            return needed
        fixed: dict[str, Any] = {}
        summary = " ".join(summary_of("implementation").split())[:300]
        if step < len(loop):
            role, mode = loop[step]
            why = f"step {step + 1} of the first loop"
            if kind == "improve":  # the framework's program, then its experiment: all fixed
                fixed["instruction"] = (
                    TEST_INSTRUCTION.format(summary=summary)
                    if role == "experimentation"
                    else FIRST_LOOP_TEXT[f"{role} {mode}".strip()]
                )
                fixed["inputs"] = []
        elif blocked:
            last = done[-1][0] if done else ""
            role, mode = REPAIR_LOOP[last == "implementation"]
            why = "the submission is not valid yet"
        else:
            changed = bool(done) and done[-1] == ("implementation", "ok")
            changed = changed and not summary_of("implementation").startswith(NO_CHANGE)
            role, mode = REFINE_LOOP[changed]
            why = "the refine loop: one change, then its experiment"
            fixed["instruction"] = (
                TEST_INSTRUCTION.format(summary=summary) if changed else REFINE_INSTRUCTION
            )
            fixed["inputs"] = []  # the refine session is handed the champion's program
        fixed = {"role": role, "mode": mode, **fixed}  # "" too: the model repeats the last
        what = f"delegate {role}{f' (mode {mode})' if mode else ''}"
        patience = 0 if blocked or kind == "improve" else 1_000_000
        advice = Todo(f"{what}: {why}", "delegate", fixed, blocks_finish=False, patience=patience)
        return [advice, *needed]

    return dataclasses.replace(finish, todo=todo)
