"""Malformed model replies thrown at the tool layer (hypothesis): garbage JSON, wrong types,
huge strings, unknown tools, paths that leave the workspace or the role's regions. Every call
answers the model with text (``ERROR: ...`` for what it must fix), never a raw traceback, and
nothing outside the role's regions (or the workspace) changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiscientist.agents.tools import Finished, ToolSet
from aiscientist.agents.workspace_tools import (
    ToolContext,
    finish_tool,
    read_tools,
    shell_tool,
    write_tools,
)
from aiscientist.config import SandboxConfig, load_config
from aiscientist.errors import ModelFormatError
from aiscientist.models.json_actions import JsonActionModel, parse_action
from aiscientist.models.litellm_model import parse_tool_call
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run
from aiscientist.workspace.regions import owners
from aiscientist.workspace.view import WorkspaceView

ROLE = "implementation"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ToolSet]]:
    """A real run directory and the implementation role's file tools over it."""
    root = tmp_path_factory.mktemp("fuzz-tools")
    run_dir = create_run("tabular-cancer", load_config(overrides=["sandbox.kind=local"]), root=root)
    view = WorkspaceView(run_dir, ROLE)
    ctx = ToolContext(view=view, sandbox=SandboxConfig(kind="local"))
    yield run_dir, ToolSet([*read_tools(ctx), *write_tools(ctx), finish_tool(view)])


def snapshot(top: Path, run_dir: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under ``top`` that the role may not write."""
    out = {}
    for p in top.rglob("*"):
        if p.is_file() and not p.is_symlink():
            inside = p.is_relative_to(run_dir)
            rel = p.relative_to(run_dir).as_posix() if inside else ""
            if not inside or ROLE not in owners(rel):
                st_ = p.stat()
                out[str(p)] = (st_.st_size, st_.st_mtime_ns)
    return out


PATHS = st.sampled_from(
    [
        "submission/train.py",
        "submission/../agent/plan.md",
        "agent/plan.md",
        "paper_analysis/summary.md",
        "task/description.md",
        "task/private/answers.csv",
        "dev/private/answers.csv",
        "run.json",
        "journal/events.jsonl",
        "../escape.txt",
        "/etc/passwd",
        "/tmp/escape.txt",
        "~/.ssh/id_rsa",
        "submission/\x00evil",
        "submission/" + "x" * 300,
        "submission/" + "d/" * 2000 + "f",
        "",
        ".",
        "submission",
        "C:\\windows\\system32",
        "submission\\..\\..\\escape.txt",
    ]
) | st.text(max_size=40)
STRINGS = st.text(max_size=60) | st.sampled_from(["x" * 200_000, "\udc80", "\x00", "../" * 50])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
ARG_NAMES = ["path", "content", "offset", "limit", "pattern", "old", "new", "summary"]


@st.composite
def arguments(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly the right argument names, with values of any type (paths drawn from PATHS)."""
    names = draw(st.lists(st.sampled_from(ARG_NAMES) | st.text(max_size=8), max_size=4))
    args: dict[str, Any] = {}
    for name in names:
        args[name] = draw(PATHS if name == "path" else JSON)
    return args


TOOL_NAMES = st.sampled_from(
    ["read_file", "list_files", "search", "read_map", "write_file", "edit_file", "finish"]
) | st.text(max_size=20)


def call(tools: ToolSet, name: str, args: dict[str, Any]) -> str:
    try:
        out = tools.call(name, args)
    except Finished as done:  # the finish tool ends the session: the one exception expected
        assert name == "finish"
        return f"finished: {done.summary}"
    assert isinstance(out, str)
    return out


@FUZZ
@given(name=TOOL_NAMES, args=arguments())
def test_any_tool_call_answers_with_text_and_changes_nothing_outside_the_region(
    workspace: tuple[Path, ToolSet], name: str, args: dict[str, Any]
) -> None:
    run_dir, tools = workspace
    before = snapshot(run_dir.parent, run_dir)
    out = call(tools, name, args)
    assert snapshot(run_dir.parent, run_dir) == before, (name, args, out[:300])
    if name not in tools.names():
        assert out.startswith("ERROR: unknown tool"), out[:300]


@pytest.mark.parametrize(
    ("name", "args", "needle"),
    [
        ("write_file", {"path": "../escape.txt", "content": "x"}, ".."),
        ("write_file", {"path": "/tmp/escape.txt", "content": "x"}, "absolute"),
        ("write_file", {"path": "agent/plan.md", "content": "x"}, "agent/plan.md"),
        ("write_file", {"path": "submission/\x00x", "content": "x"}, "NUL"),
        ("write_file", {"path": "submission/a.py", "content": 5}, "content"),
        ("write_file", {"path": "submission/a.py"}, "content"),
        ("write_file", {"path": "submission/" + "x" * 300, "content": "x"}, "ERROR"),
        ("write_file", {"path": "submission/s.txt", "content": "\udc80"}, "ERROR"),
        ("read_file", {"path": "/etc/passwd"}, "absolute"),
        ("read_file", {"path": "submission/" + "x" * 300}, "ERROR"),
        ("read_file", {"path": "task/description.md", "offset": "a lot"}, "offset"),
        ("list_files", {"path": ".", "pattern": ""}, "ERROR"),
        ("list_files", {"path": ".", "pattern": "/etc/*"}, "ERROR"),
        ("list_files", {"path": ".", "pattern": "../../*"}, "ERROR"),
        ("search", {"pattern": "("}, "regular expression"),
        ("edit_file", {"path": "task/description.md", "old": "a", "new": "b"}, "task/"),
        ("no_such_tool", {}, "unknown tool"),
        ("read_file", {"__invalid_json__": "{oops"}, "not valid JSON"),
    ],
)
def test_bad_calls_get_an_error_the_model_can_act_on(
    workspace: tuple[Path, ToolSet], name: str, args: dict[str, Any], needle: str
) -> None:
    run_dir, tools = workspace
    before = snapshot(run_dir.parent, run_dir)
    out = call(tools, name, args)
    assert out.startswith("ERROR"), out[:300]
    assert needle in out, out[:300]
    assert snapshot(run_dir.parent, run_dir) == before


def test_a_huge_write_inside_the_region_lands_and_reads_back_truncated(
    workspace: tuple[Path, ToolSet],
) -> None:
    run_dir, tools = workspace
    assert call(tools, "write_file", {"path": "submission/big.txt", "content": "y" * 300_000})
    assert (run_dir / "submission" / "big.txt").stat().st_size == 300_000
    out = call(tools, "read_file", {"path": "submission/big.txt", "limit": 10**9})
    assert "characters cut" in out and len(out) < 10_000


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"command": "echo \x00 hi"}, "NUL"),
        ({"command": "x" * 300_000}, "script file"),
        ({"command": "echo hi", "timeout_s": 0}, "timeout"),
        ({"command": "echo hi", "timeout_s": "nan"}, "timeout"),
        ({"command": ["echo", "hi"]}, "command"),
        ({"cmd": "echo hi"}, "command"),
    ],
)
def test_a_shell_call_no_sandbox_can_run_is_an_argument_error(
    workspace: tuple[Path, ToolSet], args: dict[str, Any], needle: str
) -> None:
    run_dir, _ = workspace
    ctx = ToolContext(
        view=WorkspaceView(run_dir, ROLE), sandbox=SandboxConfig(kind="local"), home="submission"
    )
    out = ToolSet([shell_tool(ctx)]).call("shell", args)
    assert out.startswith("ERROR: invalid arguments for 'shell'") and needle in out, out[:300]


