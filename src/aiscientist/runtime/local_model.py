"""The embedded model as a Ray actor: one llama.cpp server per job, reachable from every node.

The driver of a job (``aiscientist run``, ``resume`` or ``batch``, also under ``ray job
submit``) starts ``LocalModelActor`` once, named after the job, when any role uses ``local``.
The actor asks Ray for a GPU when the cluster has one (and then offloads every layer), starts
the server listening on its node's network (loopback under an embedded Ray), and requires an
API key made in the actor, which travels only through Ray (to the server: in its
environment, not its command line). Every actor of the job finds it by name
(``local_endpoint``) and gets its address, key and a probe: after a failed call the probe asks
the actor whether the server process still lives, so a crash becomes one clear error, not
retries.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray

from aiscientist.config import RunConfig
from aiscientist.errors import ClusterError
from aiscientist.messages import SPECIALIST_ROLES
from aiscientist.models.local_server import LocalEndpoint, LocalModelServer
from aiscientist.runtime.cluster import fetch, ray_address
from aiscientist.workspace.atomic import atomic_write_text

SERVER_RECORD = Path("agent") / "state" / "model_server.json"
"""Where a run notes the model server it uses (address, pid, node; never the key)."""

MODEL_ROLES = ("orchestrator", "peer", *SPECIALIST_ROLES, "judge")


def model_actor_name() -> str:
    """The job's model server actor (actors of a job know their job's id)."""
    return f"aiscientist/local-model/{ray.get_runtime_context().get_job_id()}"


class _LocalModelActor:
    """Owns one ``LocalModelServer`` process on its node."""

    def __init__(self, gpu: bool, host: str) -> None:
        self.server = LocalModelServer(
            host=host, api_key=secrets.token_urlsafe(32), n_gpu_layers=-1 if gpu else 0
        )
        self.server.start()  # in the actor's main thread: the server dies with the actor
        self.ip = ray.util.get_node_ip_address() if host == "0.0.0.0" else host

    def endpoint(self) -> LocalEndpoint:
        s = self.server
        return LocalEndpoint(
            base_url=f"http://{self.ip}:{s.port}/v1",
            api_key=s.api_key or "",
            pid=s.pid or 0,
            node=ray.get_runtime_context().get_node_id(),
        )

    def death_message(self) -> str | None:
        return self.server.death_message()

    def stop(self) -> None:
        self.server.stop()


LocalModelActor = ray.remote(_LocalModelActor)


def uses_local_model(config: RunConfig) -> bool:
    """Whether any role of a run with ``config`` is driven by the embedded model."""
    return any(config.models.for_role(r) == "local" for r in MODEL_ROLES)


def start_local_model(config: RunConfig, resources: dict[str, float] | None = None) -> Any | None:
    """The job's model server actor, started now (and waited for) unless it runs already;
    returns the handle when this call started it (the caller stops it), else None."""
    if not uses_local_model(config):
        return None
    name = model_actor_name()
    try:
        ray.get_actor(name)
        return None  # started by this job's driver already (a batch's earlier call)
    except ValueError:
        pass
    gpu = ray.cluster_resources().get("GPU", 0.0) >= 1
    # an embedded Ray is this machine alone: loopback; a cluster's nodes need the network
    host = "127.0.0.1" if ray_address(config) is None else "0.0.0.0"
    handle: Any = LocalModelActor.options(
        name=name,
        get_if_exists=True,
        num_cpus=0,
        num_gpus=1 if gpu else 0,
        resources=resources or {},
        max_restarts=0,
        max_concurrency=4,  # probes answer while a start or stop is under way
    ).remote(gpu, host)
    fetch(handle.endpoint.remote())  # raises with the server's log if it could not start
    return handle


def stop_local_model(handle: Any | None) -> None:
    """Stop a server started by ``start_local_model`` (None: nothing to do)."""
    if handle is None:
        return
    try:
        fetch(handle.stop.remote(), timeout=30)
    except (ray.exceptions.RayError, ValueError):
        pass
    ray.kill(handle, no_restart=True)


def local_endpoint() -> tuple[LocalEndpoint, Callable[[], str | None]]:
    """The job's model server: its endpoint and a probe (None while it lives, else how it
    died). Raises ``ClusterError`` when the job has none."""
    name = model_actor_name()
    try:
        handle = ray.get_actor(name)
    except ValueError as exc:
        raise ClusterError(
            f"no embedded model server in this Ray job ({name}); the job's driver starts one "
            "(start_local_model) when a role's model is 'local'"
        ) from exc
    endpoint: LocalEndpoint = fetch(handle.endpoint.remote())

    def probe() -> str | None:
        try:
            died: str | None = fetch(handle.death_message.remote(), timeout=30)
            return died
        except (ray.exceptions.RayError, ValueError) as exc:
            return f"the local model server's actor is gone ({type(exc).__name__})"

    return endpoint, probe


def record_local_model(run_dir: Path) -> str:
    """Note the job's model server in ``run_dir`` (for ``status`` and for whoever debugs a
    crash) and return its address."""
    endpoint, _ = local_endpoint()
    record = {
        "base_url": endpoint.base_url,
        "pid": endpoint.pid,
        "node": endpoint.node,
        "job": ray.get_runtime_context().get_job_id(),
        "at": time.time(),
    }
    atomic_write_text(run_dir / SERVER_RECORD, json.dumps(record) + "\n")
    return endpoint.base_url
