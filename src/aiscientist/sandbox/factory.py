"""``make_sandbox``: pick a backend from ``SandboxConfig`` (auto | local | docker)."""

from __future__ import annotations

import logging

from aiscientist.config import SandboxConfig
from aiscientist.errors import SandboxError
from aiscientist.sandbox.base import Sandbox
from aiscientist.sandbox.local import LocalSandbox

log = logging.getLogger(__name__)


def docker_ready(image: str) -> tuple[bool, str]:
    """Whether a Docker engine answers and has ``image``; the reason when it does not."""
    try:
        from aiscientist.sandbox.docker_sandbox import engine_status
    except ImportError as exc:  # the docker SDK is not installed
        return False, f"docker SDK unavailable: {exc}"
    return engine_status(image)


def make_sandbox(cfg: SandboxConfig) -> Sandbox:
    """The sandbox ``cfg`` asks for; ``auto`` = Docker when ready, else local."""
    if cfg.kind == "local":
        return LocalSandbox(network=cfg.network)
    ok, why = docker_ready(cfg.image)
    if cfg.kind == "docker":
        if not ok:
            raise SandboxError(
                f"sandbox.kind='docker' but Docker is not usable: {why}; start dockerd, build "
                f"the image {cfg.image!r} (scripts/build_executor_image.sh) or set "
                "sandbox.kind=local"
            )
        return _docker(cfg)
    if ok:
        return _docker(cfg)
    log.info("sandbox auto: using the local sandbox (%s)", why)
    return LocalSandbox(network=cfg.network)


def _docker(cfg: SandboxConfig) -> Sandbox:
    from aiscientist.sandbox.docker_sandbox import DockerSandbox

    return DockerSandbox(image=cfg.image, network=cfg.network)
