"""The agent loop with the shipped scripted model: tool calls, errors fed back, protocols,
budgets and context bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.loop import Agent
from aiscientist.agents.tools import ToolSet
from aiscientist.agents.workspace_tools import ToolContext, finish_tool, read_tools, write_tools
from aiscientist.config import SandboxConfig
from aiscientist.messages import Budget
from aiscientist.models.base import Completion, ToolCall, ToolChoice
from aiscientist.models.json_actions import action_schema, with_protocol
from aiscientist.models.scripted import ScriptedModel
from aiscientist.workspace import WorkspaceView


def tools_for(run_dir: Path, role: str = "implementation") -> ToolSet:
    ctx = ToolContext(view=WorkspaceView(run_dir, role), sandbox=SandboxConfig(kind="local"))
    return ToolSet([*read_tools(ctx), *write_tools(ctx), finish_tool()])


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    for d in ("task", "submission", "paper_analysis", "agent"):
        (tmp_path / d).mkdir()
    (tmp_path / "task" / "description.md").write_text("# Predict y\n" + "x" * 5000)
    return tmp_path


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def scripted(a: Agent) -> ScriptedModel:
    """The scripted model under an agent's protocol wrapper."""
    model = getattr(a.model, "inner", a.model)
    assert isinstance(model, ScriptedModel)
    return model


