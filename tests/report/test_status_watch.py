"""``aiscientist status RUN_DIR --watch``: a live view redrawn from the workspace, that outlives
the driver (it only reads files), ends with the run, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
from headless_browser import REPO
from report_fixtures import NODE_A, BuiltRun, build_run, copy_run
from rich.console import Console

from aiscientist.errors import UserError
from aiscientist.experiments.records import record_attempt, write_spec
from aiscientist.messages import Delegation, ExperimentSpec, RunManifest
from aiscientist.report.status import live_view, watch
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.rundir import read_manifest, write_manifest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltRun:
    return build_run(tmp_path_factory.mktemp("runs"))


def _running_copy(built: BuiltRun, dest: Path) -> Path:
    run_dir = copy_run(built, dest)
    m = read_manifest(run_dir)
    write_manifest(run_dir, msgspec.structs.replace(m, status="running", stage="experimentation"))
    return run_dir


def _text(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_a_frame_shows_champion_running_nodes_budget_and_delegations(
    built: BuiltRun, tmp_path: Path
) -> None:
    run_dir = _running_copy(built, tmp_path)
    console = Console(file=io.StringIO(), width=140)
    console.print(live_view(run_dir))
    out = _text(console)
    assert "champion      0.95  Deeper trees (depth 6) (hyp-better)" in out
    assert f"ffee001122 │ {built.experiments['pending']} │ hyp-pending" in out
    assert "3 done (1 failed), 1 running" in out
    assert "18.3 / 30.0 min" in out and "0.0120 / 1.0000 USD" in out
    assert "step 3: do the experimentation work" in out and "running" in out


def test_watch_follows_the_run_through_a_driver_restart_until_it_ends(
    built: BuiltRun, tmp_path: Path
) -> None:
    run_dir = _running_copy(built, tmp_path)
    # a terminal, so every frame is drawn (a non-terminal gets only the last one)
    console = Console(file=io.StringIO(), width=140, force_terminal=True, color_system=None)
    manifest_bytes = (run_dir / "run.json").read_bytes()
    new = ExperimentSpec(command="python train.py --new", hypothesis_id="hyp-new", seed=9)
    steps: list[str] = []

    def sleep(_s: float) -> None:  # the run moves on between two frames
        steps.append("slept")
        if len(steps) == 1:  # the driver dies mid-rewrite of run.json
            (run_dir / "run.json").unlink()
        elif len(steps) == 2:  # ... and a resumed driver starts a new experiment
            (run_dir / "run.json").write_bytes(manifest_bytes)
            write_spec(run_dir, new)
            record_attempt(run_dir, new.exp_id, NODE_A, 99)
            Journal(run_dir).delegation(
                Delegation(id="del-new", role="helper", instruction="after the restart")
            )
        else:
            m = msgspec.json.decode(manifest_bytes, type=RunManifest)
            write_manifest(run_dir, msgspec.structs.replace(m, status="finished"))

    assert watch(run_dir, console, interval=0.01, sleep=sleep) == "finished"
    assert len(steps) == 3
    out = _text(console)
    flat = " ".join(out.split())
    assert (
        "waiting:" in flat
        and "neither a run directory (no run.json) nor a workspace of runs" in flat
    )
    assert new.exp_id in out and "after the restart" in out


def test_watch_of_a_directory_that_is_no_run_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="neither a run directory"):
        watch(tmp_path, Console(file=io.StringIO()), sleep=lambda _s: None)


def _ctrl_c_as_at_a_terminal() -> None:
    """In the child: SIGINT delivered and not ignored, as a user's shell starts it. A child
    inherits its parent's signal mask and ignored signals; in the full suite (never alone)
    the watch once ignored the test's SIGINT for 60 s with no output."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_ctrl_c_stops_the_watch_cleanly(built: BuiltRun, tmp_path: Path) -> None:
    run_dir = _running_copy(built, tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiscientist.cli",
            "status",
            str(run_dir),
            "--watch",
            "--interval",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "140", "PYTHONUNBUFFERED": "1"},
        preexec_fn=_ctrl_c_as_at_a_terminal,
    )
    assert proc.stderr is not None
    try:  # the CLI starts (a loaded machine takes a while) and says it is watching
        said = ""
        while "watching" not in said:  # warnings an import prints may come first
            line = proc.stderr.readline()
            assert line, said + proc.communicate()[1]
            said += line
        time.sleep(1.0)  # a few redraws
        proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=60)
        err = said + rest
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "stopped watching" in out and "hyp-better" in out


def test_a_workspace_of_runs_is_watched_until_every_run_has_ended(
    built: BuiltRun, tmp_path: Path
) -> None:
    for name, status in (("run-a", "finished"), ("run-b", "running")):
        shutil.copytree(built.run_dir, tmp_path / name)
        m = read_manifest(tmp_path / name)
        write_manifest(tmp_path / name, msgspec.structs.replace(m, run_id=name, status=status))
    (tmp_path / "not-a-run").mkdir()
    console = Console(file=io.StringIO(), width=160, force_terminal=True, color_system=None)
    slept: list[float] = []

    def sleep(s: float) -> None:  # run-b finishes while we watch
        slept.append(s)
        m = read_manifest(tmp_path / "run-b")
        write_manifest(tmp_path / "run-b", msgspec.structs.replace(m, status="finished"))

    assert watch(tmp_path, console, interval=0.01, sleep=sleep) == "ended"
    assert len(slept) == 1
    out = _text(console)
    assert "2 runs in" in out and "run-a" in out and "not-a-run" not in out
    assert "running" in out and "3 done, 1 running" in out and "0.9649" in out
    with pytest.raises(UserError, match="nor a workspace of runs"):
        watch(tmp_path / "not-a-run", console, sleep=lambda _s: None)
