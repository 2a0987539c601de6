"""Sandbox fixtures: a real sandbox per backend (plain local, bubblewrap, Docker).

The Docker image is built here, offline, by scripts/build_test_image.sh (a static busybox
rootfs loaded with ``docker import``) when it is missing. Docker tests are skipped, with
the reason, only when no engine answers (``make system`` starts one).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from aiscientist.sandbox import LocalSandbox, Sandbox, docker_ready

REPO = Path(__file__).resolve().parents[2]
TEST_IMAGE = "aiscientist-test:busybox"


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The test image's name, built locally if needed; skips when Docker is unusable."""
    ok, why = docker_ready(TEST_IMAGE)
    if ok:
        return TEST_IMAGE
    if "not present" not in why:
        pytest.skip(f"Docker backend not testable here: {why} (run scripts/setup_system.sh)")
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_test_image.sh"), TEST_IMAGE],
        capture_output=True,
        text=True,
    )
    ok, why = docker_ready(TEST_IMAGE)
    if not ok:
        pytest.skip(f"could not build the test image: {proc.stderr.strip()} / {why}")
    return TEST_IMAGE


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
