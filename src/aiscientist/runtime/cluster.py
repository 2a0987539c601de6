"""Bring Ray up: embedded ``ray.init()`` on a laptop, or join a cluster by address."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import ray

from aiscientist.config import RunConfig
from aiscientist.errors import ConfigError

FORWARDED_ENV = (
    "RAY_AUTH_MODE",
    "LITELLM_LOCAL_MODEL_COST_MAP",
    "AISCIENTIST_CACHE",
)


def actor_env() -> dict[str, str]:
    """Environment variables every actor and task of a run needs."""
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return env


def ray_address(config: RunConfig) -> str | None:
    """The cluster to join: the config's address, else ``RAY_ADDRESS`` (set inside a Ray
    job), else None (start an embedded Ray)."""
    return config.ray.address or os.environ.get("RAY_ADDRESS") or None


def ensure_ray(config: RunConfig, **kwargs: Any) -> None:
    """Connect to Ray once per process (no-op if already connected): join the cluster named
    by the config or ``RAY_ADDRESS``, or start an embedded one."""
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = ray_address(config)
    if address is None:
        kwargs.setdefault("include_dashboard", False)
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" not in os.environ:
        # Inside `ray job submit` the job's runtime env (--runtime-env-json) applies to every
        # actor and task, and Ray refuses a second one from the driver.
        kwargs.setdefault("runtime_env", {"env_vars": actor_env()})
    ray.init(
        address=address,
        namespace=config.ray.namespace,
        ignore_reinit_error=True,
        log_to_driver=kwargs.pop("log_to_driver", True),
        **kwargs,
    )


def check_workspace(root: str | Path) -> Path:
    """``root`` resolved, refused when it lies in Ray's temporary copy of a job's working
    directory (``ray job submit --working-dir``): Ray deletes that copy with the job, and every
    run written there with it."""
    resolved = Path(root).resolve()
    if "runtime_resources" in resolved.parts or any(
        part.startswith("_ray_pkg_") for part in resolved.parts
    ):
        raise ConfigError(
            f"the workspace {str(root)!r} resolves to {str(resolved)!r}, inside Ray's temporary "
            "copy of this job's working directory, which Ray deletes when the job ends: every "
            "run would be lost. Give an absolute path on storage all nodes share, e.g. "
            "`workspace: /mnt/shared/runs` in the batch file or "
            "`--set workspace.root=/mnt/shared/runs`"
        )
    return resolved


def actor_name(run_id: str, role: str) -> str:
    """Named, namespaced actor per run and role."""
    return f"aiscientist/{run_id}/{role}"


def fetch(ref: Any, timeout: float | None = None) -> Any:
    """``ray.get`` for one reference, untyped (Ray's stubs do not know actor returns)."""
    return ray.get(ref, timeout=timeout)


def run_within_budget(handle: Any, run_dir: Path, config: RunConfig) -> dict[str, object]:
    """The outcome of an agent actor's ``run()``; when it is still running ``OVERRUN_S`` past
    the wall-clock budget (a model call in flight), the actor is killed and the outcome says
    the budget ended, so the driver grades what the workspace holds."""
    from aiscientist.agents.ledger import OVERRUN_S, wait_left

    try:
        outcome: dict[str, object] = fetch(handle.run.remote(), timeout=wait_left(run_dir, config))
        return outcome
    except ray.exceptions.GetTimeoutError:
        ray.kill(handle, no_restart=True)
        return {
            "status": "budget_exhausted",
            "summary": f"stopped {OVERRUN_S:.0f} s after the wall-clock budget ended, in the "
            "middle of a step",
        }


def ray_version() -> str:
    """The installed Ray's version (for ``aiscientist doctor``)."""
    return str(ray.__version__)


UNAVAILABLE = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError, ValueError)
"""An actor that died, is restarting, or is not registered (yet): ``ValueError`` is what
``ray.get_actor`` raises for a name not registered."""

T = TypeVar("T")


def call_restartable(call: Callable[[int], T], patience_s: float = 120.0) -> T:
    """``call(attempt)`` until it does not raise ``UNAVAILABLE`` or ``patience_s`` have passed
    (then the last error is raised). Backs off 0.2 s doubling to 5 s between attempts: a node
    loss takes Ray seconds to notice and a restarted actor seconds to come back, so a fixed
    small number of quick tries gives up while the actor is still on its way."""
    deadline = time.monotonic() + patience_s
    attempt = 0
    while True:
        try:
            return call(attempt)
        except UNAVAILABLE:
            if time.monotonic() >= deadline:
                raise
            time.sleep(min(5.0, 0.2 * 2**attempt, max(0.0, deadline - time.monotonic())))
            attempt += 1


_RESOURCE_NAMES = {"num_cpus": "CPU", "num_gpus": "GPU", "memory": "memory"}


def demand(options: dict[str, Any]) -> dict[str, float]:
    """Ray resource names and amounts from task options (``num_cpus``, ``num_gpus``,
    ``memory`` in bytes, ``resources``); zero amounts left out."""
    out = {_RESOURCE_NAMES[k]: float(options[k]) for k in _RESOURCE_NAMES if options.get(k)}
    out.update({k: float(v) for k, v in (options.get("resources") or {}).items() if v})
    return out


def _show(name: str, amount: float) -> str:
    return f"{name}={amount / 1024**3:.1f}GiB" if name == "memory" else f"{name}={amount:g}"


def infeasible_reason(want: dict[str, float], nodes: list[dict[str, Any]]) -> str | None:
    """Why no live node in ``nodes`` (``ray.nodes()`` records) can run a task asking for
    ``want`` (all of it on one node), or None when one can."""
    alive = [n.get("Resources", {}) for n in nodes if n.get("Alive")]
    if any(all(have.get(k, 0.0) >= v for k, v in want.items()) for have in alive):
        return None
    asked = ", ".join(_show(k, v) for k, v in sorted(want.items()))
    if not alive:
        return f"asks for {asked}, but the cluster has no live node"
    best = {k: max(have.get(k, 0.0) for have in alive) for k in want}
    short = [f"{k} (largest node has {_show(k, best[k])})" for k in want if best[k] < want[k]]
    detail = "; ".join(short) or "no single node has all of it at once"
    return f"asks for {asked}; no live node of {len(alive)} can run it: {detail}"
