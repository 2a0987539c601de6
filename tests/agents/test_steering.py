"""How a small model (JSON-action protocol) is held to a specialist's contract: an improve
task's implementation runs train.py until submission.csv is valid, in a real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

from aiscientist.agents.specialists import Specialist
from aiscientist.config import load_config
from aiscientist.messages import Delegation
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run

GOOD = (
    "import os, shutil\n"
    "shutil.copy(os.environ['TASK_DIR'] + '/public/sample_submission.csv', 'submission.csv')\n"
)


def act(tool: str, **arguments: object) -> str:
    return json.dumps({"tool": tool, "arguments": arguments})


def offered(schema: dict[str, object]) -> list[str]:
    return [v["properties"]["tool"]["const"] for v in schema["anyOf"]]  # type: ignore[index]


def test_implementation_is_held_to_a_train_py_that_runs(tmp_path: Path) -> None:
    cfg = load_config(overrides=["sandbox.kind=local", "models.tool_protocol=json"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path)
    model = ScriptedModel(
        [
            act("write_file", path="submission/train.py", content="raise SystemExit('boom')\n"),
            act("shell", command="python train.py"),  # fails
            act("read_file", path="task/description.md"),  # no progress: next action forced
            act("write_file", path="submission/train.py", content=GOOD),
            act("shell", command="python train.py"),  # writes a valid submission.csv
            act("finish", summary="train.py runs"),
        ]
    )
    result = Specialist("implementation", run_dir, cfg, model).handle(
        Delegation(id="del-steer", role="implementation", instruction="write train.py")
    )
    assert result.status == "ok" and result.summary.text == "train.py runs"
    names = [offered(s) for s in model.schemas]  # type: ignore[arg-type]
    assert all("finish" not in n for n in names[:5]), "finish withheld until the csv is valid"
    assert names[3] == ["write_file"], "after a failed run and a stalled step: rewrite train.py"
    forced = model.schemas[3]["anyOf"][0]["properties"]["arguments"]["properties"]  # type: ignore[index]
    assert forced["path"] == {"const": "submission/train.py"}
    assert "finish" in names[5]
    assert (run_dir / "submission" / "submission.csv").read_text().startswith("id,target")
    transcript = run_dir / "journal/transcripts/implementation/del-steer.jsonl"
    tools = [json.loads(x) for x in transcript.read_text().splitlines()]
    outs = [m["content"] for m in tools if m["role"] == "tool"]
    assert any("boom" in o and "[Before you can finish: fix submission/train.py" in o for o in outs)
