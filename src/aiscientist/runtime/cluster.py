"""Bring Ray up: embedded ``ray.init()`` on a laptop, or join a cluster by address."""

from __future__ import annotations

import os
from typing import Any

import ray

from aiscientist.config import RunConfig

FORWARDED_ENV = (
    "RAY_AUTH_MODE",
    "LITELLM_LOCAL_MODEL_COST_MAP",
    "AISCIENTIST_LOCAL_BASE_URL",
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


def actor_name(run_id: str, role: str) -> str:
    """Named, namespaced actor per run and role."""
    return f"aiscientist/{run_id}/{role}"


def fetch(ref: Any, timeout: float | None = None) -> Any:
    """``ray.get`` for one reference, untyped (Ray's stubs do not know actor returns)."""
    return ray.get(ref, timeout=timeout)


def ray_version() -> str:
    """The installed Ray's version (for ``aiscientist doctor``)."""
    return str(ray.__version__)
