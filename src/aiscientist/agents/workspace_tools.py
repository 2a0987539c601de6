"""Tools over the workspace and the sandbox, shared by every role."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

from pydantic import model_validator

from aiscientist.agents.tools import Args, Finished, NoArgs, Todo, Tool
from aiscientist.config import SandboxConfig
from aiscientist.errors import SandboxError, ToolError
from aiscientist.experiments.executor import hidden_paths
from aiscientist.sandbox.base import Limits, Mount, check_command
from aiscientist.workspace.regions import region_of
from aiscientist.workspace.view import WorkspaceView


@dataclass
class ToolContext:
    """What tools of one session act on."""

    view: WorkspaceView
    sandbox: SandboxConfig
    home: str = ""
    """Region (relative dir) where this role's shell runs; '' = no shell."""
    shell_timeout: float = 600.0


class ReadFileArgs(Args):
    path: str
    """Path relative to the run directory."""
    offset: int = 0
    """First character to return."""
    limit: int = 6000
    """Most characters to return."""


class ListArgs(Args):
    path: str = "."
    """Directory relative to the run directory."""
    pattern: str = "*"
    """Glob pattern (matched recursively)."""


class SearchArgs(Args):
    pattern: str
    """Regular expression to look for."""
    path: str = "."
    """Directory to search under."""


class WriteArgs(Args):
    path: str
    """Path relative to the run directory, inside one of your regions."""
    content: str
    """The whole new content of the file."""


class EditArgs(Args):
    path: str
    """File to edit."""
    old: str
    """Exact text to replace (must occur once)."""
    new: str
    """Replacement text."""


class FunctionArgs(Args):
    path: str
    """Python file to change."""
    name: str
    """The top-level function to replace."""
    code: str
    """Its complete new version: 'def name(...):' and its body (imports above it allowed)."""


class ShellArgs(Args):
    command: str
    """Shell command, run in your home directory inside the sandbox."""
    timeout_s: float = 120.0
    """Seconds before the command is killed."""

    @model_validator(mode="after")
    def _runnable(self) -> ShellArgs:
        """A command no sandbox can start (a NUL byte, over 128 KiB, a timeout that is no
        positive number) goes back to the model as a bad argument, not a stopped session."""
        try:
            check_command(self.command, self.timeout_s)
        except SandboxError as exc:
            raise ValueError(str(exc)) from None
        return self


class FinishArgs(Args):
    summary: str
    """What was done and where the results are (a few sentences)."""


@contextmanager
def _filesystem_errors(path: str) -> Iterator[None]:
    """What the filesystem refuses for a model's path or text (a name too long, a lone
    surrogate that is no UTF-8) goes back to the model as a ``ToolError``."""
    try:
        yield
    except UnicodeError as exc:
        raise ToolError(
            f"{path[:120]!r}: text that cannot be stored as UTF-8 ({exc}); send plain text"
        ) from exc
    except OSError as exc:
        raise ToolError(
            f"{path[:120]!r}: {exc.strerror or exc}; use a shorter, plain relative path"
        ) from exc


def _glob_pattern(pattern: str) -> str:
    parts = PurePosixPath(pattern).parts
    if not pattern or "\x00" in pattern or pattern.startswith("/") or ".." in parts:
        raise ToolError(
            f"bad pattern {pattern[:120]!r}: give a relative glob such as '*.py' or "
            "'data/*.csv' (not empty, not absolute, no '..')"
        )
    return pattern


def _model_writable(view: WorkspaceView, path: str) -> None:
    """Refuse what a role's regions hold but a model must not write through the file tools:
    the runtime's journal (every role's transcript and usage lines: a forged one would change
    what a resumed run replays and what the budget counts), and a repository's ``.git/``
    (its config can name commands that host-side git runs, e.g. ``core.fsmonitor``)."""
    rel = view.rel(view.path(path))
    if region_of(rel).startswith("journal/"):
        raise ToolError(
            f"{path[:120]!r} is in journal/, which the runtime writes for every role; write "
            f"in your own regions: {', '.join(view.own_regions())}"
        )
    if ".git" in PurePosixPath(rel).parts:
        raise ToolError(
            f"{path[:120]!r} is inside a .git directory; change the repository with git in "
            "the shell (git add, git commit), not by editing git's files"
        )


