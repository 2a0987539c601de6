"""The orchestrator and specialists as plain classes (no Ray): delegation, hand-offs, the
finish gate, tiered comprehension, and a bounded prompt over a long run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.loop import SETTLED_SPARE
from aiscientist.agents.orchestrator import Orchestrator
from aiscientist.agents.specialists import Specialist
from aiscientist.agents.steering import first_loop, first_loop_next
from aiscientist.config import load_config
from aiscientist.messages import SPECIALIST_ROLES, Budget, Delegation, Result, Summary
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.actors import submission_validator
from aiscientist.runtime.driver import create_run
from aiscientist.tasks import load_task


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def setup_run(  # type: ignore[no-untyped-def]
    tmp_path: Path,
    script: dict[str, list[object]],
    window: int = 32768,
    protocol: str = "auto",
    task_name: str = "tabular-cancer",
):
    path = tmp_path / "script.yaml"
    path.write_text(yaml.safe_dump(script))
    cfg = load_config(
        overrides=[
            f"models.default=scripted:{path}",
            "sandbox.kind=local",
            f"models.tool_protocol={protocol}",
            f"models.steering={'on' if protocol == 'json' else 'auto'}",
        ]
    )
    run_dir = create_run(task_name, cfg, root=tmp_path / "runs")
    specialists = {
        role: Specialist(role, run_dir, cfg, ScriptedModel.from_file(path, role))
        for role in SPECIALIST_ROLES
    }
    log: list[Delegation] = []

    def dispatch(d: Delegation) -> Result:
        log.append(d)
        return specialists[d.role].handle(d)

    model = ScriptedModel.from_file(path, "orchestrator")
    model._window = window
    task = load_task(task_name)
    orch = Orchestrator(
        run_dir, cfg, model, dispatch, BudgetGuard(Budget()), submission_validator(task)
    )
    return run_dir, orch, log


def orch_messages(run_dir: Path) -> list[dict[str, object]]:
    path = run_dir / "journal/transcripts/orchestrator/session.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def valid_submission() -> str:
    sample = pd.read_csv(load_task("tabular-cancer").sample_submission)  # type: ignore[arg-type]
    return sample.to_csv(index=False)


def test_finish_is_refused_until_the_submission_is_valid(tmp_path: Path) -> None:
    run_dir, orch, log = setup_run(
        tmp_path,
        {
            "orchestrator": [
                call("finish", summary="too early"),
                call("delegate", role="implementation", instruction="write a bad csv"),
                call("finish", summary="still bad"),
                call("delegate", role="implementation", instruction="write a good csv"),
                call("finish", summary="valid now"),
            ],
            "implementation": [
                call("write_file", path="submission/train.py", content="print('training')\n"),
                call("write_file", path="submission/submission.csv", content="id,wrong\n1,2\n"),
                call("finish", summary="bad csv"),
                call("write_file", path="submission/submission.csv", content=valid_submission()),
                call("finish", summary="good csv"),
            ],
        },
    )
    out = orch.run()
    assert out.status == "ok" and out.summary == "valid now"
    usage = (run_dir / "journal/usage/orchestrator.jsonl").read_text().splitlines()
    assert len(usage) == 5
    assert [d.role for d in log] == ["implementation", "implementation"]


def test_finish_gate_messages_name_the_problem(tmp_path: Path) -> None:
    run_dir, orch, _ = setup_run(
        tmp_path,
        {
            "orchestrator": [
                call("finish", summary="too early"),
                call("delegate", role="implementation", instruction="bad csv"),
                call("finish", summary="bad"),
            ],
            "implementation": [
                call("write_file", path="submission/train.py", content="print('training')\n"),
                call("write_file", path="submission/submission.csv", content="id,wrong\n1,2\n"),
                call("finish", summary="bad csv"),
            ],
        },
    )
    orch.run(max_steps=3)
    # the orchestrator's transcript is not persisted; re-run the gate to read its messages
    problems = submission_validator(load_task("tabular-cancer"))(run_dir)
    assert any("missing columns" in p and "'target'" in p for p in problems)


def test_handoff_pointer_reaches_experimentation(tmp_path: Path) -> None:
    run_dir, orch, log = setup_run(
        tmp_path,
        {
            "orchestrator": [
                call("delegate", role="implementation", instruction="note something"),
                call("delegate", role="experimentation", instruction="look at impl log"),
            ],
            "implementation": [call("note", text="wrote nothing"), call("finish", summary="i")],
            "experimentation": [call("finish", summary="e")],
        },
    )
    orch.run(max_steps=2)
    assert [p.path for p in log[1].inputs] == ["agent/impl_log.md"]
    assert "wrote nothing" in (run_dir / "agent/impl_log.md").read_text()


def test_tiered_comprehension_runs_structure_then_three_readers_then_synthesis(
    tmp_path: Path,
) -> None:
    def reader(out: str) -> list[object]:
        return [
            call("read_file", path="task/description.md"),
            call("write_file", path=f"paper_analysis/{out}", content=f"# {out}\n"),
            call("finish", summary=f"wrote {out}"),
        ]

    run_dir, orch, _ = setup_run(
        tmp_path,
        {
            "orchestrator": [call("delegate", role="comprehension", instruction="read")],
            "comprehension": [call("finish", summary="single session: must not be used")],
            "comprehension.structure": reader("structure.md"),
            "comprehension.algorithm": reader("algorithm.md"),
            "comprehension.experiments": reader("experiments.md"),
            "comprehension.baseline": reader("baseline.md"),
            "comprehension.synthesis": [
                call("read_file", path="paper_analysis/algorithm.md"),
                call("write_file", path="paper_analysis/summary.md", content="# summary\n"),
                call("write_file", path="paper_analysis/targets.json", content="{}"),
                call("finish", summary="synthesised"),
            ],
        },
    )
    orch.run(max_steps=1)
    pa = run_dir / "paper_analysis"
    mtime = {p.name: p.stat().st_mtime_ns for p in pa.iterdir()}
    assert set(mtime) == {
        "structure.md",
        "algorithm.md",
        "experiments.md",
        "baseline.md",
        "summary.md",
        "targets.json",
    }
    middle = [mtime["algorithm.md"], mtime["experiments.md"], mtime["baseline.md"]]
    assert mtime["structure.md"] < min(middle) and max(middle) < mtime["summary.md"]
    calls = (run_dir / "journal/usage/comprehension.jsonl").read_text().splitlines()
    assert len(calls) == 3 * 4 + 4


@pytest.mark.slow
def test_orchestrator_prompt_stays_bounded_over_300_delegations(tmp_path: Path) -> None:
    window = 8000
    run_dir, orch, log = setup_run(
        tmp_path,
        {
            "orchestrator": [
                call("delegate", role="helper", instruction=f"job {i}: " + "details " * 40)
                for i in range(300)
            ],
            "helper": [call("finish", summary="done " * 60) for _ in range(300)],
        },
        window=window,
    )
    orch.run(max_steps=300)
    assert len(log) == 300
    prompts = [
        json.loads(line)["prompt_tokens"]
        for line in (run_dir / "journal/usage/orchestrator.jsonl").read_text().splitlines()
    ]
    assert len(prompts) == 300 and max(prompts) < window
    assert max(prompts[200:]) <= 1.5 * max(prompts[20:40])


def test_first_loop_steps_are_matched_in_order_by_role() -> None:
    assert first_loop_next([]) == 0
    assert first_loop_next([("comprehension", "ok"), ("comprehension", "ok")]) == 1
    assert first_loop_next([("comprehension", "failed"), ("prioritization", "ok")]) == 0
    done = ["comprehension", "prioritization", "implementation", "experimentation"]
    assert first_loop_next([(r, "ok") for r in done]) == 4
    everything = [(r, "ok") for r in [*done, "implementation"]]
    assert first_loop_next(everything) == len(first_loop("replicate"))
    # an improve task starts with its code: reading and ranking are not steps of its loop
    assert [role for role, _ in first_loop("improve")][:2] == ["implementation", "experimentation"]
    assert first_loop_next([("comprehension", "ok")], "improve") == 0
    assert first_loop_next(everything, "improve") == len(first_loop("improve"))


def test_a_small_model_on_an_improve_task_starts_with_its_code(tmp_path: Path) -> None:
    def act(tool: str, **arguments: object) -> str:
        return json.dumps({"tool": tool, "arguments": arguments})

    run_dir, orch, log = setup_run(
        tmp_path,
        {"orchestrator": [act("delegate", role="comprehension", instruction="read")]},
        protocol="json",
    )
    sent: list[Delegation] = []

    def dispatch(d: Delegation) -> Result:
        sent.append(d)
        return Result(delegation_id=d.id, role=d.role, status="ok", summary=Summary("done"))

    orch.dispatch = dispatch
    orch.run(max_steps=1)
    # the first step is fixed whole (the framework's program first): the model is not asked
    assert [(d.role, d.mode, d.instruction) for d in sent][:1] == [
        ("implementation", "full", "write the code in submission/")
    ]
    first = next(m for m in orch_messages(run_dir) if m["role"] == "assistant")
    assert first["tool_calls"][0]["id"].startswith("steered_")
    prompt = str(orch_messages(run_dir)[1]["content"])
    assert "1. implementation (mode full)" in prompt and "prioritization" not in prompt


def test_a_small_model_is_steered_through_the_first_loop(tmp_path: Path) -> None:
    def act(tool: str, **arguments: object) -> str:
        return json.dumps({"tool": tool, "arguments": arguments})

    comprehend = act("delegate", role="comprehension", instruction="read the task")
    run_dir, orch, log = setup_run(
        tmp_path,
        {
            "orchestrator": [
                comprehend,
                comprehend,  # a repeat (a scripted model ignores the schema it is given)
                act("finish", summary="stopping"),
            ],
            "comprehension": [
                act("write_file", path="paper_analysis/summary.md", content="predict y"),
                act("finish", summary="analysed"),
            ],
            "prioritization": [
                act("write_file", path="agent/prioritized_tasks.md", content="- P0 baseline"),
                act("finish", summary="ranked"),
            ],
        },
        protocol="json",
        task_name="rff-ridge",  # a paper: read and ranked before any code
    )
    out = orch.run(max_steps=3)
    schemas = orch.model.schemas  # type: ignore[attr-defined]
    # the repeat was forced to the next step: its fixed role holds whatever the model wrote,
    # its instruction is the model's
    assert [d.role for d in log] == ["comprehension", "prioritization"]
    assert log[1].instruction == "read the task"
    # each action is narrowed to the next step of the first loop; the model writes the rest
    expected = ["comprehension", "prioritization", "implementation"]
    for schema, role in zip(schemas, expected, strict=True):
        (only,) = schema["anyOf"]
        assert only["properties"]["tool"] == {"const": "delegate"}
        assert only["properties"]["arguments"]["properties"]["role"] == {"const": role}
    assert schemas[2]["anyOf"][0]["properties"]["arguments"]["properties"]["mode"] == {
        "const": "full"
    }
    # no reproduction yet: the run does not end ok
    assert out.status == "limit_reached"
    first = [m for m in orch_messages(run_dir) if m["role"] == "tool"][0]["content"]
    assert "[Next: delegate prioritization: step 2 of the first loop.]" in first
    assert "[Before you can finish:" in first


def test_a_resumed_session_replays_its_transcript_and_continues_its_first_loop(
    tmp_path: Path,
) -> None:
    """An orchestrator session cut short after two delegations is resumed by a new process
    with a new model: the two replies come from the transcript (the model is asked once, for
    the third step), the session's first loop goes on with implementation, and the transcript
    holds each reply once."""
    from aiscientist.messages import Summary

    def act(tool: str, **arguments: object) -> str:
        return json.dumps({"tool": tool, "arguments": arguments})

    script = {
        "orchestrator": [
            act("delegate", role="comprehension", instruction="read the task"),
            act("delegate", role="prioritization", instruction="rank the work"),
            act("finish", summary="stopping"),
        ]
    }
    # a paper: its first loop reads and ranks before any code
    run_dir, orch, _ = setup_run(tmp_path, script, protocol="json", task_name="rff-ridge")
    sent: list[Delegation] = []

    def dispatch(d: Delegation) -> Result:
        sent.append(d)
        return Result(delegation_id=d.id, role=d.role, status="ok", summary=Summary("done"))

    orch.dispatch = dispatch
    orch.run(max_steps=2)  # then the process dies
    assert [d.role for d in sent] == ["comprehension", "prioritization"]
    model = ScriptedModel.from_file(tmp_path / "script.yaml", "orchestrator", start=2)
    resumed = Orchestrator(
        run_dir,
        orch.config,
        model,
        dispatch,
        BudgetGuard(Budget()),
        orch.validate_submission,  # no submission yet: the first loop's next step is forced
    )
    resumed.run(max_steps=3)
    (schema,) = model.schemas  # asked once: the first two replies were the transcript's
    (only,) = schema["anyOf"]  # type: ignore[index]
    # not comprehension again: the next step of the first loop is implementation
    assert only["properties"]["arguments"]["properties"]["role"] == {"const": "implementation"}
    # the replayed delegate calls reach dispatch again (the runtime answers them from the
    # journal: tests/runtime/test_resume.py), with the same instructions
    assert [d.instruction for d in sent[2:]] == ["read the task", "rank the work"]
    messages = orch_messages(run_dir)
    said = [m for m in messages if m["role"] == "assistant"]
    assert len(said) == 3, said  # two before the crash, one after; none written twice
    assert sum("[resumed after 2 recorded replies]" in str(m["content"]) for m in messages) == 1


def test_an_improve_run_refines_the_champion_after_its_first_loop(tmp_path: Path) -> None:
    """After an improve task's first loop, with a valid submission, a steered orchestrator is
    walked through the refine loop until its budget ends: one change to the champion's
    program, then an experiment named by that change. The forced calls keep their fixed role,
    mode and instruction whatever the model writes; those whose every argument is fixed are
    made without asking it."""
    from aiscientist.agents.steering import REFINE_INSTRUCTION
    from aiscientist.messages import Summary

    def act(tool: str, **arguments: object) -> str:
        return json.dumps({"tool": tool, "arguments": arguments})

    loose = act("delegate", role="helper", instruction="run the training command")
    run_dir, orch, _ = setup_run(tmp_path, {"orchestrator": [loose] * 7}, protocol="json")
    (run_dir / "submission" / "submission.csv").write_text(valid_submission())
    sent: list[Delegation] = []
    said = {"implementation": "used an SVC with an RBF kernel", "experimentation": "ran it"}

    def dispatch(d: Delegation) -> Result:
        sent.append(d)
        summary = Summary(said.get(d.role, "done") + f" ({len(sent)})")
        return Result(delegation_id=d.id, role=d.role, status="ok", summary=summary)

    orch.dispatch = dispatch
    out = orch.run(max_steps=7)
    assert out.status == "limit_reached"  # never finishes on its own while budget lasts
    # no model step is taken: the calls made for the model are bounded on their own
    assert len(sent) == 7 + SETTLED_SPARE
    steps = [(d.role, d.mode) for d in sent][:7]
    assert steps == [
        ("implementation", "full"),
        ("experimentation", ""),
        *[("implementation", "refine"), ("experimentation", "")] * 2,
        ("implementation", "refine"),
    ]
    assert sent[0].instruction == "write the code in submission/"  # fixed: not the model's
    assert sent[1].instruction == "test the change: used an SVC with an RBF kernel (1)"
    assert sent[2].instruction == sent[4].instruction == REFINE_INSTRUCTION
    assert sent[3].instruction == "test the change: used an SVC with an RBF kernel (3)"
    assert sent[5].instruction == "test the change: used an SVC with an RBF kernel (5)"
    # an improve task's delegations have every argument fixed: made without the model
    assert orch.model.schemas == []  # type: ignore[attr-defined]
    assert "Then the refine loop" in str(orch_messages(run_dir)[1]["content"])


def test_a_refine_that_changed_nothing_is_followed_by_another_change(tmp_path: Path) -> None:
    """A refine session whose change failed (the program back to the champion's) reports
    that it changed nothing: the orchestrator asks for another change, not an experiment of
    the champion under the failed change's name."""
    from aiscientist.agents.train_steering import NO_CHANGE

    run_dir, orch, _ = setup_run(tmp_path, {"orchestrator": []}, protocol="json")
    (run_dir / "submission" / "submission.csv").write_text(valid_submission())
    sent: list[Delegation] = []

    def dispatch(d: Delegation) -> Result:
        sent.append(d)
        text = f"{NO_CHANGE}: 3 runs failed" if d.mode == "refine" and len(sent) < 5 else "ok"
        return Result(delegation_id=d.id, role=d.role, status="ok", summary=Summary(text))

    orch.dispatch = dispatch
    orch.run(max_steps=6)
    assert [(d.role, d.mode) for d in sent][:6] == [
        ("implementation", "full"),
        ("experimentation", ""),
        ("implementation", "refine"),
        ("implementation", "refine"),
        ("implementation", "refine"),
        ("experimentation", ""),
    ]
    assert sent[5].instruction == "test the change: ok"
