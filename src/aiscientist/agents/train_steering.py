"""Steering of an improve task's implementation (``agents/steering.py`` applies it): run
``train.py`` as soon as it is written until ``submission.csv`` is valid, a refine session's
one change as a function replaced, its way back when the change keeps failing, and Python
written that always parses (mended by ``agents/code_repair.py``)."""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from aiscientist.agents.code_repair import repair_python
from aiscientist.agents.ideas import describe_change
from aiscientist.agents.tools import Todo, Tool
from aiscientist.errors import ToolError
from aiscientist.workspace.view import WorkspaceView

TRAIN_COMMAND = "python train.py"
TRAIN_TIMEOUT_S = 300.0
"""The timeout of the training run the steering forces."""
BASELINE_SUMMARY = "the framework's baseline program ran and wrote a valid submission.csv"
"""What a session that started without ``train.py`` reports once the baseline written there
ran valid (it ends at once: the refine loop improves the program)."""
NO_CHANGE = "no change"
"""How a refine session's report starts when its change failed and the program is back to the
champion's: the orchestrator asks for another change instead of an experiment."""
RESCUE_AFTER = 3
"""Runs of ``train.py`` without a valid ``submission.csv`` before the framework's baseline
(``agents/baseline.py``) replaces it: the way out of a dead end."""


def one_change_first(
    change: Tool, view: WorkspaceView, refused: dict[str, int] | None = None
) -> Tool:
    """``replace_function`` of a refine session (which starts from the champion's program,
    preloaded): the first call is forced to replace a function of ``submission/train.py``
    (``make_model`` or ``add_features`` in the framework's program). A 1.5B model rewriting a
    130-line program cuts it short or mangles it, after minutes of generation; quoting lines
    exactly for an edit, it invents them; a whole small function it writes. Asked again while
    the program is the one the session started from, three times at most. A refused call
    (code that does not parse, the function as it was) is counted in ``refused``."""
    rel = "submission/train.py"
    start = view.read_text(rel) if view.exists(rel) else ""
    tries = {"n": 0}
    refused = refused if refused is not None else {"n": 0}

    def fn(a: Any) -> str:
        tries["n"] += a.path == rel
        try:
            return change.fn(a)
        except ToolError:
            refused["n"] += 1
            raise

    def todo() -> list[Todo]:
        current = view.read_text(rel) if view.exists(rel) else ""
        if current != start or tries["n"] >= 3:
            return []
        what = (
            "make your one change with replace_function on submission/train.py: the whole "
            "new make_model (another estimator or settings) or add_features (new columns), "
            "for example the first standard change shown"
        )
        return [Todo(what, "replace_function", {"path": rel}, patience=0)]

    return dataclasses.replace(change, fn=fn, todo=todo)


def edit_that_parses(edit: Tool, view: WorkspaceView) -> Tool:
    """``edit_file`` that never leaves a Python file broken: the edited file is mended as
    ``repair_python`` does; if it still does not parse, the edit is undone and refused with
    the syntax error."""

    def fn(a: Any) -> str:
        if not a.path.endswith(".py") or not view.exists(a.path):
            return edit.fn(a)
        before = view.read_text(a.path)
        out = edit.fn(a)
        text, done = repair_python(view.read_text(a.path))
        try:
            ast.parse(text)
        except SyntaxError as exc:
            view.write_text(a.path, before)
            raise ToolError(
                f"the edit leaves {a.path} with a SyntaxError ({exc.msg}, line {exc.lineno}); "
                "it was undone: give 'new' as complete, valid Python lines"
            ) from exc
        if done:
            view.write_text(a.path, text)
        return out + (f"; {'; '.join(done)}" if done else "")

    return dataclasses.replace(edit, fn=fn)


def with_code_repair(write: Tool) -> Tool:
    """``write_file`` that mends a Python file as ``agents/code_repair.py`` says (HTML entities
    decoded, conventional imports added) and says so: a 1.5B model repeats those slips and
    cannot repair the errors they cause."""

    def fn(a: Any) -> str:
        if not a.path.endswith(".py"):
            return write.fn(a)
        content, done = repair_python(a.content)
        if _no_code(content):  # a 1.5B model wrote "" or one comment over a working program
            raise ToolError(f"refused: {a.path} would hold no code; write the complete program")
        out = write.fn(a.model_copy(update={"content": content}))
        return out + (f"; {'; '.join(done)}" if done else "")

    return dataclasses.replace(write, fn=fn)


