"""Sandbox fixtures: a real sandbox per backend (plain local, bubblewrap, Docker).

The Docker backend runs the executor image experiments use by default (a Debian root
filesystem with Python and the project's versions of numpy, pandas, scipy, scikit-learn and
matplotlib, built here without a registry by scripts/build_executor_image.sh, which ``make
system`` runs); it is built when missing or out of date.
Docker tests are skipped, with the reason, only when no engine answers or the image cannot
be built (no Debian mirror reachable).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from aiscientist.config import load_config
from aiscientist.sandbox import LocalSandbox, Sandbox, docker_ready

REPO = Path(__file__).resolve().parents[2]
EXECUTOR_IMAGE = load_config().sandbox.image
"""The image experiments run in by default, which these tests run in too."""


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The executor image's name, built (or rebuilt for a changed .venv) if needed; skips
    when Docker is unusable. The build script returns at once when the image is current."""
    ok, why = docker_ready(EXECUTOR_IMAGE)
    if not ok and "not present" not in why:
        pytest.skip(f"Docker backend not testable here: {why} (run scripts/setup_system.sh)")
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_executor_image.sh"), EXECUTOR_IMAGE],
        capture_output=True,
        text=True,
    )
    ok, why = docker_ready(EXECUTOR_IMAGE)
    if not ok:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        pytest.skip(f"could not build the executor image: {tail} / {why}")
    return EXECUTOR_IMAGE


def make_backend(kind: str, request: pytest.FixtureRequest) -> Sandbox:
    if kind == "local":
        return LocalSandbox(use_bwrap=False)
    if kind == "bwrap":
        if shutil.which("bwrap") is None:
            pytest.skip("bubblewrap is not installed (run scripts/setup_system.sh)")
        return LocalSandbox(use_bwrap=True)
    image = request.getfixturevalue("docker_image")
    from aiscientist.sandbox.docker_sandbox import DockerSandbox

    return DockerSandbox(image=image)


@pytest.fixture(params=["local", "bwrap", pytest.param("docker", marks=pytest.mark.docker)])
def any_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Every backend, the unhardened local one included."""
    return make_backend(request.param, request)


@pytest.fixture(params=["local", "bwrap"])
def local_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """The subprocess backends (rlimits applied by the sandbox itself)."""
    return make_backend(request.param, request)


@pytest.fixture(params=["bwrap", pytest.param("docker", marks=pytest.mark.docker)])
def isolating_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """The backends that isolate the filesystem and the network."""
    return make_backend(request.param, request)
