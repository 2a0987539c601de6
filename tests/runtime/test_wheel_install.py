"""The wheel works on its own: built from the checkout, installed into a fresh virtual
environment outside it, `aiscientist run` finishes a bundled task from a directory outside it.

Installing every dependency (Ray, litellm, pandas, scikit-learn...) into the new environment
from the index would take minutes and a network, so the new environment sees the test
interpreter's site-packages through a plain ``.pth`` line. A path named that way is only
appended to ``sys.path`` (the ``.pth`` files inside it, among them the editable install's,
are not processed), so the new environment's own site-packages, holding the wheel's
``aiscientist``, comes first and the checkout's ``src/`` is never on the path; the test asserts
both, and that the run's bundled task was read from the installed package.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from runtime_harness import FAST_TEAM, REPO, cli_env, kill_all, manifest, ray_tmpdir, run_dir_in

pytestmark = pytest.mark.slow

SRC = REPO / "src"


def build_wheel(dest: Path) -> Path:
    """``pip wheel`` of the checkout; no build isolation when hatchling is installed here (the
    dev extra brings it), so no index is needed."""
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest), str(REPO)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.insert(4, "--no-build-isolation")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=dest)
    assert out.returncode == 0, out.stdout + out.stderr
    wheels = list(dest.glob("aiscientist-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def make_venv(root: Path, wheel: Path) -> Path:
    """A fresh venv at ``root`` with the wheel installed (no deps) and this interpreter's
    site-packages appended to its path; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install"]
    out = subprocess.run(
        [*install, "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(purelib) / "_checkout_deps.pth").write_text("".join(f"{d}\n" for d in deps))
    return python


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_holds_every_package_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = SRC / "aiscientist"
    expected = {
        p.relative_to(SRC).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert "aiscientist/defaults/default.yaml" in expected
    assert any(n.startswith("aiscientist/tasks/bundled/") for n in expected)
    assert sorted(expected - names) == []


def test_installed_wheel_runs_a_task_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = make_venv(venv, wheel)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = cli_env()
    env.pop("PYTHONPATH", None)

    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import aiscientist, json, sys; print(json.dumps([aiscientist.__file__, sys.path]))",
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=True,
    )
    module_file, path = json.loads(probe.stdout)
    assert Path(module_file).is_relative_to(venv), module_file
    assert str(SRC) not in path, path

    ray_tmp = ray_tmpdir()
    root = tmp_path / "runs"
    log = tmp_path / "run.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [
                str(venv / "bin" / "aiscientist"),
                "run",
                "tabular-cancer",
                "--model",
                f"scripted:{FAST_TEAM}",
                "--workspace",
                str(root),
                "--set",
                "sandbox.kind=local",
            ],
            cwd=cwd,
            env={**env, "RAY_TMPDIR": ray_tmp},
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=400)
        finally:
            kill_all(proc, ray_tmp)
    assert code == 0, log.read_text()[-3000:]
    run_dir = run_dir_in(root)
    assert run_dir is not None
    run = manifest(run_dir)
    assert run["status"] == "finished", run
    assert isinstance(run["score"], float), run
    task = run["task"]
    assert isinstance(task, dict)
    assert Path(task["source"]).is_relative_to(venv), task
