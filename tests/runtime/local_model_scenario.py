"""The embedded model on a multi-node ``ray.cluster_utils.Cluster``, in its own process: the
model server actor is pinned to one worker node, and a specialist's model is built (the way
every actor builds it) on another worker node and asks it for a real completion.

Writes what it observed as JSON to the path given as its argument; the test asserts on it.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import ray
from ray.cluster_utils import Cluster

from aiscientist.config import load_config
from aiscientist.models.base import ChatMessage
from aiscientist.models.registry import make_model
from aiscientist.runtime.local_model import local_endpoint, start_local_model, stop_local_model


@ray.remote(num_cpus=0)
class SpecialistProbe:
    """Builds the comprehension model exactly as ``SpecialistActor`` does, and uses it."""

    def ask(self) -> dict[str, Any]:
        cfg = load_config(None, ["models.default=local"])
        model = make_model(
            cfg.models.for_role("comprehension"), "comprehension", local=local_endpoint
        )
        reply = model.complete(
            [ChatMessage(role="user", content="Name one metric for a regression task.")]
        )
        endpoint, _ = local_endpoint()
        return {
            "node": ray.get_runtime_context().get_node_id(),
            "content": reply.content,
            "completion_tokens": reply.usage.completion_tokens,
            "base_url": endpoint.base_url,
            "server_node": endpoint.node,
        }


def main(out: Path) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1, resources={"model_node": 1})
    cluster.add_node(num_cpus=1, resources={"work_node": 1})
    report: dict[str, Any] = {}
    try:
        ray.init(address=cluster.address, namespace="local-model-scenario")
        cfg = load_config(None, ["models.default=local"])
        handle = start_local_model(cfg, resources={"model_node": 0.01})
        report["second_start_returns"] = repr(start_local_model(cfg))  # already running: None
        probe = SpecialistProbe.options(resources={"work_node": 0.01}).remote()  # type: ignore[attr-defined]
        report.update(ray.get(probe.ask.remote(), timeout=600))
        endpoint, _ = local_endpoint()
        try:
            urllib.request.urlopen(f"{endpoint.base_url}/models", timeout=10)
            report["without_key"] = 200
        except urllib.error.HTTPError as exc:
            report["without_key"] = exc.code
        model_nodes = [
            n["NodeID"] for n in ray.nodes() if n["Alive"] and "model_node" in n["Resources"]
        ]
        report["model_node"] = model_nodes[0]
        stop_local_model(handle)
    finally:
        ray.shutdown()
        cluster.shutdown()
        out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
