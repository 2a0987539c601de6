"""Experiments on disk: the layout of ``agent/experiments/<exp_id>/`` and the one scanner.

An experiment directory holds ``spec.json`` (written before it is submitted), ``result.json``
(final: an experiment with one never runs again), ``attempts/`` (one record per start),
``work/`` (the working copy it ran in) and ``run.log``. Everyone who lists experiments (the
pool, the board, the status report, the tools, the tree) goes through ``scan``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec

from aiscientist.messages import ExperimentResult, ExperimentSpec
from aiscientist.workspace.atomic import atomic_write_bytes, atomic_write_text, sha256_file

EXPERIMENTS_DIR = "agent/experiments"
"""Where experiment directories live, relative to the run directory."""

T = TypeVar("T")


def exp_dir(run_dir: Path, exp_id: str) -> Path:
    """The directory of experiment ``exp_id``."""
    return run_dir / EXPERIMENTS_DIR / exp_id


def source_digest(submission: Path) -> str:
    """Digest of the code in ``submission/`` (names and contents, ``.git`` excluded)."""
    h = hashlib.sha256()
    for p in sorted(submission.rglob("*")):
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts:
            h.update(p.relative_to(submission).as_posix().encode())
            h.update(sha256_file(p).encode())
    return h.hexdigest()[:16]


def _decode(path: Path, kind: type[T]) -> T | None:
    if not path.exists():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=kind)
    except msgspec.DecodeError:
        return None


def read_result(run_dir: Path, exp_id: str) -> ExperimentResult | None:
    """The final result of an experiment, if it has a readable one."""
    return _decode(exp_dir(run_dir, exp_id) / "result.json", ExperimentResult)


def read_spec(run_dir: Path, exp_id: str) -> ExperimentSpec | None:
    """The spec of an experiment, if it has a readable one."""
    return _decode(exp_dir(run_dir, exp_id) / "spec.json", ExperimentSpec)


def write_spec(run_dir: Path, spec: ExperimentSpec) -> Path:
    """Write ``spec.json`` (before the experiment is submitted); return its directory."""
    d = exp_dir(run_dir, spec.exp_id)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(d / "spec.json", msgspec.json.format(msgspec.json.encode(spec)))
    return d


def write_result(run_dir: Path, result: ExperimentResult) -> None:
    """Write the final ``result.json``."""
    path = exp_dir(run_dir, result.exp_id) / "result.json"
    atomic_write_bytes(path, msgspec.json.format(msgspec.json.encode(result)))


@dataclass(frozen=True)
class Entry:
    """One experiment directory as found by ``scan``."""

    exp_id: str
    path: Path
    has_spec: bool
    has_result: bool

    def spec(self) -> ExperimentSpec | None:
        return _decode(self.path / "spec.json", ExperimentSpec)

    def result(self) -> ExperimentResult | None:
        return _decode(self.path / "result.json", ExperimentResult)


def scan(run_dir: Path) -> list[Entry]:
    """Every experiment directory of the run, by id (one directory listing)."""
    root = run_dir / EXPERIMENTS_DIR
    if not root.is_dir():
        return []
    return [
        Entry(d.name, d, (d / "spec.json").exists(), (d / "result.json").exists())
        for d in sorted(root.iterdir())
        if d.is_dir()
    ]


def finished(run_dir: Path) -> list[ExperimentResult]:
    """The readable results of the run's finished experiments, by id."""
    return [r for e in scan(run_dir) if e.has_result and (r := e.result()) is not None]


def orphans(run_dir: Path) -> list[ExperimentSpec]:
    """Experiments with a ``spec.json`` and no ``result.json``: submitted, not finished."""
    return [
        s for e in scan(run_dir) if e.has_spec and not e.has_result and (s := e.spec()) is not None
    ]


def record_attempt(run_dir: Path, exp_id: str, node: str, pid: int) -> None:
    """Leave ``attempts/<ns>-<node>.json`` (node, pid, start time): one per start."""
    stamp = f"{time.time_ns()}-{node[:8]}"
    atomic_write_text(
        exp_dir(run_dir, exp_id) / "attempts" / f"{stamp}.json",
        json.dumps({"node_id": node, "pid": pid, "started_at": time.time()}),
    )


def attempts(run_dir: Path, exp_id: str) -> list[dict[str, object]]:
    """The attempt records of an experiment, oldest first."""
    d = exp_dir(run_dir, exp_id) / "attempts"
    if not d.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))]
