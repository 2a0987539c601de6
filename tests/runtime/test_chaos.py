"""A seeded slice of the fault campaign (``scripts/chaos.py``): runs on a private two-node Ray
cluster hit at a seeded point -- the hypothesis tree actor killed under a hierarchical run, the
worker node removed under a decentralized one (its peers die with it) -- and resumed if they
did not finish. Each must finish, without hanging, with no torn file, no experiment run again
and no delegation or hypothesis result repeated. The full campaign and its table are in the
README ("Fault tolerance")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_harness import REPO, cli_env

pytestmark = pytest.mark.slow

SEEDS = "8,9"
"""8: hierarchical, the tree actor killed; 9: decentralized, a node removed (``chaos.plan``)."""


def test_seeded_faults_leave_runs_finished_whole_and_without_redone_work(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "chaos.py"), "--seeds", SEEDS]
        + ["--work", str(tmp_path / "work"), "--out", str(out)],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    runs = report["runs"]
    assert [(r["mode"], r["fault"]) for r in runs] == [
        ("hierarchical", "kill-tree"),
        ("decentralized", "remove-node"),
    ]
    for r in runs:
        assert r["injected"], r  # the fault landed while the run was working
        assert r["finished"] and not r["hung"], r
        assert r["torn"] == [] and r["experiments_redone"] == [], r
        assert r["delegations_repeated"] == [], r
