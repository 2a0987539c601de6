"""Experiments never block the caller: an agent keeps working while its experiment runs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from aiscientist.agents.specialists import Specialist
from aiscientist.config import load_config
from aiscientist.messages import Budget, Delegation
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run
from aiscientist.runtime.experiments import RayExperimentService


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def test_agent_issues_other_work_while_its_experiment_runs(tmp_path: Path, ray_local: None) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        yaml.safe_dump(
            {
                "experimentation": [
                    call(
                        "submit_experiment",
                        command="sleep 6 && echo '{\"val_score\": 0.5}' > metrics.json",
                        outputs=["metrics.json"],
                    ),
                    call("note", text="planned the next variant while the first one runs"),
                    call("read_file", path="task/description.md"),
                    call("wait_experiments", timeout_s=120),
                    call("finish", summary="done"),
                ]
            }
        )
    )
    cfg = load_config(overrides=[f"models.default=scripted:{script}", "sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path / "runs")
    (run_dir / "submission" / "train.py").write_text("print('hi')\n")
    service = RayExperimentService(run_dir, cfg.sandbox, max_concurrent=2)
    specialist = Specialist(
        "experimentation",
        run_dir,
        cfg,
        ScriptedModel.from_file(script, "experimentation"),
        experiments=service,
    )
    result = specialist.handle(
        Delegation(id="del-async", role="experimentation", instruction="run", budget=Budget())
    )
    assert result.status == "ok"
    calls = [
        json.loads(line)["at"]
        for line in (run_dir / "journal/usage/experimentation.jsonl").read_text().splitlines()
    ]
    (exp,) = list((run_dir / "agent" / "experiments").glob("*/result.json"))
    outcome = json.loads(exp.read_text())
    assert outcome["status"] == "ok" and outcome["metrics"] == {"val_score": 0.5}
    # the note and the read (model calls 2 and 3) came long before the 6-second experiment
    # ended: submitting did not block; only the explicit wait (call 4) did
    assert calls[2] < outcome["finished_at"] - 3
    assert calls[4] >= outcome["finished_at"]
    assert "planned the next variant" in (run_dir / "agent" / "exp_log.md").read_text()
    transcript = (run_dir / "journal/transcripts/experimentation/del-async.jsonl").read_text()
    assert "val_score=0.5" in transcript
