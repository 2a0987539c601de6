"""The experiment path under both sandboxes: a real run directory, the executor, a real
``train.py``, run with bubblewrap locally and in the Docker executor image.

An honest experiment (agents/baseline.py's program on the bundled tabular-cancer task) gets
a valid submission in each; a hostile one (reading the hidden answers, writing other roles'
regions, reaching the network, looking for secrets) gets nothing in each.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiscientist.agents.baseline import baseline_program
from aiscientist.config import SandboxConfig, load_config
from aiscientist.experiments.executor import execute_experiment
from aiscientist.grading.competition import grade_competition
from aiscientist.messages import ExperimentSpec
from aiscientist.runtime.driver import create_run
from aiscientist.tasks import BUNDLED_DIR, load_task

TASK = "tabular-cancer"


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox_cfg(request: pytest.FixtureRequest) -> SandboxConfig:
    """The configuration of each backend an experiment can run in (local = bubblewrap)."""
    if request.param == "local":
        if shutil.which("bwrap") is None:
            pytest.skip("bubblewrap is not installed (run scripts/setup_system.sh)")
        return SandboxConfig(kind="local")
    return SandboxConfig(kind="docker", image=request.getfixturevalue("docker_image"))


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return create_run(TASK, load_config(overrides=["sandbox.kind=local"]), root=tmp_path)


@pytest.mark.slow
def test_the_baseline_train_py_gets_a_valid_submission(
    sandbox_cfg: SandboxConfig, run_dir: Path
) -> None:
    task = load_task(TASK)
    program = baseline_program(task.metric) + "\nimport sys\nprint('PREFIX', sys.prefix)\n"
    (run_dir / "submission" / "train.py").write_text(program)
    spec = ExperimentSpec(command="python train.py", outputs=("submission.csv",), timeout_s=600)

    result = execute_experiment(str(run_dir), spec, sandbox_cfg)

    log = (run_dir / result.log.path).read_text() if result.log else ""
    assert result.status == "ok", (result.summary, log[-2000:])
    assert 0.8 < result.metrics["val_score"] <= 1.0
    # it ran where it was sent: the image's system Python, or the project's interpreter
    prefix = "/usr" if sandbox_cfg.kind == "docker" else sys.prefix
    assert f"PREFIX {prefix}\n" in log, log[-500:]
    [artifact] = result.artifacts
    grade = grade_competition(task, run_dir / artifact.path)
    assert grade.valid, grade.error
    assert grade.score is not None and grade.score > 0.8


HOSTILE = """\
import json, os, socket, sys
report = {}
task_src = sys.argv[1]
bundled = sys.argv[2]
run = sys.argv[3]
port = int(sys.argv[4])

def attempt(name, fn):
    try:
        report[name] = repr(fn())[:200]
    except Exception as exc:
        report[name] = "refused: " + type(exc).__name__

attempt("read_answers", lambda: open(os.path.join(task_src, "private", "answers.csv")).read())
attempt("list_bundled", lambda: sorted(os.listdir(bundled)))
attempt("walk_bundled", lambda: [f for _, _, fs in os.walk(bundled) for f in fs])
attempt("write_plan", lambda: open(os.path.join(run, "agent", "plan.md"), "w").write("pwned"))
attempt("write_submission", lambda: open(os.path.join(run, "submission", "x.py"), "w").write("1"))
attempt("write_outside", lambda: open(os.path.join(run, "..", "escaped.txt"), "w").write("1"))
attempt("write_root", lambda: open("/aiscientist-escaped.txt", "w").write("1"))
attempt("connect_host", lambda: socket.create_connection(("127.0.0.1", port), timeout=2).recv(64))
attempt("env", lambda: sorted(k for k in os.environ if "KEY" in k or "TOKEN" in k))
json.dump(report, open("report.json", "w"))
print(json.dumps(report))
"""


@pytest.fixture
def host_server() -> Iterator[int]:
    """A TCP server on the host that answers a secret to whoever connects."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 0))
    srv.listen(4)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.sendall(b"HOST-SECRET")
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    srv.close()


def test_a_hostile_experiment_reads_writes_and_reaches_nothing(
    sandbox_cfg: SandboxConfig,
    run_dir: Path,
    host_server: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-secret")
    task_src = load_task(TASK).root
    (run_dir / "submission" / "hostile.py").write_text(HOSTILE)
    plan_md = run_dir / "agent" / "plan.md"
    plan = plan_md.read_text() if plan_md.exists() else None
    command = f"python hostile.py {task_src} {BUNDLED_DIR} {run_dir} {host_server}"
    spec = ExperimentSpec(command=command, outputs=("report.json",), timeout_s=120)

    result = execute_experiment(str(run_dir), spec, sandbox_cfg)

    assert result.status == "ok", result.summary
    [artifact] = result.artifacts
    report = json.loads((run_dir / artifact.path).read_text())
    assert set(report) == {
        "read_answers",
        "list_bundled",
        "walk_bundled",
        "write_plan",
        "write_submission",
        "write_outside",
        "write_root",
        "connect_host",
        "env",
    }
    for name in ("read_answers", "write_plan", "write_submission", "write_root"):
        assert report[name].startswith("refused"), (name, report)
    # the run directory's parent is under /tmp, private to each sandbox: a write there may
    # succeed inside and must not reach the host (checked below)
    assert report["connect_host"].startswith("refused"), report
    assert report["list_bundled"] in ("[]", "refused: PermissionError"), report
    assert report["walk_bundled"] == "[]", report
    assert report["env"] == "[]", report
    assert "HOST-SECRET" not in json.dumps(report)
    assert (plan_md.read_text() if plan_md.exists() else None) == plan
    assert not (run_dir / "submission" / "x.py").exists()
    assert not (run_dir.parent / "escaped.txt").exists()
    assert not Path("/aiscientist-escaped.txt").exists()
