"""A finished run directory written with the real record writers (manifest, experiment specs
and results, attempts, the tree store, the journal, usage logs, the grader), for the report
tests: fast, and rich enough to exercise every section.

The run has four experiments on two nodes: a root baseline (ok), an improvement whose code
claims more than the framework verified (ok), a failed child with a traceback, and one still
running; the tree has a champion and lessons; the submission is graded on the bundled
``tabular-cancer`` task against its private answers and leaderboard.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import msgspec

from aiscientist.experiments.records import record_attempt, write_result, write_spec
from aiscientist.grading.command import grade_run
from aiscientist.hypotheses import EvidenceNode, LessonNode
from aiscientist.hypotheses.champion import ChampionGate, offer
from aiscientist.hypotheses.store import TreeStore
from aiscientist.messages import (
    Budget,
    DecisionEvent,
    Delegation,
    DelegationEvent,
    ExperimentResult,
    ExperimentSpec,
    Pointer,
    Result,
    ResultEvent,
    RunManifest,
    Spend,
    StageEvent,
    Summary,
    TaskRef,
)
from aiscientist.models.usage import UsageRecord, append_usage
from aiscientist.tasks.loader import BUNDLED_DIR
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.regions import usage_log
from aiscientist.workspace.rundir import write_manifest

TASK = BUNDLED_DIR / "tabular-cancer"
NODE_A = "a1b2c3d4e5f6a7b8c9d0"
NODE_B = "ffee00112233445566778899"
TRAIN_V1 = "import pandas as pd\n\nSEED = 0\nmodel = 'gbm'\nprint('val_score 0.93')\n"
TRAIN_V2 = "import pandas as pd\n\nSEED = 0\nmodel = 'gbm'\ndepth = 6\nprint('val_score 0.99')\n"
TRAIN_V3 = TRAIN_V2.replace("depth = 6", "depth = 60  # too deep")


@dataclass(frozen=True)
class BuiltRun:
    run_dir: Path
    hypotheses: dict[str, str]
    """``root``, ``better``, ``broken``, ``pending`` -> hypothesis id."""
    experiments: dict[str, str]
    """The same keys -> experiment id."""


def _experiment(
    run_dir: Path,
    hyp: str,
    seed: int,
    code: str,
    node: str,
    started: float,
    finished: float | None,
    status: str = "ok",
    reported: float | None = None,
    verified: float | None = None,
    log: str = "",
) -> str:
    spec = ExperimentSpec(
        command="python train.py",
        hypothesis_id=hyp,
        seed=seed,
        description=f"train for {hyp}",
        source_digest=hashlib.sha256(code.encode()).hexdigest()[:16],
    )
    d = write_spec(run_dir, spec)
    (d / "work").mkdir()
    (d / "work" / "train.py").write_text(code)
    (d / "run.log").write_text(log)
    record_attempt(run_dir, spec.exp_id, node, 4242)
    attempt = next((d / "attempts").glob("*.json"))
    attempt.write_text(
        msgspec.json.encode({"node_id": node, "pid": 4242, "started_at": started}).decode()
    )
    if finished is None:
        return spec.exp_id
    result = ExperimentResult(
        exp_id=spec.exp_id,
        status=status,
        exit_code=0 if status == "ok" else 1,  # type: ignore[arg-type]
        metrics={} if reported is None else {"val_score": reported},
        duration_s=finished - started,
        node_id=node,
        log=Pointer(path=str((d / "run.log").relative_to(run_dir))),
        summary=f"exit code {0 if status == 'ok' else 1}",
        reported_score=reported,
        verified_score=verified,
        score=verified if verified is not None else reported,
        started_at=started,
        finished_at=finished,
    )
    write_result(run_dir, result)
    return spec.exp_id


def _tree(run_dir: Path, exps: dict[str, str]) -> dict[str, str]:
    store = TreeStore(run_dir / "tree")
    t = store.tree
    root = t.propose(
        "Gradient boosting baseline",
        author="implementation",
        action="draft",
        description="command: python train.py",
        id="hyp-root",
    )
    t.critique(root, "orchestrator", True, "run it")
    t.claim(root, "experimentation")
    t.start(root, "experimentation")
    ev = t.add_evidence(
        EvidenceNode(
            id="",
            hypothesis_id=root,
            exp_id=exps["root"],
            status="ok",
            metric=0.93,
            summary="exit code 0",
        )
    )
    t.add_lesson(
        LessonNode(
            id="",
            text="Gradient boosting <b>beats</b> the sample",
            evidence_ids=(ev,),
            hypothesis_id=root,
        )
    )
    offer(t, ChampionGate(), ev)
    t.finish(root, "verified", owner="experimentation")
    better = t.propose(
        "Deeper trees (depth 6)",
        parent=root,
        author="prioritization",
        action="improve",
        id="hyp-better",
    )
    t.critique(better, "orchestrator", True)
    t.claim(better, "experimentation")
    t.start(better, "experimentation")
    ev2 = t.add_evidence(
        EvidenceNode(id="", hypothesis_id=better, exp_id=exps["better"], status="ok", metric=0.95)
    )
    offer(t, ChampionGate(), ev2)
    t.add_lesson(
        LessonNode(
            id="",
            text="Depth 6 helps; the code over-reports by 0.04",
            evidence_ids=(ev2,),
            hypothesis_id=better,
        )
    )
    t.finish(better, "verified", owner="experimentation")
    broken = t.propose(
        "Depth 60", parent=better, author="prioritization", action="improve", id="hyp-broken"
    )
    t.critique(broken, "orchestrator", True)
    t.claim(broken, "experimentation")
    t.start(broken, "experimentation")
    t.add_evidence(
        EvidenceNode(id="", hypothesis_id=broken, exp_id=exps["broken"], status="failed")
    )
    t.finish(broken, "refuted", owner="experimentation", note="crashed: out of memory")
    pending = t.propose("Target encoding", parent=better, author="prioritization", id="hyp-pending")
    t.critique(pending, "orchestrator", True)
    t.claim(pending, "experimentation")
    t.start(pending, "experimentation")
    rejected = t.propose("Train on the test set", parent=root, author="helper")
    t.critique(rejected, "orchestrator", False, "leakage")
    store.close()
    return {
        "root": root,
        "better": better,
        "broken": broken,
        "pending": pending,
        "rejected": rejected,
    }


def _journal_and_usage(run_dir: Path, t0: float) -> None:
    journal = Journal(run_dir)
    journal.append(
        StageEvent(stage="created", status="created", note="task 'tabular-cancer'", at=t0)
    )
    journal.append(
        DecisionEvent(kind="champion", detail="hyp-better at 0.95 (seed 2)", at=t0 + 700)
    )
    for i, (role, status) in enumerate(
        [
            ("comprehension", "ok"),
            ("implementation", "ok"),
            ("experimentation", "failed"),
            ("experimentation", None),
        ]
    ):
        d = Delegation(
            id=f"del-{i}",
            role=role,
            instruction=f"step {i}: do the {role} work",  # type: ignore[arg-type]
            budget=Budget(steps=20),
            mode="full" if role == "implementation" else "",
        )
        journal.append(DelegationEvent(delegation=d, at=t0 + 60 * i + 10))
        if status is not None:
            journal.append(
                ResultEvent(
                    result=Result(
                        delegation_id=d.id,
                        role=role,
                        status=status,  # type: ignore[arg-type]
                        summary=Summary(f"{role} finished: {status}"),
                    ),
                    at=t0 + 60 * i + 50,
                )
            )
    for i in range(24):
        role = ["orchestrator", "comprehension", "implementation", "experimentation"][i % 4]
        model = "openai/gpt-4o-mini" if role == "orchestrator" else "local@http://127.0.0.1:1/v1"
        append_usage(
            run_dir / usage_log(role),
            UsageRecord(
                role=role,
                model=model,
                prompt_tokens=800 + 10 * i,
                completion_tokens=40,
                cost_usd=0.002 if role == "orchestrator" else 0.0,
                latency_s=1.5,
                timestamp=t0 + 10 * i,
            ),
        )


def build_run(root: Path, t0: float = 1_796_000_000.0) -> BuiltRun:
    """A finished, graded run directory under ``root``."""
    run_dir = root / "tabular-cancer-20270101-000000-abcdef"
    (run_dir / "submission").mkdir(parents=True)
    (run_dir / "task").mkdir()
    shutil.copy(TASK / "description.md", run_dir / "task" / "description.md")
    manifest = RunManifest(
        run_id=run_dir.name,
        task=TaskRef(kind="improve", name="tabular-cancer", source=str(TASK)),
        config={
            "mode": "hierarchical",
            "models": {"default": "scripted:team.yaml"},
            "budget": {"wall_minutes": 30.0, "usd": 1.0},
        },
        status="running",
        stage="experimentation",
        created_at=t0,
    )
    write_manifest(run_dir, manifest)
    answers = (TASK / "private" / "answers.csv").read_text().splitlines()
    flipped = [
        ln if i % 25 else f"{ln.split(',')[0]},{1 - int(ln.split(',')[1])}"
        for i, ln in enumerate(answers[1:], 1)
    ]
    (run_dir / "submission" / "submission.csv").write_text("\n".join([answers[0], *flipped]) + "\n")
    hyps_first = {k: f"hyp-{k}" for k in ("root", "better", "broken", "pending")}
    exps = {
        "root": _experiment(
            run_dir,
            hyps_first["root"],
            1,
            TRAIN_V1,
            NODE_A,
            t0 + 120,
            t0 + 300,
            reported=0.93,
            verified=0.93,
            log="val_score 0.93\n",
        ),
        "better": _experiment(
            run_dir,
            hyps_first["better"],
            2,
            TRAIN_V2,
            NODE_B,
            t0 + 200,
            t0 + 700,
            reported=0.99,
            verified=0.95,
            log="val_score 0.99\n",
        ),
        "broken": _experiment(
            run_dir,
            hyps_first["broken"],
            3,
            TRAIN_V3,
            NODE_A,
            t0 + 800,
            t0 + 900,
            status="failed",
            log="loading\nTraceback (most recent call last):\nMemoryError\n",
        ),
        "pending": _experiment(run_dir, hyps_first["pending"], 4, TRAIN_V2, NODE_B, t0 + 950, None),
    }
    hyps = _tree(run_dir, exps)
    _journal_and_usage(run_dir, t0)
    summary = grade_run(run_dir)
    grade = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    write_manifest(
        run_dir,
        msgspec.structs.replace(
            manifest,
            status="finished",
            stage="done",
            best_metric=0.95,
            score=summary["score"] if isinstance(summary["score"], float) else None,
            grade=grade,
            spend=Spend(usd=0.012, tokens=22000, wall_seconds=1100.0, model_calls=24),
            note="The run has finished. The submission is valid.",
        ),
    )
    # the run's clock: updated_at is set by write_manifest to now; pin it to the run's end
    data = msgspec.json.decode((run_dir / "run.json").read_bytes())
    data["updated_at"] = t0 + 1100
    (run_dir / "run.json").write_bytes(msgspec.json.format(msgspec.json.encode(data)))
    return BuiltRun(run_dir, hyps, exps)


def copy_run(built: BuiltRun, dest: Path) -> Path:
    """A copy of a built run under ``dest`` (tests that render into it keep theirs apart)."""
    target = dest / built.run_dir.name
    shutil.copytree(built.run_dir, target)
    return target
