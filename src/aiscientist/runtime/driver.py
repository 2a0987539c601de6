"""The driver of one run: create the run directory, bring up the actors, drive the
orchestrator, grade, and leave ``run.json`` with the final status.

Any failure stops the run cleanly: ``run.json`` says ``failed`` (or ``stopped`` on Ctrl-C)
with a note, the workspace stays intact, and ``aiscientist resume`` continues it.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import ray

from aiscientist.agents.ledger import RunLedger, begin_session
from aiscientist.config import RunConfig
from aiscientist.errors import AIScientistError, ClusterError, TaskError
from aiscientist.experiments.fallback import finalize, write_prior
from aiscientist.experiments.validation import make_dev_split
from aiscientist.messages import SPECIALIST_ROLES, RunManifest, TaskRef
from aiscientist.runtime.actors import ACTOR_RESTARTS, OrchestratorActor, SpecialistActor
from aiscientist.runtime.aide import run_aide
from aiscientist.runtime.cluster import (
    actor_name,
    check_workspace,
    ensure_ray,
    run_within_budget,
)
from aiscientist.runtime.local_model import (
    local_endpoint,
    record_local_model,
    start_local_model,
    stop_local_model,
    uses_local_model,
)
from aiscientist.runtime.peers import run_peers
from aiscientist.runtime.pool import start_pool
from aiscientist.runtime.tree_actor import start_tree
from aiscientist.tasks import Task, load_task
from aiscientist.workspace import regions
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.rundir import copy_public, make_run_dir, read_manifest, write_manifest

Progress = Callable[[str], None]


def _init_submission_repo(sub: Path) -> None:
    """``submission/`` is a git repository from the start (for the reproduce.sh gate)."""
    if (sub / ".git").exists():
        return
    git = ["git", "-C", str(sub)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "config", "user.email", "aiscientist@localhost"], check=True)
    subprocess.run([*git, "config", "user.name", "aiscientist"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "empty submission"], check=True)


def create_run(task_ref: str | Path, config: RunConfig, root: Path | None = None) -> Path:
    """A new run directory for ``task_ref`` with ``run.json`` and the public task files."""
    task = load_task(task_ref)
    root = check_workspace(root or config.workspace.root)
    run_id, run_dir = make_run_dir(root, task.name)
    copy_public(task.root, task.public_files(), run_dir)
    _init_submission_repo(run_dir / "submission")
    if task.kind == "improve" and config.experiments.dev_fraction > 0:
        try:
            split = make_dev_split(
                run_dir, task, config.experiments.dev_fraction, config.experiments.dev_seed
            )
        except (ValueError, KeyError, OSError) as exc:
            raise TaskError(
                f"{task.root}: cannot hold out dev rows from public/train.csv: {exc}; fix the "
                "task or set experiments.dev_fraction=0"
            ) from exc
        Journal(run_dir).decision(
            "dev split", f"{split['dev_rows']} dev rows ({split['strategy']}, seed {split['seed']})"
        )
    if task.kind == "improve":
        try:
            write_prior(run_dir, task)
        except (ValueError, KeyError, OSError) as exc:
            raise TaskError(f"{task.root}: cannot build a prior submission: {exc}") from exc
    now = time.time()
    write_manifest(
        run_dir,
        RunManifest(
            run_id=run_id,
            task=TaskRef(kind=task.kind, name=task.name, source=str(task.root)),
            config=config.model_dump(mode="json"),
            created_at=now,
        ),
    )
    Journal(run_dir).stage("created", "created", f"task {task.name!r} ({task.kind})")
    return run_dir


def _grade(run_dir: Path, task: Task, say: Progress) -> tuple[float | None, dict[str, object]]:
    """Grade as the task's benchmark does (writes ``grade.json``); replicate rubric leaves are
    judged in parallel as Ray tasks."""
    from aiscientist.grading.command import grade_run

    map_fn = model = None
    if task.kind == "replicate":
        from aiscientist.grading.command import judge_model_spec
        from aiscientist.models.registry import make_model
        from aiscientist.runtime.judging import make_ray_map

        map_fn = make_ray_map()
        usage_log = run_dir / regions.usage_log("judge")
        spec = judge_model_spec(read_manifest(run_dir).config)
        model = make_model(spec, "judge", usage_log, local=local_endpoint)
    summary = grade_run(run_dir, model=model, map_fn=map_fn, progress=say)
    score = summary.get("score")
    return (float(score) if isinstance(score, int | float) else None), dict(summary)


def start_actors(run_id: str, run_dir: Path, config: RunConfig) -> tuple[Any, list[Any]]:
    """The run's experiment pool, specialists and orchestrator; returns ``(orchestrator,
    actors to kill at the end)``. Existing ones are re-attached (``get_if_exists``): a pool
    left by a driver that died keeps its running experiments."""
    pool = start_pool(run_id, run_dir, config, ACTOR_RESTARTS)
    actors: list[Any] = [pool]
    for role in SPECIALIST_ROLES:
        actors.append(
            SpecialistActor.options(
                name=actor_name(run_id, role),
                get_if_exists=True,
                max_restarts=ACTOR_RESTARTS,
                num_cpus=0,
                scheduling_strategy="SPREAD",
            ).remote(role, str(run_dir), config)
        )
    orch = OrchestratorActor.options(
        name=actor_name(run_id, "orchestrator"),
        get_if_exists=True,
        max_restarts=ACTOR_RESTARTS,
        num_cpus=0,
    ).remote(run_id, str(run_dir), config)
    return orch, [*actors, orch]


def drive(orch: Any, run_dir: Path, config: RunConfig, say: Progress) -> dict[str, object]:
    """``orch.run()``, called again when the orchestrator died and Ray restarted it (it
    re-enters from the workspace); stopped a little after the wall-clock budget ends."""
    for attempt in range(ACTOR_RESTARTS + 1):
        try:
            return run_within_budget(orch, run_dir, config)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
            if "creation task" in str(exc):  # its constructor raised: restarting cannot help
                raise ClusterError(f"the orchestrator could not start: {_last_line(exc)}") from exc
            if attempt == ACTOR_RESTARTS:
                raise ClusterError(
                    f"orchestrator lost {attempt + 1} times: {exc}; `aiscientist resume` "
                    "continues the run"
                ) from exc
            say(f"orchestrator lost ({type(exc).__name__}); re-entering from the workspace")
            time.sleep(1.0)
    raise AssertionError("unreachable")


def _cause(exc: BaseException) -> str:
    """``Type: message`` of the error itself, unwrapped from the remote tracebacks Ray puts
    around an error raised in an actor (an actor calling an actor nests them)."""
    while isinstance(exc, ray.exceptions.RayTaskError):
        inner = getattr(exc, "cause", None)
        if not isinstance(inner, BaseException) or inner is exc:
            break
        exc = inner
    return f"{type(exc).__name__}: {exc}"


def _last_line(exc: BaseException) -> str:
    """The innermost error of a Ray traceback (its last line, colour codes removed)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


