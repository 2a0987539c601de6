"""What a sandboxed command can see and reach: files, network, environment."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiscientist.sandbox import Limits, LocalSandbox, Mount, Sandbox


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A run directory: the experiment's working copy, another region, a task with private/."""
    work = tmp_path / "run" / "agent" / "experiments" / "e1" / "wt"
    other = tmp_path / "run" / "paper_analysis"
    public = tmp_path / "run" / "task" / "public"
    private = tmp_path / "run" / "task" / "private"
    for d in (work, other, public, private):
        d.mkdir(parents=True)
    (other / "summary.md").write_text("region owned by comprehension\n")
    (public / "train.csv").write_text("x,y\n1,2\n")
    (private / "answers.csv").write_text("id,answer\n1,SECRET-ANSWER\n")
    return {"work": work, "other": other, "public": public, "private": private}


def test_write_outside_the_working_copy_fails(
    isolating_sandbox: Sandbox, layout: dict[str, Path]
) -> None:
    work, other = layout["work"], layout["other"]
    res = isolating_sandbox.run(
        f"echo inside > ok.txt; echo evil > {other}/summary.md; echo evil > {other}/new.md; "
        "echo evil > /etc/aiscientist-escape; echo done",
        work,
        mounts=[Mount(other, other, read_only=True)],
        timeout=30,
    )
    assert (work / "ok.txt").read_text() == "inside\n"
    assert (other / "summary.md").read_text() == "region owned by comprehension\n"
    assert not (other / "new.md").exists()
    assert not Path("/etc/aiscientist-escape").exists()
    assert res.stdout.count("Read-only file system") >= 2, res.stdout


def test_read_write_mount_is_writable_and_read_only_mount_is_not(
    isolating_sandbox: Sandbox, layout: dict[str, Path]
) -> None:
    work, other, public = layout["work"], layout["other"], layout["public"]
    res = isolating_sandbox.run(
        "cat data/train.csv; echo note > notes/n.md; echo x > data/train.csv",
        work,
        mounts=[Mount(public, Path("data")), Mount(other, Path("notes"), read_only=False)],
        timeout=30,
    )
    assert "x,y" in res.stdout
    assert (other / "n.md").read_text() == "note\n"
    assert (public / "train.csv").read_text() == "x,y\n1,2\n"


def test_private_task_data_is_hidden(isolating_sandbox: Sandbox, layout: dict[str, Path]) -> None:
    task = layout["public"].parent
    res = isolating_sandbox.run(
        f"ls {task}; ls {task}/private; cat {task}/private/answers.csv; echo end",
        layout["work"],
        mounts=[Mount(task, task)],
        limits=Limits(hide=(layout["private"],)),
        timeout=30,
    )
    assert "public" in res.stdout  # the task itself is visible...
    assert "SECRET-ANSWER" not in res.stdout  # ...its private answers are not
    assert "answers.csv" not in res.stdout.split("cat")[0]


