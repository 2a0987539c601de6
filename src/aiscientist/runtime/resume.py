"""``aiscientist resume RUN_DIR``: continue a run from its workspace.

The config is the run's own (from ``run.json``) with new overrides on top (a larger budget,
say). Delegations without a result are dispatched again; experiments with a ``result.json``
are never rerun.
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
