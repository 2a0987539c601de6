"""The tree steers a hierarchical team (no Ray): experimentation proposes concrete changes,
the orchestrator critiques them before any compute (a rejected one never runs, and keeps the
critique as its reason), and the orchestrator's status shows the champion, the proposals
awaiting critique and the policy's next pick. Real run directory, real sandboxed experiments
(run in-process by a synchronous service over the real executor), real tree store."""

from __future__ import annotations

from pathlib import Path

import yaml

from aiscientist.agents.baseline import baseline_program
from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.orchestrator import Orchestrator
from aiscientist.agents.specialists import Specialist
from aiscientist.agents.tree_steering import proposal_id
from aiscientist.agents.tree_tools import LocalTree
from aiscientist.config import load_config
from aiscientist.experiments.executor import execute_experiment
from aiscientist.hypotheses.store import TreeStore, load_tree
from aiscientist.messages import Budget, Delegation, ExperimentResult, ExperimentSpec, Result
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run

LEAK = "Fit on the test rows too"
DEEP = "Deeper trees"


class InlineExperiments:
    """Runs each experiment to its end at submit (the real executor and sandbox)."""

    def __init__(self, run_dir: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
        self.run_dir, self.sandbox = run_dir, sandbox
        self.results: dict[str, ExperimentResult] = {}
        self.collected: set[str] = set()

    def submit(self, spec: ExperimentSpec) -> str:
        self.results[spec.exp_id] = execute_experiment(str(self.run_dir), spec, self.sandbox)
        return spec.exp_id

    def wait(self, exp_ids: list[str], timeout: float | None = None) -> list[ExperimentResult]:
        self.collected.update(exp_ids)
        return [self.results[i] for i in exp_ids if i in self.results]

    def running(self) -> list[str]:
        """Finished at submit, but not yet collected: what a wait with no ids returns."""
        return [i for i in self.results if i not in self.collected]


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def test_a_rejected_hypothesis_never_runs_and_the_status_shows_the_tree(tmp_path: Path) -> None:
    leak, deep = proposal_id(LEAK), proposal_id(DEEP)
    script = {
        "orchestrator": [
            call("delegate", role="experimentation", instruction="Propose two changes."),
            call("critique", hypothesis_id=leak, accept=False, note="it leaks the test set"),
            call("critique", hypothesis_id=deep, accept=True, note="worth one run"),
            call("delegate", role="experimentation", instruction=f"Run {deep}."),
            call("finish", summary="done"),
        ],
        "experimentation": [
            call("propose_hypothesis", title=LEAK, change="concat test", expected="+0.05"),
            call("propose_hypothesis", title=DEEP, change="max_depth 8", expected="+0.01"),
            call("finish", summary="proposed two"),
            call("submit_experiment", command="python train.py", hypothesis=leak),
            call("submit_experiment", command="python train.py", hypothesis=deep),
            call("wait_experiments"),
            call("note", text="ran the accepted one"),
            call("finish", summary="ran it"),
        ],
    }
    path = tmp_path / "script.yaml"
    path.write_text(yaml.safe_dump(script))
    cfg = load_config(
        overrides=[f"models.default=scripted:{path}", "sandbox.kind=local", "models.prompts=full"]
    )
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path / "runs")
    (run_dir / "submission" / "train.py").write_text(baseline_program("accuracy"))
    store = TreeStore(run_dir / "tree")
    tree = LocalTree(store.tree)
    exp = Specialist(
        "experimentation",
        run_dir,
        cfg,
        ScriptedModel.from_file(path, "experimentation"),
        InlineExperiments(run_dir, cfg.sandbox),
        tree,
    )

    def dispatch(d: Delegation) -> Result:
        return exp.handle(d)

    valid = (run_dir / "task/public/sample_submission.csv").read_text()
    (run_dir / "submission" / "submission.csv").write_text(valid)
    orch = Orchestrator(
        run_dir,
        cfg,
        ScriptedModel.from_file(path, "orchestrator"),
        dispatch,
        BudgetGuard(Budget()),
        lambda _run_dir: [],
        tree=tree,
    )
    outcome = orch.run()
    store.close()
    assert outcome.status == "ok", outcome.summary
    t = load_tree(run_dir / "tree")
    rejected, accepted = t.hypothesis(leak), t.hypothesis(deep)
    # rejected by critique before compute: abandoned with the critique, no evidence
    assert rejected.state == "abandoned" and not t.evidence_of(leak)
    assert "leaks the test set" in rejected.note
    # the accepted one ran and ended with evidence carrying its verified score
    assert accepted.state in ("verified", "refuted") and len(t.evidence_of(deep)) == 1
    assert t.evidence_of(deep)[0].metric is not None
    assert t.champion is not None and t.champion.hypothesis_id == deep
    # the orchestrator saw the proposals, then the policy's pick
    orch_log = (run_dir / "journal/transcripts/orchestrator/session.jsonl").read_text()
    assert f"Awaiting your critique: {leak}" in orch_log
    assert f"Next by ucb: run {deep}" in orch_log
    assert "Champion: verified score" in orch_log
    # experimentation was refused the rejected hypothesis
    exp_logs = "".join(
        p.read_text() for p in (run_dir / "journal/transcripts/experimentation").iterdir()
    )
    assert "was rejected or abandoned" in exp_logs


