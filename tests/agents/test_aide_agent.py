"""The AIDE agent without Ray: a draft that describes a program instead of writing one (what
the 1.5B model does) runs the task's example program, so the search has a working root; an
improve step without code is a buggy node. Real run directory, real sandboxed experiments."""

from __future__ import annotations

from pathlib import Path

from test_tree_steering import InlineExperiments

from aiscientist.agents.aide import Aide
from aiscientist.agents.tree_tools import LocalTree
from aiscientist.config import load_config
from aiscientist.hypotheses.store import TreeStore
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run


def test_a_draft_without_code_runs_the_example_and_an_improve_without_code_is_buggy(
    tmp_path: Path,
) -> None:
    cfg = load_config(overrides=["sandbox.kind=local", "search.drafts=1", "search.debug_prob=0"])
    run_dir = create_run("friedman-regression", cfg, root=tmp_path / "runs")
    store = TreeStore(run_dir / "tree")
    model = ScriptedModel(
        ["I will use gradient boosting; the program is in the code block.", "More trees."],
        name="scripted#aide",
    )
    aide = Aide(run_dir, cfg, model, LocalTree(store.tree), InlineExperiments(run_dir, cfg.sandbox))
    first = aide.step()
    assert first.action == "draft" and first.score is not None, first.error
    assert "example program is used" in first.plan
    second = aide.step()
    assert second.action == "improve" and second.parent == first.id
    assert second.score is None and "no ```python" in second.error
    store.close()