class JournalFollower(threading.Thread):
    """Reports delegations and results as the journal records them (progress on a long run;
    the journal is read, never written)."""

    def __init__(self, run_dir: Path, say: Progress, every_s: float = 2.0) -> None:
        super().__init__(daemon=True, name="journal-follower")
        self.path = run_dir / "journal" / "events.jsonl"
        self.say = say
        self.every_s = every_s
        self.started = time.time()
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        self.done = threading.Event()

    def lines(self) -> list[str]:
        """Progress lines for the events appended since the last call."""
        if not self.path.exists():
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a torn last line is read next time
        self.offset += end
        out = []
        for raw in data[:end].splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            t = f"[{float(event.get('at', time.time())) - self.started:5.0f}s]"
            if event.get("type") == "delegation":
                d = event["delegation"]
                out.append(f"{t} -> {d['role']}: {str(d['instruction'])[:100]}")
            elif event.get("type") == "result":
                r = event["result"]
                summary = str(r["summary"]["text"]).replace("\n", " ")[:120]
                out.append(f"{t} <- {r['role']} {r['status']}: {summary}")
        return out

    def run(self) -> None:
        while not self.done.wait(self.every_s):
            for line in self.lines():
                self.say(line)

    def stop(self) -> None:
        self.done.set()
        for line in self.lines():
            self.say(line)


