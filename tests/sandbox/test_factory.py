"""Backend selection from configuration: auto | local | docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiscientist.config import SandboxConfig, load_config
from aiscientist.errors import SandboxError
from aiscientist.sandbox import LocalSandbox, make_sandbox


def test_local_is_local(tmp_path: Path) -> None:
    sb = make_sandbox(SandboxConfig(kind="local"))
    assert isinstance(sb, LocalSandbox)
    assert sb.run("echo hi", tmp_path, timeout=30).stdout == "hi\n"


def test_auto_without_the_image_falls_back_to_local() -> None:
    sb = make_sandbox(SandboxConfig(kind="auto", image="aiscientist-no-such-image:0"))
    assert isinstance(sb, LocalSandbox)


def test_docker_without_the_image_is_a_clear_error() -> None:
    with pytest.raises(SandboxError, match="aiscientist-no-such-image"):
        make_sandbox(SandboxConfig(kind="docker", image="aiscientist-no-such-image:0"))


def test_auto_takes_docker_when_the_engine_has_the_image(docker_image: str, tmp_path: Path) -> None:
    sb = make_sandbox(SandboxConfig(kind="auto", image=docker_image))
    assert sb.name == "docker"
    res = sb.run("head -1 /etc/passwd; echo $HOME; python --version", tmp_path, timeout=60)
    assert res.status == "ok" and res.backend == "docker"
    passwd, home, python = res.stdout.splitlines()
    assert passwd.startswith("root:x:0:0:") and home == "/tmp" and python.startswith("Python 3")


def test_the_default_image_is_the_one_make_system_builds() -> None:
    script = (Path(__file__).parents[2] / "scripts" / "build_executor_image.sh").read_text()
    default = load_config().sandbox.image
    assert f'IMAGE="${{1:-{default}}}"' in script


def test_network_flag_gives_the_sandbox_the_host_network(tmp_path: Path) -> None:
    def interfaces(network: bool) -> set[str]:
        sb = make_sandbox(SandboxConfig(kind="local", network=network))
        lines = sb.run("cat /proc/net/dev", tmp_path, timeout=30).stdout.splitlines()[2:]
        return {line.split(":")[0].strip() for line in lines if ":" in line}

    host = {line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]}
    assert interfaces(network=True) == host
    if LocalSandbox().use_bwrap:
        assert interfaces(network=False) == {"lo"}
