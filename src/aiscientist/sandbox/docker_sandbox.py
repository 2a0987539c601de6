"""``DockerSandbox``: run a command in a throw-away container (the only docker importer).

No network by default (``network_mode="none"``), a read-only root with a private /tmp, the
workdir bound read-write at the same path, other mounts per their ``read_only`` flag, GPUs
from the experiment's Ray assignment as device requests, memory / CPU / pids limits, the
host's uid so files written to the workdir stay the caller's. The container is removed
afterwards; a timeout kills it; ``OOMKilled`` is reported as ``"oom"``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound
from docker.models.containers import Container
from docker.types import DeviceRequest, Ulimit

from aiscientist.errors import SandboxError
from aiscientist.sandbox._output import OutputCapture, classify
from aiscientist.sandbox.base import ENV_ALLOWLIST, ExecResult, Limits, Mount, check_run

# Host-specific variables that mean nothing (or something wrong) inside a container.
_HOST_ONLY = {"PATH", "HOME", "VIRTUAL_ENV", "CUDA_VISIBLE_DEVICES"}


def engine_status(image: str) -> tuple[bool, str]:
    """Whether an engine answers and holds ``image``; otherwise why not."""
    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except (DockerException, requests.exceptions.RequestException) as exc:
        return False, f"no Docker engine answers ({exc})"
    try:
        client.images.get(image)
    except ImageNotFound:
        return False, (
            f"Docker image {image!r} is not present (scripts/build_executor_image.sh builds "
            "the default one here; cluster/Dockerfile.executor is the GPU image for a cluster)"
        )
    except (DockerException, requests.exceptions.RequestException) as exc:
        return False, f"Docker engine error: {exc}"
    finally:
        client.close()
    return True, "ok"


class DockerSandbox:
    """Each ``run`` is one container of ``image``, removed when it ends."""

    def __init__(
        self,
        image: str = "aiscientist-executor:bookworm",
        *,
        network: bool = False,
        read_only_root: bool = True,
        run_as_caller: bool = True,
    ) -> None:
        self.image = image
        self.network = network
        self.read_only_root = read_only_root
        self.user = f"{os.getuid()}:{os.getgid()}" if run_as_caller else None
        self.name = "docker"
        try:
            self.client = docker.from_env(timeout=30)
            self.client.ping()
        except (DockerException, requests.exceptions.RequestException) as exc:
            raise SandboxError(
                f"no Docker engine answers ({exc}); start dockerd (scripts/setup_system.sh) "
                "or use sandbox.kind=local"
            ) from exc

    def run(
        self,
        command: str,
        workdir: Path,
        mounts: list[Mount] | None = None,
        env: dict[str, str] | None = None,
        limits: Limits | None = None,
        timeout: float = 3600.0,
        log_path: Path | None = None,
    ) -> ExecResult:
        """Run ``command`` with ``bash -c`` in a fresh container, workdir read-write."""
        workdir, limits = check_run(command, workdir, timeout, limits)
        capture = OutputCapture(log_path, limits.log_bytes)
        start = time.monotonic()
        try:
            container = self.client.containers.create(
                self.image, ["bash", "-c", command], **self._options(workdir, mounts, env, limits)
            )
        except ImageNotFound as exc:
            raise SandboxError(
                f"Docker image {self.image!r} not found; build it (scripts/"
                "build_executor_image.sh, or cluster/Dockerfile.executor) or set sandbox.image"
            ) from exc
        except APIError as exc:
            raise SandboxError(f"Docker could not create the container: {exc}") from exc
        timed_out = False
        try:
            container.start()
            reader = threading.Thread(
                target=capture.pump,
                args=(_log_chunks(container), lambda: _kill(container)),
                daemon=True,
            )
            reader.start()
            try:
                exit_code: int | None = int(container.wait(timeout=timeout)["StatusCode"])
            except requests.exceptions.RequestException:
                timed_out = True
                _kill(container)
                exit_code = None
            reader.join(timeout=10)
            if not reader.is_alive():
                _catch_up(container, capture)
            container.reload()
            state = container.attrs.get("State", {})
            oom = bool(state.get("OOMKilled"))
            if exit_code is None:
                exit_code = state.get("ExitCode")
        except APIError as exc:
            raise SandboxError(f"Docker failed while running the container: {exc}") from exc
        finally:
            capture.close()
            try:
                container.remove(force=True)
            except DockerException:
                pass
        status, reason = classify(
            exit_code,
            timed_out=timed_out,
            timeout=timeout,
            text=capture.text(),
            killed_for=capture.killed_for,
            oom_killed=oom,
        )
        return ExecResult(
            status=status,
            exit_code=exit_code,
            stdout=capture.text(),
            duration_s=time.monotonic() - start,
            reason=reason,
            truncated=capture.truncated,
            backend=self.name,
            extra={"image": self.image},
        )

    def _options(
        self,
        workdir: Path,
        mounts: list[Mount] | None,
        env: dict[str, str] | None,
        limits: Limits,
    ) -> dict[str, object]:
        volumes: dict[str, dict[str, str]] = {}
        for m in mounts or []:
            src = Path(m.source).resolve()
            if not src.exists():
                raise SandboxError(
                    f"mount source {str(src)!r} does not exist; create it or drop it"
                )
            tgt = Path(m.target) if Path(m.target).is_absolute() else workdir / m.target
            volumes[str(src)] = {"bind": str(tgt), "mode": "ro" if m.read_only else "rw"}
        volumes[str(workdir)] = {"bind": str(workdir), "mode": "rw"}
        tmpfs = {"/tmp": "rw,exec,mode=1777", "/dev/shm": "rw,mode=1777"}
        for hidden in limits.hide:
            tmpfs[str(hidden)] = "ro,mode=000"
        environment = {
            k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ and k not in _HOST_ONLY
        }
        environment.update({"HOME": "/tmp", "PYTHONUNBUFFERED": "1"})
        environment.update(env or {})
        ulimits = []
        if limits.cpu_seconds is not None:
            ulimits.append(Ulimit(name="cpu", soft=limits.cpu_seconds, hard=limits.cpu_seconds + 5))
        if limits.file_size_bytes is not None:
            ulimits.append(
                Ulimit(name="fsize", soft=limits.file_size_bytes, hard=limits.file_size_bytes)
            )
        opts: dict[str, object] = {
            "working_dir": str(workdir),
            "volumes": volumes,
            "tmpfs": tmpfs,
            "environment": environment,
            "network_mode": "bridge" if self.network else "none",
            "read_only": self.read_only_root,
            "ulimits": ulimits,
            "detach": True,
            "init": True,  # a real PID 1: signals (SIGXCPU, SIGTERM) reach the command
            "stdin_open": False,
            "security_opt": ["no-new-privileges"],
            "cap_drop": ["ALL"],
        }
        if self.user is not None:
            opts["user"] = self.user
        if limits.memory_bytes is not None:
            opts["mem_limit"] = limits.memory_bytes
            opts["memswap_limit"] = limits.memory_bytes  # no swap: a hog is OOM-killed
        if limits.cpus is not None:
            opts["nano_cpus"] = int(limits.cpus * 1e9)
        if limits.max_processes is not None:
            opts["pids_limit"] = limits.max_processes
        if limits.gpus:
            opts["device_requests"] = [
                DeviceRequest(device_ids=list(limits.gpus), capabilities=[["gpu"]])
            ]
        return opts


def _log_chunks(container: Container) -> Iterator[bytes]:
    try:
        yield from container.logs(stream=True, follow=True, stdout=True, stderr=True)
    except (DockerException, requests.exceptions.RequestException):
        return


def _catch_up(container: Container, capture: OutputCapture) -> None:
    """Feed what the log stream missed: it can end before the last output of a container
    that exits at once (a fork bomb's "can't fork" lines), and that output decides how the
    run is classified."""
    try:
        full = container.logs(stdout=True, stderr=True)
    except (DockerException, requests.exceptions.RequestException):
        return
    if len(full) > capture.seen:
        capture.pump([full[capture.seen :]], lambda: None)


def _kill(container: Container) -> None:
    try:
        container.kill()
    except DockerException:
        pass