def test_a_refine_session_starts_from_the_champion_and_its_test_is_named_by_the_change(
    tmp_path: Path,
) -> None:
    """A steered refine session: submission/ is restored from the champion's experiment
    without its submission.csv, the session is shown the attempts so far and forced first to
    replace a function of train.py (a function that does not parse is refused); the changed
    program runs and writes a valid submission, and the session ends naming the change, both
    without a model call; the experiment that tests it carries the change as its
    hypothesis's title."""
    import json

    from aiscientist.grading.validity import check_submission
    from aiscientist.messages import new_id

    def act(tool: str, **arguments: object) -> str:
        return json.dumps({"tool": tool, "arguments": arguments})

    champion_code = baseline_program("accuracy")
    start = champion_code.index("def add_features")
    same = champion_code[start : champion_code.index("\n\n\n", start)] + "\n"
    new = (
        "```python\ndef make_model(classify):\n"
        "    return RandomForestClassifier(n_estimators=50, random_state=SEED)\n```"
    )
    script = {
        # every call of a steered experimentation session has its arguments fixed (submit the
        # training command described by the instruction, wait for it, report its result):
        # the model is never asked
        "experimentation": [act("finish", summary="not to be asked")],
        "implementation": [
            act("replace_function", path="submission/train.py", name="make_model", code="def ("),
            act(
                "replace_function",
                path="submission/train.py",
                name="add_features",
                code=same,  # the function as the file has it: refused
            ),
            act("replace_function", path="submission/train.py", name="make_model", code=new),
            # then the framework runs it and, the submission valid, reports the change
        ],
    }
    path = tmp_path / "script.yaml"
    path.write_text(yaml.safe_dump(script))
    cfg = load_config(
        overrides=[
            f"models.default=scripted:{path}",
            "sandbox.kind=local",
            "models.tool_protocol=json",
            "models.steering=on",
            # model steps only: the framework's calls (submit, wait, the training run, the
            # reports) are not counted; a batch test with 1 step once re-delegated the same
            # experiment 79 times, each session cut after its submit
            "limits.specialist_steps=3",
        ]
    )
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path / "runs")
    (run_dir / "submission" / "train.py").write_text(champion_code)
    store = TreeStore(run_dir / "tree")
    tree = LocalTree(store.tree)
    pool = InlineExperiments(run_dir, cfg.sandbox)
    exp_model = ScriptedModel.from_file(path, "experimentation")
    exp = Specialist("experimentation", run_dir, cfg, exp_model, pool, tree)
    impl_model = ScriptedModel.from_file(path, "implementation")
    impl = Specialist("implementation", run_dir, cfg, impl_model, None, tree)

    def delegation(role: str, instruction: str, mode: str = "") -> Delegation:
        return Delegation(
            id=new_id("del"), role=role, instruction=instruction, budget=Budget(), mode=mode
        )

    measured = exp.handle(delegation("experimentation", "run the baseline"))
    assert measured.status == "ok" and "verified score" in measured.summary.text
    assert exp_model.schemas == [], "a steered experimentation session needs no model call"
    champion = tree.tree().champion
    assert champion is not None
    # a later program in submission/ that was never verified: refine starts from the champion
    (run_dir / "submission" / "train.py").write_text("print('unverified')\n")
    (run_dir / "submission" / "submission.csv").write_text("id,target\n")
    out = impl.handle(delegation("implementation", "make one change", "refine"))
    assert out.status == "ok", out.summary
    # the change named from the code: the model was asked only for it
    assert out.summary.text == (
        "make_model: returns RandomForestClassifier(n_estimators=50, random_state=SEED)"
    )
    assert len(impl_model.schemas) == 3
    (transcript,) = (run_dir / "journal/transcripts/implementation").iterdir()
    messages = [json.loads(line) for line in transcript.read_text().splitlines()]
    task = messages[1]["content"]
    assert "Attempts so far" in task and "- run the baseline: verified" in task
    preloaded = [m["content"] for m in messages if m["role"] == "tool"]
    assert champion_code[:200] in preloaded[0]  # the champion's program, read first
    # and nothing else: no task statement, data heads or example program to wait through
    calls = [c for m in messages for c in m.get("tool_calls") or []]
    assert [c["arguments"]["path"] for c in calls if c["id"].startswith("preload_")] == [
        "submission/train.py"
    ]
    assert "refine session" in messages[0]["content"]
    assert "A program that already does this" not in messages[0]["content"]
    impl_log = (run_dir / "agent/impl_log.md").read_text()
    assert "restored from the champion" in impl_log and "submission.csv removed" in impl_log
    # forced to change a function until the program changed; the broken one was refused
    for schema in impl_model.schemas[:3]:
        forced = schema["anyOf"][0]["properties"]  # type: ignore[index]
        assert forced["tool"] == {"const": "replace_function"}
    said = transcript.read_text()
    assert "submission/train.py unchanged: the code has a SyntaxError" in said
    assert "that add_features is the one the file has" in said
    code = (run_dir / "submission/train.py").read_text()
    assert "RandomForestClassifier(n_estimators=50" in code
    assert "from sklearn.ensemble import RandomForestClassifier" in code  # the import added
    sample = run_dir / "task/public/sample_submission.csv"
    assert check_submission(run_dir / "submission/submission.csv", sample) == []
    # its experiment is named by the change (the scripted description is overridden)
    test = delegation("experimentation", "test the change: a random forest")
    assert exp.handle(test).status == "ok"
    titles = [h.title for h in tree.tree().hypotheses()]
    store.close()
    assert titles == ["run the baseline", "test the change: a random forest"]
