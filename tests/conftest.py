"""Session-wide fixtures: one real local Ray instance shared by every test that needs it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "configs" / "scripts"


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A local Ray instance (started once; reused if a test already started one)."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address="local",  # never join a `ray start` cluster another test left behind
            num_cpus=4,
            include_dashboard=False,
            namespace="aiscientist-tests",
            log_to_driver=False,
            runtime_env={"env_vars": {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}},
        )
    yield
