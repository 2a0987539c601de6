"""``aiscientist resume RUN_DIR``: continue a run from its workspace.

Works after the driver was killed, after actors died, and after the whole cluster restarted,
because everything a run knows is in the run directory:

- **config**: the run's own (from ``run.json``) with new overrides on top (a larger budget).
- **spend**: the run's one budget reads spend from the usage logs on disk
  (``agents.ledger``), so every call made before a crash counts; wall clock is the running
  time of earlier sessions (``run.json``) plus this one's.
- **experiments**: the run's experiment pool is found by name and re-attached when it is
  still alive (its running experiments are not restarted); otherwise a new pool re-queues
  every experiment with a ``spec.json`` and no ``result.json``. A ``result.json`` is final:
  that experiment never runs again.
- **delegations**: pending ones (journaled, no result) are dispatched again first; a
  specialist that already finished one returns its stored result instead of working again.
  The orchestrator then re-drives its agent and its delegations are matched against the
  journal, so completed ones are answered from the journal and never issued twice; one that
  ended ``budget_exhausted`` (or failed) is issued anew. Every result in the journal has
  exactly one delegation.
- **conversations**: the orchestrator's session and a specialist's session cut short are
  resumed from their transcripts, for every model: the replies they recorded are served again
  (not billed, not asked of the model again), then the model carries on
  (``agents/transcript.py``).
"""

from __future__ import annotations

from pathlib import Path

from aiscientist.config import load_config
from aiscientist.messages import RunManifest
from aiscientist.runtime.driver import execute_run
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.rundir import read_manifest


def resume_run(
    run_dir: Path, config_file: Path | None = None, overrides: list[str] | None = None
) -> RunManifest:
    """Continue ``run_dir`` with its config plus ``overrides``."""
    manifest = read_manifest(run_dir)
    config = load_config(config_file, overrides, base=dict(manifest.config))
    Journal(run_dir).decision(
        "resume", f"from status {manifest.status!r}, stage {manifest.stage!r}"
    )
    return execute_run(run_dir, config)
