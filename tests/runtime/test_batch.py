"""`aiscientist batch`: the batch file is validated, and a failed run is recorded while the
others still run (on the session's local Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiscientist.errors import ConfigError
from aiscientist.runtime.batch import load_batch, run_batch


def test_batch_file_errors_name_the_key(tmp_path: Path) -> None:
    p = tmp_path / "batch.yaml"
    p.write_text("concurrency: 2\ntasks:\n  - task: tabular-cancer\n    sett: [a=b]\n")
    with pytest.raises(ConfigError, match=r"tasks\.0\.sett"):
        load_batch(p)
    p.write_text("concurrency: 0\ntasks: []\n")
    with pytest.raises(ConfigError, match="concurrency"):
        load_batch(p)


def test_the_shipped_batch_files_are_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "configs"
    for f in [root / "batch.yaml", *sorted((root / "batch-examples").glob("*.yaml"))]:
        assert load_batch(f).tasks, f


@pytest.mark.slow
def test_failed_runs_are_recorded_and_do_not_stop_the_others(
    ray_local: None, tmp_path: Path
) -> None:
    p = tmp_path / "batch.yaml"
    p.write_text(
        json.dumps(
            {
                "concurrency": 1,
                "workspace": str(tmp_path / "runs"),
                "set": ["sandbox.kind=local"],
                "tasks": [
                    {"task": "no-such-task", "name": "missing"},
                    {"task": "tabular-cancer", "name": "bad-model", "model": "scripted:/nope.yaml"},
                ],
            }
        )
    )
    entries = run_batch(load_batch(p))
    assert [e.name for e in entries] == ["missing", "bad-model"]
    missing, bad = entries
    assert missing.status == "failed" and missing.run_dir == "" and "no-such-task" in missing.note
    # the second run was still made after the first failed, and failed on its own account
    assert bad.status == "failed" and bad.run_dir and "nope.yaml" in bad.note
    run_json = json.loads((Path(bad.run_dir) / "run.json").read_text())
    assert run_json["status"] == "failed"
    summary = json.loads(next((tmp_path / "runs").glob("batch-*.json")).read_text())
    assert [e["status"] for e in summary] == ["failed", "failed"]
