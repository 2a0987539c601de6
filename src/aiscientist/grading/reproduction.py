"""The reproduction step of grading a replicate run, as PaperBench's: before the judge reads
anything, ``reproduce.sh`` runs in the clean room (a fresh clone of ``submission/`` at HEAD,
in the sandbox) unless the run already has a fresh verdict.

What the step leaves in the run directory::

    reproduce.log                    the output of the run (the replicate gate writes it too)
    reproduction/verdict.json        ``ReproductionRecord``: the verdict, its commit, outputs
    reproduction/submission/         the executed clone: committed files and what the run wrote

and ``run.json``'s ``reproduce_verdict``. A verdict is fresh when it is of the submission's
HEAD commit; a new commit makes it stale. A fresh failed verdict of the replicate gate (its
``reproduce.log`` written after the last commit) is used as it is, so a run that timed out is
not run again; a fresh passed one is run again, because the gate keeps no outputs and the
judge must read the files the run wrote, not whatever lies in the working tree.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import msgspec

from aiscientist.config import SandboxConfig
from aiscientist.errors import ConfigError
from aiscientist.grading.evidence import Evidence
from aiscientist.messages import RunManifest
from aiscientist.sandbox.cleanroom import CleanroomVerdict, host_git, validate_reproduce
from aiscientist.workspace import regions
from aiscientist.workspace.atomic import atomic_write_bytes
from aiscientist.workspace.rundir import read_manifest, write_manifest

LOG = "reproduce.log"
RECORD = "reproduction/verdict.json"
OUTPUT = "reproduction/submission"
ReproduceMode = Literal["auto", "always", "never"]
"""auto: reproduce unless fresh; always: reproduce; never: use what the run has."""


class ReproductionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``reproduction/verdict.json``: one clean-room run made for grading."""

    verdict: CleanroomVerdict
    finished_at: float
    outputs: tuple[str, ...] = ()
    """Files the run created or changed in the clone (git status), relative to it."""
    schema_version: int = 1


def head_commit(submission: Path) -> tuple[str, float] | None:
    """``(sha, commit time)`` of ``submission``'s HEAD; None when it has no commit."""
    out = host_git(submission, "log", "-1", "--format=%H %ct")
    if out.returncode != 0 or not (submission / ".git").exists():
        return None
    sha, _, when = out.stdout.strip().partition(" ")
    try:
        return sha, float(when)
    except ValueError:
        return None


def read_record(run_dir: Path) -> ReproductionRecord | None:
    """The kept reproduction record, or None (absent or unreadable: reproduce again)."""
    path = run_dir / RECORD
    try:
        return msgspec.json.decode(path.read_bytes(), type=ReproductionRecord)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def _evidence(run_dir: Path, record: ReproductionRecord, source: str) -> Evidence:
    clone = run_dir / OUTPUT
    log_file = run_dir / LOG
    log = log_file.read_text(errors="replace") if log_file.is_file() else ""
    v = record.verdict
    short = v.commit[:12] or "no commit"
    return Evidence(
        root=clone if clone.is_dir() else run_dir / "submission",
        log=log,
        ran=v.passed,
        why_not="" if v.passed else f"reproduce.sh {v.status}: {v.reason}",
        outputs=record.outputs,
        source=f"{source} of {short}: {v.status}",
    )


def _gate_evidence(
    run_dir: Path, manifest: RunManifest, head: tuple[str, float] | None
) -> Evidence | None:
    """The replicate gate's verdict in ``run.json`` when it is fresh (its log written after
    the last commit), else None."""
    verdict = manifest.reproduce_verdict
    log_file = run_dir / LOG
    if not verdict or head is None or not log_file.is_file():
        return None
    if log_file.stat().st_mtime < head[1]:
        return None
    sub = run_dir / "submission"
    log = log_file.read_text(errors="replace")
    if verdict.startswith("ok"):
        return Evidence(sub, log, True, source=f"the run's clean-room verdict: {verdict[:80]}")
    return Evidence(
        sub,
        log,
        False,
        f"reproduce.sh {verdict}",
        source=f"the run's clean-room verdict: {verdict[:80]}",
    )


def _settings(config: dict[str, object]) -> tuple[SandboxConfig, float]:
    raw = config.get("sandbox") or {}
    try:
        sandbox = SandboxConfig.model_validate(raw)
    except ValueError as exc:
        raise ConfigError(f"run.json config.sandbox {raw!r} is not valid: {exc}") from exc
    limits = config.get("limits")
    timeout = limits.get("experiment_timeout_s") if isinstance(limits, dict) else None
    return sandbox, float(timeout) if isinstance(timeout, int | float) else 3600.0


def _hidden(run_dir: Path, manifest: RunManifest) -> tuple[Path, ...]:
    """What reproduce.sh must not see: the task's source (its ``private/`` answers), every
    bundled task, and the run's dev labels."""
    from aiscientist.tasks import BUNDLED_DIR

    hide = [Path(manifest.task.source), BUNDLED_DIR]
    hide += [run_dir / h for h in regions.HIDDEN if (run_dir / h).exists()]
    return tuple(hide)


def reproduce(run_dir: Path) -> ReproductionRecord:
    """Run ``reproduce.sh`` in the clean room now, keep the clone and record the verdict (in
    ``reproduction/verdict.json`` and ``run.json``)."""
    from aiscientist.sandbox import make_sandbox
    from aiscientist.sandbox.base import Limits

    run_dir = Path(run_dir).resolve()
    manifest = read_manifest(run_dir)
    sandbox, timeout = _settings(manifest.config)
    clone = run_dir / OUTPUT
    clone.parent.mkdir(parents=True, exist_ok=True)
    verdict = validate_reproduce(
        run_dir / "submission",
        run_dir / LOG,
        make_sandbox(sandbox),
        timeout,
        limits=Limits(hide=_hidden(run_dir, manifest)),
        output_dir=clone,
    )
    outputs: tuple[str, ...] = ()
    if clone.is_dir():
        status = host_git(clone, "status", "--porcelain", "--untracked-files=all")
        outputs = tuple(line[3:].strip() for line in status.stdout.splitlines() if len(line) > 3)
    record = ReproductionRecord(verdict=verdict, finished_at=time.time(), outputs=outputs)
    atomic_write_bytes(
        run_dir / RECORD, msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"
    )
    m = read_manifest(run_dir)
    write_manifest(
        run_dir,
        msgspec.structs.replace(m, reproduce_verdict=f"{verdict.status}: {verdict.reason}"[:500]),
    )
    return record


def ensure_reproduction(run_dir: Path, mode: ReproduceMode = "auto") -> Evidence:
    """The evidence a replicate run's execution and result leaves are judged on, running
    ``reproduce.sh`` first when the run has no fresh verdict (``mode="auto"``)."""
    run_dir = Path(run_dir).resolve()
    sub = run_dir / "submission"
    head = head_commit(sub)
    if mode != "always":
        record = read_record(run_dir)
        if (
            record is not None
            and head is not None
            and record.verdict.commit == head[0]
            and (not record.verdict.passed or (run_dir / OUTPUT).is_dir())
        ):
            return _evidence(run_dir, record, "kept reproduction")
        gate = _gate_evidence(run_dir, read_manifest(run_dir), head)
        if gate is not None and (not gate.ran or mode == "never"):
            return gate
        if mode == "never":
            return Evidence(
                sub,
                "",
                False,
                "the run has no fresh clean-room verdict of its last commit and grading was "
                "told not to run reproduce.sh",
                source="not reproduced (reproduce=never)",
            )
    return _evidence(run_dir, reproduce(run_dir), "reproduced for grading")
