"""Resuming a session from its transcript (no Ray): a specialist session cut short goes on
with a new model object, its recorded replies served again and not billed, and the model
asked only for what comes after them. Real run directory and files; the model is scripted."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from aiscientist.agents.specialists import Specialist
from aiscientist.agents.transcript import recorded_replies
from aiscientist.config import load_config
from aiscientist.errors import ModelFormatError
from aiscientist.messages import Budget, Delegation
from aiscientist.models.scripted import ScriptedModel
from aiscientist.models.usage import calls_made
from aiscientist.runtime.driver import create_run
from aiscientist.workspace.regions import usage_log
from aiscientist.workspace.view import WorkspaceView


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def test_a_specialist_session_cut_short_resumes_from_its_transcript(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        yaml.safe_dump(
            {
                "implementation": [
                    call("write_file", path="submission/train.py", content="print('a')\n"),
                    call("write_file", path="submission/notes.md", content="first try\n"),
                    call("write_file", path="submission/notes.md", content="second try\n"),
                    call("finish", summary="written"),
                ]
            }
        )
    )
    cfg = load_config(overrides=[f"models.default=scripted:{script}", "sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path / "runs")
    d = Delegation(id="del-cut", role="implementation", instruction="write the code")

    first = ScriptedModel.from_file(script, "implementation")
    cut = Specialist("implementation", run_dir, cfg, first)
    # the session stops after two replies, as a killed actor would
    short = cut.handle(Delegation(d.id, d.role, d.instruction, budget=Budget(steps=2)))
    assert short.status == "limit_reached" and first.position == 2

    view = WorkspaceView(run_dir, "implementation")
    assert len(recorded_replies(view, "implementation", d.id)) == 2
    (run_dir / "submission/train.py").unlink()  # the replayed calls are made again
    served = calls_made(run_dir / usage_log("implementation"))
    assert served == 2
    model = ScriptedModel.from_file(script, "implementation", start=served)
    result = Specialist("implementation", run_dir, cfg, model).handle(d)

    assert result.status == "ok", result.summary
    assert model.position == 4  # asked twice: the second notes, then finish
    assert (run_dir / "submission/train.py").read_text() == "print('a')\n"
    assert (run_dir / "submission/notes.md").read_text() == "second try\n"
    assert calls_made(run_dir / usage_log("implementation")) == 4  # replays are not billed
    lines = (run_dir / "journal/transcripts/implementation/del-cut.jsonl").read_text()
    messages = [json.loads(line) for line in lines.splitlines()]
    said = [
        m
        for m in messages
        if m["role"] == "assistant" and not m["tool_calls"][0]["id"].startswith("preload_")
    ]
    assert len(said) == 4, said  # none written twice
    assert sum(m["content"] == "[resumed after 2 recorded replies]" for m in messages) == 1


def test_a_reply_the_protocol_could_not_read_replays_as_one(tmp_path: Path) -> None:
    view_dir = tmp_path / "run"
    path = view_dir / "journal/transcripts/orchestrator/session.jsonl"
    path.parent.mkdir(parents=True)
    rows = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "t"},
        {"role": "assistant", "content": "not json at all"},
        {"role": "user", "content": "ERROR: the reply is not a JSON action"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"name": "finish", "arguments": {"summary": "x"}, "id": "c1"}],
        },
        {"role": "tool", "content": "ok", "tool_call_id": "c1", "name": "finish"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"role": "assist')  # torn
    replies = recorded_replies(WorkspaceView(view_dir, "orchestrator"), "orchestrator", "session")
    assert len(replies) == 2
    assert isinstance(replies[0], ModelFormatError)
    assert str(replies[0]) == "the reply is not a JSON action"
    assert not isinstance(replies[1], ModelFormatError)
    assert replies[1].tool_calls[0].name == "finish"