@pytest.fixture
def tcp_server() -> Iterator[tuple[int, list[int]]]:
    """A TCP server on all host interfaces; yields (port, accepted-connection counter)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.sendall(b"HELLO-FROM-HOST\n")
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    t.join()
    srv.close()


def _host_ips() -> list[str]:
    ips = ["127.0.0.1"]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing address
            ips.append(s.getsockname()[0])
    except OSError:
        pass
    return ips


def test_network_is_unreachable(
    isolating_sandbox: Sandbox, tcp_server: tuple[int, list[int]], tmp_path: Path
) -> None:
    port, accepted = tcp_server
    probe = "; ".join(f"busybox nc -w 2 {ip} {port} </dev/null" for ip in _host_ips())
    # Control: the same probe outside any sandbox does reach the server.
    control = LocalSandbox(use_bwrap=False).run(probe, tmp_path, timeout=30)
    assert "HELLO-FROM-HOST" in control.stdout and accepted
    accepted.clear()

    res = isolating_sandbox.run(f"{probe}; echo ==; cat /proc/net/dev", tmp_path, timeout=30)
    assert "HELLO-FROM-HOST" not in res.stdout
    assert not accepted
    # /proc/net/dev rows ("  lo: 100 2 0 ..."); the probe's stderr may land among them
    netdev = re.findall(r"^\s*([\w.-]+):\s+\d", res.stdout.split("==\n", 1)[1], re.M)
    interfaces = set(netdev)
    assert interfaces == {"lo"}, res.stdout


def test_api_key_in_parent_is_absent_inside(
    any_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-secret-123")
    monkeypatch.setenv("HF_TOKEN", "hf-parent-secret-456")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-parent-secret-789")
    res = any_sandbox.run("env", tmp_path, env={"EXPERIMENT_SEED": "7"}, timeout=30)
    assert res.status == "ok", res
    assert "EXPERIMENT_SEED=7" in res.stdout
    for needle in ("sk-parent-secret", "hf-parent-secret", "aws-parent-secret", "API_KEY", "TOKEN"):
        assert needle not in res.stdout


def test_python_inside_is_the_project_interpreter(tmp_path: Path) -> None:
    import sys

    for sandbox in (LocalSandbox(use_bwrap=False), LocalSandbox()):
        res = sandbox.run("python -c 'import sys, numpy; print(sys.prefix)'", tmp_path, timeout=60)
        assert res.status == "ok", res
        assert res.stdout.strip() == sys.prefix


def test_python_and_the_ml_libraries_run_in_every_backend(
    any_sandbox: Sandbox, tmp_path: Path
) -> None:
    """What the bundled tasks' experiments import (agents/baseline.py's train.py), in the
    versions of the project's environment: an experiment behaves the same in each backend."""
    from importlib.metadata import version

    code = (
        "import numpy, pandas, scipy, sklearn.ensemble, matplotlib.pyplot\n"
        "print(numpy.__version__, pandas.__version__, scipy.__version__, "
        "sklearn.__version__, matplotlib.__version__)"
    )
    res = any_sandbox.run(f"python -c '{code}'", tmp_path, timeout=120)
    assert res.status == "ok", res
    dists = ("numpy", "pandas", "scipy", "scikit-learn", "matplotlib")
    assert res.stdout.split() == [version(d) for d in dists], res.stdout


def test_gpu_assignment_sets_cuda_visible_devices(tmp_path: Path) -> None:
    res = LocalSandbox().run(
        "echo CVD=$CUDA_VISIBLE_DEVICES", tmp_path, limits=Limits(gpus=("2", "3")), timeout=30
    )
    assert res.stdout.strip() == "CVD=2,3"


def test_run_dir_read_only_working_copy_writable_private_hidden(
    isolating_sandbox: Sandbox, layout: dict[str, Path]
) -> None:
    """The recommended experiment layout: the whole run directory mounted read-only, the
    experiment's working copy (inside it) read-write, the task's private/ blanked."""
    work = layout["work"]
    run = work.parents[3]
    res = isolating_sandbox.run(
        f"cat {run}/paper_analysis/summary.md; cat {run}/task/public/train.csv; "
        f"cat {run}/task/private/answers.csv; echo out > metrics.json; "
        f"echo evil > {run}/paper_analysis/summary.md; echo end",
        work,
        mounts=[Mount(run, run, read_only=True)],
        limits=Limits(hide=(layout["private"],)),
        timeout=30,
    )
    assert "region owned by comprehension" in res.stdout and "x,y" in res.stdout
    assert "SECRET-ANSWER" not in res.stdout
    assert (work / "metrics.json").read_text() == "out\n"
    assert (run / "paper_analysis" / "summary.md").read_text() == "region owned by comprehension\n"
    assert (layout["private"] / "answers.csv").exists()  # hidden, not deleted
