"""``aiscientist status RUN_DIR``: where a run stands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiscientist.experiments.records import scan
from aiscientist.messages import RunManifest
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.rundir import read_manifest


@dataclass
class RunStatus:
    manifest: RunManifest
    experiments_done: int
    experiments_running: int
    experiments_failed: int
    delegations: int
    pending_delegations: int

    def rows(self) -> list[tuple[str, str]]:
        m = self.manifest
        s = m.spend
        return [
            ("run", m.run_id),
            ("task", f"{m.task.name} ({m.task.kind})"),
            ("status", m.status),
            ("stage", m.stage),
            (
                "experiments",
                f"{self.experiments_done} done ({self.experiments_failed} failed), "
                f"{self.experiments_running} running",
            ),
            ("delegations", f"{self.delegations} ({self.pending_delegations} without result)"),
            ("best val_score", "-" if m.best_metric is None else f"{m.best_metric:.6g}"),
            ("graded score", "-" if m.score is None else f"{m.score:.6g}"),
            (
                "spend",
                f"{s.model_calls} model calls, {s.tokens} tokens, ${s.usd:.4f}, "
                f"{s.wall_seconds / 60:.1f} min",
            ),
            ("note", m.note or "-"),
        ]


def run_status(run_dir: Path) -> RunStatus:
    """Collect the status of a run from its workspace."""
    manifest = read_manifest(run_dir)
    done = running = failed = 0
    for e in scan(run_dir):
        if e.has_result:
            done += 1
            r = e.result()
            failed += r is None or r.status != "ok"
        elif e.has_spec:
            running += 1
    journal = Journal(run_dir)
    return RunStatus(
        manifest=manifest,
        experiments_done=done,
        experiments_running=running,
        experiments_failed=failed,
        delegations=len(journal.results()) + len(journal.pending()),
        pending_delegations=len(journal.pending()),
    )