def read_tools(ctx: ToolContext) -> list[Tool]:
    """read_file, list_files, search, read_map."""
    view = ctx.view

    def read_file(a: ReadFileArgs) -> str:
        with _filesystem_errors(a.path):
            text = view.read_text(a.path)
        chunk = text[a.offset : a.offset + a.limit]
        more = len(text) - (a.offset + len(chunk))
        return chunk + (f"\n[… {more} more characters; use offset]" if more > 0 else "")

    def list_files(a: ListArgs) -> str:
        with _filesystem_errors(a.path):
            files = view.list(a.path, _glob_pattern(a.pattern), limit=300)
        return "\n".join(files) if files else "(no files)"

    def search(a: SearchArgs) -> str:
        try:
            rx = re.compile(a.pattern)
        except re.error as exc:
            raise ToolError(f"bad regular expression {a.pattern!r}: {exc}") from exc
        hits: list[str] = []
        with _filesystem_errors(a.path):
            files = view.list(a.path, "*", limit=2000)
        for rel in files:
            p = view.path(rel)
            if p.stat().st_size > 2_000_000:
                continue
            try:
                lines = p.read_text(errors="strict").splitlines()
            except (UnicodeDecodeError, OSError):
                continue
            for i, line in enumerate(lines, 1):
                if rx.search(line):
                    hits.append(f"{rel}:{i}: {line[:200]}")
                    if len(hits) >= 60:
                        return "\n".join(hits) + "\n[more hits cut]"
        return "\n".join(hits) if hits else "(no match)"

    def read_map(_: NoArgs) -> str:
        if view.exists("MAP.md"):
            return view.read_text("MAP.md", limit=8000)
        return "\n".join(view.list(".", "*", limit=200))

    return [
        Tool("read_file", "Read a file of the workspace.", ReadFileArgs, read_file, True),
        Tool("list_files", "List files under a directory.", ListArgs, list_files, True),
        Tool("search", "Search text files for a regular expression.", SearchArgs, search, True),
        Tool(
            "read_map", "Read the workspace map (files, owners, summaries).", NoArgs, read_map, True
        ),
    ]


def function_tool(ctx: ToolContext) -> Tool:
    """replace_function: one top-level function of a Python file in the role's regions, given
    whole (``code_repair.replace_function``): a change of a few lines a small model can make
    without copying a file or quoting it exactly."""
    from aiscientist.agents.code_repair import replace_function

    view = ctx.view

    def replace(a: FunctionArgs) -> str:
        with _filesystem_errors(a.path):
            text = view.read_text(a.path)
        try:
            new, done = replace_function(text, a.name, a.code)
        except (ValueError, SyntaxError) as exc:
            raise ToolError(f"{a.path} unchanged: {exc}") from exc
        if new == text:
            raise ToolError(
                f"{a.path} unchanged: that {a.name} is the one the file has; change something"
            )
        with _filesystem_errors(a.path):
            _model_writable(view, a.path)
            ptr = view.write_text(a.path, new)
        return f"replaced {a.name} in {ptr.path}" + (f"; {'; '.join(done)}" if done else "")

    return Tool(
        "replace_function",
        "Replace one top-level function of a Python file with its complete new version.",
        FunctionArgs,
        replace,
    )


def write_tools(ctx: ToolContext) -> list[Tool]:
    """write_file, edit_file: only inside the role's regions."""
    view = ctx.view

    def write_file(a: WriteArgs) -> str:
        with _filesystem_errors(a.path):
            _model_writable(view, a.path)
            ptr = view.write_text(a.path, a.content)
        return f"wrote {ptr.path} ({ptr.size} bytes)"

    def edit_file(a: EditArgs) -> str:
        with _filesystem_errors(a.path):
            text = view.read_text(a.path)
        count = text.count(a.old)
        if count != 1:
            raise ToolError(f"'old' occurs {count} times in {a.path!r}; it must occur once")
        with _filesystem_errors(a.path):
            _model_writable(view, a.path)
            ptr = view.write_text(a.path, text.replace(a.old, a.new))
        return f"edited {ptr.path}"

    return [
        Tool("write_file", "Create or replace a file in your regions.", WriteArgs, write_file),
        Tool("edit_file", "Replace one exact snippet in a file.", EditArgs, edit_file),
    ]


def shell_tool(ctx: ToolContext) -> Tool:
    """A shell in the sandbox, working in the role's home region."""
    view = ctx.view

    def shell(a: ShellArgs) -> str:
        from aiscientist.sandbox import make_sandbox

        home = view.writable_path(ctx.home)
        home.mkdir(parents=True, exist_ok=True)
        before = time.time()
        res = make_sandbox(ctx.sandbox).run(
            a.command,
            workdir=home,
            mounts=[Mount(view.root, view.root, read_only=True)],
            env={"TASK_DIR": str(view.root / "task")},
            limits=Limits(hide=hidden_paths(view.root)),
            timeout=min(a.timeout_s, ctx.shell_timeout),
        )
        for p in home.rglob("*"):  # a link the command made is no file it wrote
            if p.is_symlink() or ".git" in p.parts or not p.is_file():
                continue
            if p.stat().st_mtime >= before - 1:
                view.note_written(p)
        return f"[{res.status}, exit {res.exit_code}, {res.duration_s:.1f}s]\n{res.stdout}"

    return Tool(
        "shell", f"Run a shell command in {ctx.home or '.'}/ (sandboxed).", ShellArgs, shell
    )


def finish_tool(view: WorkspaceView | None = None, required: tuple[str, ...] = ()) -> Tool:
    """finish: end the session with a summary, refused until the ``required`` files exist."""

    def unwritten() -> list[str]:
        return [r for r in required if view is not None and not view.exists(r)]

    def missing() -> list[Todo]:
        return [Todo(f"write {r}", "write_file", {"path": r}) for r in unwritten()]

    def finish(a: FinishArgs) -> str:
        todo = unwritten()
        if todo:
            raise ToolError(
                f"cannot finish yet: {', '.join(todo)} not written; write it with write_file, "
                "then call finish"
            )
        raise Finished(a.summary)

    return Tool(
        "finish", "End this session with a short summary.", FinishArgs, finish, todo=missing
    )


def home_of(role: str) -> str:
    """The region a role's shell works in."""
    return {"implementation": "submission", "helper": "agent/helper"}.get(role, "")