def until_submission_valid(
    shell: Tool,
    view: WorkspaceView,
    rescue: str | None = None,
    refine: bool = False,
    refused: dict[str, int] | None = None,
) -> Tool:
    """The implementation shell of an improve task, holding the model to the contract: run
    ``python train.py`` as soon as it is written, until ``submission/submission.csv`` is
    valid, and after a failed run, rewrite ``train.py`` (its error is in the conversation).
    A session that starts with no ``train.py`` starts with ``rescue`` there, run at once (a
    valid submission before anything clever), and once that is valid it ends
    (``BASELINE_SUMMARY``): the refine loop improves the program one function at a time, not
    a 1.5B model copying a 130-line program at a few tokens a second. ``submission.csv`` is
    always the output of the last run that wrote a valid one: a run that fails or writes
    none leaves it as it was and counts as bad; after ``RESCUE_AFTER`` bad runs, ``rescue``
    replaces ``train.py``. The model is told either way. A ``refine`` session fixes a failed
    change with ``replace_function``, falls back to the program it started from (the
    champion's) with the standard change it was shown applied as written (``shown_change``),
    and once its changed program wrote a valid submission ends, its summary naming the
    change (``describe_change``; ``NO_CHANGE`` when none was left to apply). Its changes
    ``refused`` (``one_change_first``) count as bad runs: a 1.5B model fixing a failed change
    wrote one unparsable function after another until the budget ended."""
    from aiscientist.grading.validity import CachedCheck, check_submission

    sample = view.path("task/public/sample_submission.csv")
    csv = view.path("submission/submission.csv")
    problems = CachedCheck(csv, lambda: check_submission(csv, sample))
    last = {"failed": False, "written": 0.0, "bad_runs": 0, "fell_back": False}
    refused = refused if refused is not None else {"n": 0}

    def bad() -> int:
        return int(last["bad_runs"]) + refused["n"]

    start = view.read_text("submission/train.py") if view.exists("submission/train.py") else ""

    def train(a: Any) -> tuple[str, bool]:
        """Run ``a`` (the training command); whether it ended well with a valid new csv. The
        csv it replaces is put back when it did not."""
        kept = csv.with_name("submission.csv.kept")
        if csv.is_file():
            csv.replace(kept)
        out = shell.fn(a)
        ok = out.startswith("[ok") and csv.is_file() and not problems()
        if kept.is_file():
            if ok:
                kept.unlink()
            else:
                kept.replace(csv)
        return out, ok

    if rescue and not view.exists("submission/train.py"):
        view.write_text("submission/train.py", rescue)
        fixed = {"command": TRAIN_COMMAND, "timeout_s": TRAIN_TIMEOUT_S}
        _, ok = train(shell.args.model_validate(fixed))
        last.update(failed=not ok, written=_mtime(view, "submission/train.py"))
        view.append_text(
            "agent/impl_log.md",
            "Steering: no train.py yet; the framework's baseline for this task was written "
            f"there and run: {'a valid submission.csv' if ok else 'it failed'}.",
        )

    def run(a: Any) -> str:
        if a.command.strip() != TRAIN_COMMAND:
            return shell.fn(a)
        out, ok = train(a)
        last["failed"] = not ok
        last["written"] = _mtime(view, "submission/train.py")
        if ok:
            return out
        last["bad_runs"] += 1
        current = (
            view.read_text("submission/train.py") if view.exists("submission/train.py") else ""
        )
        # a refine session's way back: the standard change it was shown, as written (the
        # model's own version failed), on the program it started from (the champion's); if
        # that fails too, the program it started from
        working = rescue
        if refine and start:
            working = start if last["fell_back"] else shown_change(start, view)
        if working and bad() >= RESCUE_AFTER and current != working:
            refused["n"] = 0
            view.write_text("submission/train.py", working)
            by = "the framework's baseline for this task"
            if working == start:
                by = "the program this session started from"
            elif working != rescue:
                change = describe_change(start, working)
                by = f"the program this session started from, with the change shown ({change})"
            view.append_text(
                "agent/impl_log.md",
                f"Steering: {last['bad_runs']} runs of train.py left no valid submission.csv; "
                f"train.py was replaced by {by}.",
            )
            last.update(failed=False, fell_back=True)
            out += (
                f"\n\n[{last['bad_runs']} runs of train.py have not produced a valid "
                f"submission.csv, so submission/train.py was replaced by {by}. Run python "
                "train.py, then improve it step by step.]"
            )
        return out

    def todo() -> list[Todo]:
        if not view.exists("submission/train.py") or not sample.is_file():
            return []
        edited = _mtime(view, "submission/train.py") != last["written"]
        if not problems() and not last["failed"] and not (edited and last["written"]):
            current = view.read_text("submission/train.py")
            if not start and rescue and current == rescue and last["written"]:
                # seeded and valid: the refine loop improves it, one function at a time
                done = "finish: the framework's baseline wrote a valid submission"
                said = {"summary": f"submission/train.py: {BASELINE_SUMMARY}"}
                return [Todo(done, "finish", said, blocks_finish=False, patience=0)]
            if refine and last["written"] and current != start:  # the change works: report it
                what = describe_change(start, current) or "changed submission/train.py"
                done = "finish: the changed program ran and wrote a valid submission"
                return [Todo(done, "finish", {"summary": what}, blocks_finish=False, patience=0)]
            if refine and last["written"] and current == start:  # nothing to test: say so
                why = (
                    f"{RESCUE_AFTER} runs of the changed program failed"
                    if last["fell_back"]
                    else "submission/train.py is the program this session started from"
                )  # the 1.5B model reported changes it had not made, tested as such
                done = "finish: the program is the one this session started from"
                said = {"summary": f"{NO_CHANGE}: {why}"}
                return [Todo(done, "finish", said, blocks_finish=False, patience=0)]
            return []  # valid, and the program that wrote it is the one there
        if last["failed"] and not edited:
            path = {"path": "submission/train.py"}
            back = refine and view.read_text("submission/train.py") != start
            if back and bad() >= RESCUE_AFTER:  # rerun at once: the way back follows it
                cmd = {"command": TRAIN_COMMAND, "timeout_s": TRAIN_TIMEOUT_S}
                return [Todo("run python train.py", "shell", cmd, patience=0)]
            if refine:  # the function changed, not the whole program (minutes of generation)
                fix = "fix the function you changed in submission/train.py (its run failed)"
                return [Todo(fix, "replace_function", path, patience=1)]
            fix = "fix submission/train.py (its last run failed)"
            return [Todo(fix, "write_file", path, patience=1)]
        # the timeout fixed too: a forced call left the 1.5B model to fill it, and it wrote 0,
        # a refused argument, 14 times in a row
        cmd = {"command": TRAIN_COMMAND, "timeout_s": TRAIN_TIMEOUT_S}
        run_it = "run python train.py so that submission/submission.csv is valid"
        return [Todo(run_it, "shell", cmd, patience=0)]  # a program written is run at once

    return dataclasses.replace(shell, fn=run, todo=todo)


def shown_change(program: str, view: WorkspaceView) -> str:
    """``program`` with the first standard change no experiment of the run has tried (the one
    a refine session is shown with its code: ``ideas_block``) applied as written; ``program``
    when none applies."""
    from aiscientist.agents.ideas import apply_idea, tried_programs, untried

    made = (apply_idea(program, idea) for idea in untried(program, tried_programs(view.root)))
    return next((m for m in made if m is not None), program)


def _no_code(source: str) -> bool:
    """Whether ``source`` parses to nothing (blank, or comments only)."""
    try:
        return not ast.parse(source).body
    except SyntaxError:
        return False


def _mtime(view: WorkspaceView, rel: str) -> float:
    try:
        return view.path(rel).stat().st_mtime
    except FileNotFoundError:
        return 0.0
