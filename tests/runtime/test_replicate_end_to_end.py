"""The bundled replicate task end to end with a scripted team on real local Ray: the finish
gate runs reproduce.sh in a clean room, and the run is graded on the rubric."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiscientist.config import load_config
from aiscientist.runtime.driver import create_run, execute_run

SCRIPT = Path(__file__).resolve().parents[2] / "configs" / "scripts" / "replicate-baseline.yaml"


@pytest.mark.slow
def test_replicate_run_is_validated_in_a_clean_room_and_graded(
    tmp_path: Path, ray_local: None
) -> None:
    cfg = load_config(overrides=[f"models.default=scripted:{SCRIPT}", "sandbox.kind=local"])
    run_dir = create_run("rff-ridge", cfg, root=tmp_path)
    manifest = execute_run(run_dir, cfg)
    assert manifest.status == "finished"
    assert manifest.reproduce_verdict is not None
    assert manifest.reproduce_verdict.startswith("ok")
    log = (run_dir / "reproduce.log").read_text()
    assert "wrote results.json" in log and "rff D=4000" in log
    grade = json.loads((run_dir / "grade.json").read_text())
    assert manifest.score == pytest.approx(1.0)
    assert grade["leaves_total"] == 19 and grade["leaves_judged"] == 19
    # agents never saw the rubric or the task config
    assert not (run_dir / "task" / "rubric.json").exists()
    assert (run_dir / "task" / "paper.md").exists()