def agent(run_dir: Path, replies: list[object], **kw: object) -> Agent:
    model = ScriptedModel(replies, window=kw.pop("window", 32768))  # type: ignore[arg-type]
    return Agent(
        model=with_protocol(model, kw.pop("protocol", "native")),  # type: ignore[arg-type]
        tools=tools_for(run_dir),
        system="You write code.",
        task="Write submission/a.py",
        guard=kw.pop("guard", BudgetGuard(Budget())),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_invalid_arguments_go_back_to_the_model_which_then_fixes_them(run_dir: Path) -> None:
    a = agent(
        run_dir,
        [
            call("write_file", path="submission/a.py"),  # 'content' missing
            call("write_file", path="submission/a.py", content="print(1)", colour="red"),
            call("no_such_tool"),
            call("write_file", path="submission/a.py", content="print(1)"),
            call("finish", summary="done"),
        ],
    )
    out = a.run()
    tool_msgs = [m.content for m in a.messages if m.role == "tool"]
    assert tool_msgs[0].startswith("ERROR: invalid arguments for 'write_file'")
    assert "content" in tool_msgs[0]
    assert "colour" in tool_msgs[1]
    assert tool_msgs[2].startswith("ERROR: unknown tool 'no_such_tool'")
    assert tool_msgs[3].startswith("wrote submission/a.py")
    assert out.status == "ok" and out.summary == "done" and out.steps == 5
    assert (run_dir / "submission" / "a.py").read_text() == "print(1)"


def test_writes_outside_the_region_are_refused_and_reported(run_dir: Path) -> None:
    a = agent(
        run_dir,
        [call("write_file", path="paper_analysis/x.md", content="no"), call("finish", summary="s")],
    )
    a.run()
    assert (
        "may not write 'paper_analysis/x.md'"
        in [m for m in a.messages if m.role == "tool"][0].content
    )
    assert not (run_dir / "paper_analysis" / "x.md").exists()


def test_json_action_protocol_runs_tools_and_feeds_back_garbage(run_dir: Path) -> None:
    a = agent(
        run_dir,
        [
            "this is not json at all",
            '{"thought": "write it", "tool": "write_file", '
            '"arguments": {"path": "submission/b.py", "content": "x = 1"}}',
            'Sure! {"tool": "finish", "arguments": {"summary": "json done"}}',
        ],
        protocol="json",
    )
    out = a.run()
    fed_back = [m.content for m in a.messages if m.role == "user"][1]
    assert fed_back.startswith("ERROR: your reply was not one JSON action")
    assert "this is not json at all" in fed_back
    assert (run_dir / "submission" / "b.py").read_text() == "x = 1"
    assert out.status == "ok" and out.summary == "json done" and out.steps == 3
    assert "Reply with ONE JSON object" in scripted(a).last_prompt[0].content


def test_a_reply_without_tool_calls_is_nudged(run_dir: Path) -> None:
    a = agent(run_dir, ["I think I am done", call("finish", summary="ok")])
    a.run()
    assert any(m.role == "user" and "No tool was called" in m.content for m in a.messages)


def test_token_budget_ends_the_session_cleanly(run_dir: Path) -> None:
    replies = [call("read_file", path="task/description.md") for _ in range(50)]
    a = agent(run_dir, replies, guard=BudgetGuard(Budget(tokens=3000)))
    out = a.run()
    assert out.status == "budget_exhausted" and "token budget" in out.summary
    assert 1 < out.steps < 50


def test_step_limit_ends_the_session(run_dir: Path) -> None:
    a = agent(run_dir, [call("list_files") for _ in range(20)], max_steps=4)
    out = a.run()
    assert out.status == "limit_reached" and out.steps == 4


def test_prompt_stays_under_the_context_window_in_a_long_session(run_dir: Path) -> None:
    window = 6000
    seen: list[int] = []

    def sink(reply: Completion, _latency: float) -> None:
        seen.append(reply.usage.prompt_tokens)

    replies = [call("read_file", path="task/description.md") for _ in range(150)]
    a = agent(
        run_dir,
        [*replies, call("finish", summary="x")],
        window=window,
        on_usage=sink,
        max_steps=200,
    )
    out = a.run()
    assert out.status == "ok" and len(seen) == 151
    # without compaction 150 reads of ~1,250 tokens each would need ~190,000 tokens
    assert max(seen) < window
    assert any("Summary of earlier steps" in m.content for m in a.messages)


def test_usage_is_summed_over_steps(run_dir: Path) -> None:
    a = agent(run_dir, [call("list_files"), call("finish", summary="x")])
    out = a.run()
    assert out.usage.calls == 2 and out.usage.prompt_tokens > 0
    assert json.loads(json.dumps(out.usage.prompt_tokens)) == out.usage.prompt_tokens


def offered(schema: dict[str, object] | None) -> list[str]:
    """Tool names a JSON action schema allows."""
    assert schema is not None
    return [v["properties"]["tool"]["const"] for v in schema["anyOf"]]  # type: ignore[index]


def json_agent(run_dir: Path, replies: list[object], required: tuple[str, ...]) -> Agent:
    ctx = ToolContext(view=WorkspaceView(run_dir, "comprehension"), sandbox=SandboxConfig())
    tools = ToolSet([*read_tools(ctx), *write_tools(ctx), finish_tool(ctx.view, required)])
    return Agent(
        model=with_protocol(ScriptedModel(replies), "json"),
        tools=tools,
        system="You analyse tasks.",
        task="Write paper_analysis/summary.md",
        guard=BudgetGuard(Budget()),
        steered=True,
    )


def test_json_protocol_withholds_finish_until_required_files_exist(run_dir: Path) -> None:
    a = json_agent(
        run_dir,
        [
            '{"tool": "read_file", "arguments": {"path": "task/description.md"}}',
            '{"tool": "write_file", "arguments": {"path": "paper_analysis/summary.md", '
            '"content": "y from x"}}',
            '{"tool": "finish", "arguments": {"summary": "analysed"}}',
        ],
        ("paper_analysis/summary.md",),
    )
    out = a.run()
    schemas = scripted(a).schemas
    assert "finish" not in offered(schemas[0]) and "write_file" in offered(schemas[0])
    assert "finish" in offered(schemas[2])  # the file exists now
    tool_msgs = [m.content for m in a.messages if m.role == "tool"]
    assert tool_msgs[0].endswith("[Before you can finish: write paper_analysis/summary.md.]")
    assert out.status == "ok" and out.summary == "analysed"


def test_a_stalled_json_session_is_narrowed_to_the_missing_write(run_dir: Path) -> None:
    reads = [
        f'{{"tool": "read_file", "arguments": {{"path": "task/{name}.md"}}}}'
        for name in ("description", "structure", "algorithm", "baseline")
    ]
    a = json_agent(
        run_dir,
        [
            *reads,
            '{"tool": "write_file", "arguments": {"path": "paper_analysis/summary.md", '
            '"content": "forced"}}',
            '{"tool": "finish", "arguments": {"summary": "done"}}',
        ],
        ("paper_analysis/summary.md",),
    )
    assert a.run().status == "ok"
    schemas = scripted(a).schemas
    assert all(len(offered(s)) > 1 for s in schemas[:3])  # free choice (finish withheld)
    forced = schemas[3]
    assert offered(forced) == ["write_file"]
    path = forced["anyOf"][0]["properties"]["arguments"]["properties"]["path"]  # type: ignore[index]
    assert path == {"const": "paper_analysis/summary.md"}
    assert len(offered(schemas[5])) > 1  # progress made: free again


def test_the_same_read_twice_in_a_row_is_refused(run_dir: Path) -> None:
    a = agent(
        run_dir,
        [
            call("read_map"),
            call("read_map"),
            call("read_file", path="task/description.md"),
            call("finish", summary="done"),
        ],
        steered=True,
    )
    a.run()
    tool_msgs = [m.content for m in a.messages if m.role == "tool"]
    assert tool_msgs[1].startswith("ERROR: you just called read_map with these same arguments")
    assert tool_msgs[2].startswith("# Predict y")


def test_preloaded_reads_appear_as_the_models_own_calls(run_dir: Path) -> None:
    a = agent(run_dir, ['{"tool": "finish", "arguments": {"summary": "done"}}'], protocol="json")
    a.preload([ToolCall("read_file", {"path": "task/description.md", "limit": 50})])
    assert a.messages[2].role == "assistant" and a.messages[2].tool_calls
    assert a.messages[3].role == "tool" and a.messages[3].content.startswith("# Predict y")
    assert a.run().steps == 1  # preloading cost no model step
    seen = scripted(a).last_prompt[2]  # the model sees the call as its own JSON action
    assert json.loads(seen.content) == {
        "tool": "read_file",
        "arguments": {"path": "task/description.md", "limit": 50},
    }


def test_action_schemas_compile_to_llama_cpp_grammars(run_dir: Path) -> None:
    grammar = pytest.importorskip("llama_cpp.llama_grammar")
    ctx = ToolContext(view=WorkspaceView(run_dir, "implementation"), sandbox=SandboxConfig())
    tools = ToolSet([*read_tools(ctx), *write_tools(ctx), finish_tool()])
    forced = ToolChoice(("write_file",), {"path": "submission/train.py"})
    for schema in (action_schema(tools.specs()), action_schema(tools.specs(), forced)):
        # from_json_schema raises on a schema it cannot turn into a grammar
        assert grammar.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
