"""``mode: aide`` on Ray: the run's experiment pool and one ``Aide`` agent as an actor.

The agent (``agents.aide.Aide``) reaches the pool and the hypothesis tree by name, like a
peer; a restarted actor re-enters from ``agent/aide/`` on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray

from aiscientist.agents.aide import ROLE, Aide
from aiscientist.config import RunConfig
from aiscientist.models.registry import make_model
from aiscientist.runtime.actors import record_placement
from aiscientist.runtime.cluster import actor_name, run_within_budget
from aiscientist.runtime.local_model import local_endpoint
from aiscientist.runtime.pool import PoolClient, start_pool
from aiscientist.runtime.tree_actor import TREE_ROLE, RemoteTree
from aiscientist.workspace.journal import Journal

AIDE_RESTARTS = 3


class _AideActor:
    def __init__(self, run_id: str, run_dir: str, config: RunConfig) -> None:
        record_placement(Path(run_dir), ROLE)
        self.inner = Aide(
            Path(run_dir),
            config,
            make_model(config.models.for_role(ROLE), ROLE, local=local_endpoint),
            RemoteTree.get(actor_name(run_id, TREE_ROLE)),
            PoolClient(actor_name(run_id, "executor")),
        )

    def run(self) -> dict[str, object]:
        o = self.inner.run()
        return {"status": o.status, "summary": o.summary, "steps": o.steps}


AideActor = ray.remote(_AideActor)


def run_aide(
    run_id: str, run_dir: Path, config: RunConfig, say: Callable[[str], None], actors: list[Any]
) -> dict[str, object]:
    """Drive an aide run to its end; started actors are appended to ``actors``."""
    actors.append(start_pool(run_id, run_dir, config, AIDE_RESTARTS))
    agent: Any = AideActor.options(
        name=actor_name(run_id, ROLE),
        get_if_exists=True,
        max_restarts=AIDE_RESTARTS,
        num_cpus=0,
    ).remote(run_id, str(run_dir), config)
    actors.append(agent)
    say("aide agent running")
    for attempt in range(AIDE_RESTARTS + 1):
        try:
            outcome = run_within_budget(agent, run_dir, config)
            break
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            if attempt == AIDE_RESTARTS:
                raise
            say("aide agent lost; re-entering from agent/aide/")
    Journal(run_dir).decision("aide", str(outcome["summary"])[:500])
    status = "budget_exhausted" if outcome["status"] == "budget_exhausted" else "finished"
    return {"status": status, "summary": outcome["summary"]}
