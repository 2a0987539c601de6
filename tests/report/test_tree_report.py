"""``aiscientist tree``: indented text and a self-contained tree.html from a run's tree/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aiscientist.errors import UserError
from aiscientist.hypotheses import EvidenceNode, LessonNode
from aiscientist.hypotheses.champion import ChampionGate, offer
from aiscientist.hypotheses.store import TreeStore
from aiscientist.report.tree import render_text, tree_command


def _make_run(run_dir: Path) -> dict[str, str]:
    store = TreeStore(run_dir / "tree")
    t = store.tree
    root = t.propose("Gradient boosting baseline", author="p1")
    t.critique(root, "p2", True)
    t.claim(root, "p1")
    t.start(root, "p1")
    ev = t.add_evidence(
        EvidenceNode(id="", hypothesis_id=root, exp_id="exp-1", status="ok", metric=0.871)
    )
    t.add_lesson(
        LessonNode(id="", text="Depth 6 <beats> depth 3", evidence_ids=(ev,), hypothesis_id=root)
    )
    offer(t, ChampionGate(), ev)
    t.finish(root, "verified", owner="p1")
    child = t.propose("Add target encoding", parent=root, author="p2")
    t.critique(child, "p1", True)
    t.claim(child, "p2")
    t.start(child, "p2")
    t.add_evidence(EvidenceNode(id="", hypothesis_id=child, exp_id="exp-2", status="failed"))
    t.finish(child, "refuted", owner="p2")
    rejected = t.propose("Train on the test set", parent=root, author="p3")
    t.critique(rejected, "p1", False, "leakage")
    store.close()
    return {"root": root, "child": child, "rejected": rejected}


def test_text_is_indented_with_state_metric_and_lesson(tmp_path: Path) -> None:
    ids = _make_run(tmp_path)
    text = tree_command(tmp_path)
    lines = text.splitlines()
    root_line = next(line for line in lines[2:] if ids["root"] in line)
    assert root_line.startswith("- [verified] Gradient boosting baseline metric=0.871")
    assert "*champion*" in root_line
    child_line = next(line for line in lines if ids["child"] in line)
    assert child_line.startswith("  - [refuted] Add target encoding failed_runs=1")
    assert "    lesson: Depth 6 <beats> depth 3" in lines
    assert any(line.startswith("  - [abandoned] Train on the test set") for line in lines)
    assert "Champion: 0.871" in lines[1]


def test_html_is_self_contained_coloured_and_escaped(tmp_path: Path) -> None:
    ids = _make_run(tmp_path)
    tree_command(tmp_path)
    page = (tmp_path / "tree.html").read_text()
    assert "<script src" not in page and "<link" not in page and "http" not in page
    assert page.count("<li>") == 3
    assert "Depth 6 &lt;beats&gt; depth 3" in page
    assert re.search(r"background:#43a047\">verified</span> Gradient boosting baseline", page)
    assert re.search(r"background:#e53935\">refuted</span> Add target encoding", page)
    assert "metric 0.871" in page and "champion" in page
    assert ids["child"] in page


def test_missing_tree_dir_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="has no tree/ directory"):
        tree_command(tmp_path)


def test_empty_tree_renders_a_header(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    assert tree_command(tmp_path).startswith("Hypothesis tree v0: empty")
    from aiscientist.hypotheses.tree import HypothesisTree

    assert render_text(HypothesisTree()).count("\n") == 1