# ---- the JSON-action protocol: replies that are no action ----

REPLIES = st.one_of(
    st.text(max_size=200),
    st.builds(lambda v: json.dumps(v), JSON),
    st.builds(
        lambda tool, args: json.dumps({"tool": tool, "arguments": args}),
        JSON,
        JSON,
    ),
    st.builds(lambda s: "Sure! ```json\n" + s + "\n``` hope that helps", st.text(max_size=80)),
    st.just('{"tool": "write_file", "arguments": {"path": "submission/a.py", "content": "x'),
    st.just("{" * 5000 + "}" * 5000),
    st.just('{"tool": "read_map", "arguments": ' + '{"a": ' * 5000 + "1" + "}" * 5001),
    st.just('{"tool": "read_map", "arguments": {"n": ' + "9" * 5000 + "}}"),
)


@FUZZ
@given(reply=REPLIES)
def test_parse_action_never_raises(reply: str) -> None:
    call_ = parse_action(reply)
    if call_ is not None:
        assert isinstance(call_.name, str) and isinstance(call_.arguments, dict)


DEEP = '{"a": ' * 100_000 + "1" + "}" * 100_000
LONG_INT = '{"n": ' + "9" * 5000 + "}"


@pytest.mark.parametrize("arguments", [DEEP, LONG_INT], ids=["deep", "long-int"])
def test_json_python_cannot_decode_is_no_action_not_a_crash(
    workspace: tuple[Path, ToolSet], arguments: str
) -> None:
    """Both protocols: the JSON action is no action (a format error the model sees), native
    arguments are kept undecoded and the tool call answers that they were not valid JSON."""
    _, tools = workspace
    assert parse_action('{"tool": "read_map", "arguments": ' + arguments + "}") is None
    native = parse_tool_call(0, None, "read_file", arguments)
    assert tools.call(native.name, native.arguments).startswith("ERROR: the arguments of")


@FUZZ
@given(reply=REPLIES)
def test_a_json_action_reply_is_a_call_or_a_format_error_and_the_call_answers_text(
    workspace: tuple[Path, ToolSet], reply: str
) -> None:
    run_dir, tools = workspace
    model = JsonActionModel(ScriptedModel([reply]))
    try:
        completion = model.complete([], tools=tools.specs())
    except ModelFormatError as bad:
        assert "not one JSON action" in str(bad)
        return
    [tool_call] = completion.tool_calls
    before = snapshot(run_dir.parent, run_dir)
    call(tools, tool_call.name, tool_call.arguments)
    assert snapshot(run_dir.parent, run_dir) == before or tool_call.name in (
        "write_file",
        "edit_file",
    )
