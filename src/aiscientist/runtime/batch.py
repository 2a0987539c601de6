"""``aiscientist batch FILE``: many runs at once, locally or as a Ray job.

One driver process connects to Ray once (embedded, or the cluster named by ``RAY_ADDRESS``
inside ``ray job submit``) and drives up to ``concurrency`` runs at a time, each with its own
orchestrator, specialists and experiment pool. A run that fails is recorded with its error and
the others go on. The summary is returned and written to ``<workspace>/batch-<stamp>.json``.

Example file (``configs/batch.yaml``)::

    concurrency: 2
    workspace: runs                 # on a cluster: the shared filesystem mount
    set: [sandbox.kind=local]       # overrides for every run
    tasks:
      - task: tabular-cancer
        model: scripted:configs/scripts/improve-baseline.yaml
      - task: tabular-wine
        set: [budget.wall_minutes=30]
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from pydantic import Field, ValidationError

from aiscientist.config import RunConfig, StrictModel, load_config
from aiscientist.errors import ConfigError
from aiscientist.runtime.cluster import check_workspace, ensure_ray
from aiscientist.runtime.driver import create_run, execute_run
from aiscientist.runtime.local_model import start_local_model, stop_local_model, uses_local_model

Progress = Callable[[str], None]


class BatchTask(StrictModel):
    task: str
    """Task directory or bundled task name."""
    name: str | None = None
    """Label of this run in the summary; default: the task."""
    model: str | None = None
    """Model for every role of this run (like ``run --model``); default: the batch's."""
    config: str | None = None
    """A YAML config file for this run, applied before the overrides."""
    set: list[str] = []
    """``key.sub=value`` overrides for this run, after the batch-wide ones."""


class BatchConfig(StrictModel):
    concurrency: int = Field(default=2, ge=1)
    """Runs in flight at once (each has its own orchestrator and experiment pool)."""
    workspace: str | None = None
    """Root of the run directories; default: ``workspace.root`` of the config."""
    model: str | None = None
    """Model for every role of every run, unless a task names its own."""
    set: list[str] = []
    """``key.sub=value`` overrides for every run."""
    tasks: list[BatchTask] = Field(min_length=1)
    """The runs to make."""


@dataclass
class BatchEntry:
    """How one run of a batch ended."""

    name: str
    task: str
    run_dir: str
    status: str
    score: float | None
    minutes: float
    note: str = ""


def load_batch(path: Path) -> BatchConfig:
    """Read and validate a batch file; errors name the key and the value."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read batch file {str(path)!r}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"batch file {str(path)!r} is not valid YAML: {exc}") from exc
    try:
        return BatchConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        ]
        raise ConfigError(f"invalid batch file {str(path)!r}: " + "; ".join(problems)) from exc


def model_override(model: str | None) -> list[str]:
    """``models.default=...`` with a scripted/replay path made absolute (actors may run
    with another working directory)."""
    if not model:
        return []
    if model.startswith(("scripted:", "replay:")):
        kind, path = model.split(":", 1)
        model = f"{kind}:{Path(path).resolve()}"
    return [f"models.default={model}"]


def task_config(batch: BatchConfig, t: BatchTask) -> RunConfig:
    """The validated config of one task of the batch."""
    sets = [*model_override(t.model or batch.model), *batch.set, *t.set]
    if batch.workspace:
        sets.append(f"workspace.root={Path(batch.workspace).resolve()}")
    return load_config(t.config, sets)


def run_batch(batch: BatchConfig, progress: Progress | None = None) -> list[BatchEntry]:
    """Run every task of ``batch``, ``concurrency`` at a time; never raises for one run."""
    say = progress or (lambda _msg: None)
    configs = [task_config(batch, t) for t in batch.tasks]  # bad overrides fail up front
    for c in configs:  # before any run starts: a lost workspace loses every run
        check_workspace(c.workspace.root)
    ensure_ray(configs[0], log_to_driver=False)
    # One model server for the whole batch (the job), whichever runs use it.
    local = next((c for c in configs if uses_local_model(c)), None)
    server = start_local_model(local) if local is not None else None
    lock = threading.Lock()

    def one(t: BatchTask, cfg: RunConfig) -> BatchEntry:
        name = t.name or t.task
        started = time.monotonic()
        run_dir = ""
        try:
            rd = create_run(t.task, cfg)
            run_dir = str(rd)
            with lock:
                say(f"{name}: started {rd}")
            m = execute_run(rd, cfg)
            entry = BatchEntry(name, t.task, run_dir, m.status, m.score, 0.0, m.note[:300])
        except Exception as exc:  # noqa: BLE001 - a failed run is recorded, the others go on
            entry = BatchEntry(
                name, t.task, run_dir, "failed", None, 0.0, f"{type(exc).__name__}: {exc}"[:300]
            )
        entry.minutes = round((time.monotonic() - started) / 60, 2)
        with lock:
            say(f"{name}: {entry.status} (score {entry.score})")
        return entry

    try:
        with ThreadPoolExecutor(max_workers=batch.concurrency) as pool:
            entries = list(pool.map(one, batch.tasks, configs))
    finally:
        stop_local_model(server)
    root = Path(configs[0].workspace.root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    (root / f"batch-{stamp}.json").write_text(
        json.dumps([asdict(e) for e in entries], indent=2) + "\n"
    )
    return entries