def execute_run(run_dir: Path, config: RunConfig, progress: Progress | None = None) -> RunManifest:
    """Drive a created (or interrupted) run to an end state; returns the final manifest."""
    say = progress or (lambda _msg: None)
    run_dir = run_dir.resolve()
    manifest = read_manifest(run_dir)
    journal = Journal(run_dir)
    manifest = write_manifest(
        run_dir, msgspec.structs.replace(manifest, status="running", stage="starting")
    )
    journal.stage("starting", "running")
    begin_session(run_dir, manifest.spend.wall_seconds)  # the run's clock (agents.ledger)
    server = None
    actors: list[Any] = []
    try:
        ensure_ray(config)
        server = start_local_model(config)
        if uses_local_model(config):
            say(f"local model server: {record_local_model(run_dir)}")
        say(f"ray up; starting actors for run {manifest.run_id}")
        actors.append(start_tree(manifest.run_id, run_dir, config).handle)
        if config.mode == "decentralized":  # peers share the tree; no orchestrator
            say(f"{config.peers} peers running")
            outcome = run_peers(manifest.run_id, run_dir, config, say, actors)
        elif config.mode == "aide":  # one agent, AIDE's search; no orchestrator
            outcome = run_aide(manifest.run_id, run_dir, config, say, actors)
        else:
            orch, started = start_actors(manifest.run_id, run_dir, config)
            actors += started
            say("orchestrator running")
            follower = JournalFollower(run_dir, say) if progress is not None else None
            if follower is not None:
                follower.start()
            try:
                outcome = drive(orch, run_dir, config, say)
            finally:
                if follower is not None:
                    follower.stop()
        status = "budget_exhausted" if outcome["status"] == "budget_exhausted" else "finished"
        journal.stage("grading", status, str(outcome["summary"])[:500])
        task = load_task(manifest.task.source)
        if task.kind == "improve":  # submission first: never grade a dead end as nothing
            journal.decision("submission", finalize(run_dir, task))
        score, grade = _grade(run_dir, task, say)
        manifest = read_manifest(run_dir)
        manifest = write_manifest(
            run_dir,
            msgspec.structs.replace(
                manifest,
                status=status,
                stage="done",
                spend=RunLedger(run_dir).spend(),
                score=score,
                grade=grade,
                note=str(outcome["summary"])[:500],
            ),
        )
        journal.stage("done", status, f"score={score}")
        say(f"run {status}; score={score}")
        return manifest
    except KeyboardInterrupt:
        _fail(run_dir, journal, "stopped", "interrupted by the user; resume to continue")
        raise
    except (AIScientistError, ray.exceptions.RayError, OSError) as exc:
        _fail(run_dir, journal, "failed", _cause(exc))
        raise
    finally:
        for a in actors:
            try:
                ray.kill(a, no_restart=True)
            except (ValueError, ray.exceptions.RayError):
                pass
        stop_local_model(server)


def _fail(run_dir: Path, journal: Journal, status: str, note: str) -> None:
    m = read_manifest(run_dir)
    spend = RunLedger(run_dir).spend()
    write_manifest(
        run_dir, msgspec.structs.replace(m, status=status, note=note[:1000], spend=spend)
    )
    journal.stage("stopped", status, note[:500])
