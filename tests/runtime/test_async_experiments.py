"""Experiments never block the caller: an agent keeps working while its experiment runs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from aiscientist.agents.specialists import Specialist
from aiscientist.agents.steering import steer_tools
from aiscientist.agents.tools import ToolSet
from aiscientist.config import load_config
from aiscientist.experiments.pool import ExperimentPool
from aiscientist.experiments.tools import experiment_tools
from aiscientist.messages import Budget, Delegation
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run
from aiscientist.runtime.pool import RayLauncher
from aiscientist.workspace.view import WorkspaceView


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
    service = ExperimentPool(run_dir, cfg.sandbox, RayLauncher(), max_concurrent=2)
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
        json.loads(line)["timestamp"]
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


def test_experiment_no_node_can_run_is_refused_at_submit(tmp_path: Path, ray_local: None) -> None:
    """A GPU asked of a GPU-less cluster used to wait unscheduled until the session ran out of
    steps; it is refused at once (through the pool actor, as in a run), nothing is left on
    disk to re-queue, and the session goes on with an experiment that fits."""
    import ray

    from aiscientist.runtime.cluster import actor_name
    from aiscientist.runtime.pool import PoolActor, PoolClient

    assert not ray.cluster_resources().get("GPU")
    fits = "echo '{\"val_score\": 0.7}' > metrics.json"
    script = tmp_path / "script.yaml"
    script.write_text(
        yaml.safe_dump(
            {
                "experimentation": [
                    call("submit_experiment", command="python train.py", num_gpus=1),
                    call("submit_experiment", command=fits, outputs=["metrics.json"]),
                    call("wait_experiments", timeout_s=120),
                    call("finish", summary="done"),
                ]
            }
        )
    )
    cfg = load_config(overrides=[f"models.default=scripted:{script}", "sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path / "runs")
    (run_dir / "submission" / "train.py").write_text("print('hi')\n")
    name = actor_name("refuse-test", "executor")
    pool = PoolActor.options(name=name, max_concurrency=4, num_cpus=0).remote(
        str(run_dir), cfg.sandbox, RayLauncher(), 2
    )
    try:
        specialist = Specialist(
            "experimentation",
            run_dir,
            cfg,
            ScriptedModel.from_file(script, "experimentation"),
            experiments=PoolClient(name, namespace="aiscientist-tests", patience_s=10),
        )
        result = specialist.handle(
            Delegation(id="del-gpu", role="experimentation", instruction="run", budget=Budget())
        )
        # after a refusal, the next submit a steered model is held to asks the configured demand
        view = WorkspaceView(run_dir, "experimentation")
        client = PoolClient(name, namespace="aiscientist-tests", patience_s=10)
        box = ToolSet(
            steer_tools(
                "experimentation", "improve", experiment_tools(view, client, cfg), view, num_gpus=0
            )
        )
        assert box.call("submit_experiment", {"command": "true", "num_gpus": 2}).startswith(
            "ERROR: experiment refused"
        )
        (todo,) = box.todo()
        assert todo.tool == "submit_experiment" and todo.fixed["num_gpus"] == 0
    finally:
        ray.kill(pool)
    assert result.status == "ok"
    lines = (run_dir / "journal/transcripts/experimentation/del-gpu.jsonl").read_text()
    refusal = next(
        m["content"]
        for m in map(json.loads, lines.splitlines())
        if m.get("role") == "tool" and "refused" in str(m.get("content"))
    )
    # the model reads the reason itself, not a remote traceback around it
    assert refusal.startswith("ERROR: experiment refused: it asks for CPU=1, GPU=1"), refusal
    assert "largest node has GPU=0" in refusal and "ray::" not in refusal
    specs = list((run_dir / "agent" / "experiments").glob("*/spec.json"))
    assert len(specs) == 1  # only the one that fits was recorded (and would be re-queued)
    (res,) = list((run_dir / "agent" / "experiments").glob("*/result.json"))
    assert json.loads(res.read_text())["metrics"] == {"val_score": 0.7}


def test_infeasible_reason_names_the_shortfall() -> None:
    from aiscientist.runtime.cluster import infeasible_reason

    gib = 1024.0**3
    nodes = [
        {"Alive": True, "Resources": {"CPU": 8.0, "memory": 30 * gib}},
        {"Alive": True, "Resources": {"CPU": 2.0, "GPU": 1.0, "memory": 8 * gib}},
        {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0, "memory": 500 * gib}},
    ]
    assert infeasible_reason({"CPU": 2, "GPU": 1}, nodes) is None
    assert infeasible_reason({"CPU": 8, "memory": 16 * gib}, nodes) is None
    why = infeasible_reason({"GPU": 2}, nodes)
    assert why is not None and "GPU (largest node has GPU=1)" in why and "of 2" in why
    # each resource exists somewhere, but never together on one live node
    why = infeasible_reason({"CPU": 4, "GPU": 1}, nodes)
    assert why is not None and "no single node has all of it" in why
    why = infeasible_reason({"CPU": 1}, [])
    assert why is not None and "no live node" in why


def test_a_wait_at_timeout_zero_collects_what_ended_and_unknown_ids_are_named(
    tmp_path: Path, ray_local: None
) -> None:
    """What kept a 1.5B model's experimentation session waiting for 7 minutes on an
    experiment that had ended in 5 s: it asked with timeout 0 (answered "still running"
    without looking) and with an id it made up (answered "still running" too)."""
    import time

    from aiscientist.errors import ToolError

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path / "runs")
    (run_dir / "submission" / "train.py").write_text("print('hi')\n")
    service = ExperimentPool(run_dir, cfg.sandbox, RayLauncher(), max_concurrent=2)
    tools = ToolSet(experiment_tools(WorkspaceView(run_dir, "experimentation"), service, cfg))
    out = tools.tools["submit_experiment"].fn(
        tools.tools["submit_experiment"].args(command="echo '{\"val_score\": 0.5}' > metrics.json")
    )
    exp_id = out.split()[1].rstrip(";")
    wait = tools.tools["wait_experiments"]
    try:
        wait.fn(wait.args(exp_ids=["your_experiment_id"]))
        raise AssertionError("an unknown id was accepted")
    except ToolError as exc:
        assert "no experiment your_experiment_id" in str(exc) and exp_id in str(exc)
    deadline = time.monotonic() + 60
    answer = ""
    while time.monotonic() < deadline:
        answer = wait.fn(wait.args(exp_ids=[exp_id], timeout_s=0))
        if "still running" not in answer:
            break
        time.sleep(1)
    assert answer.startswith(f"{exp_id}: ok"), answer
