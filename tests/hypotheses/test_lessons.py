"""Lessons: distilled by a (scripted) model, retrieved by ancestry and tags, shared via a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiscientist.errors import TreeError
from aiscientist.hypotheses import EvidenceNode, LessonNode
from aiscientist.hypotheses.lessons import (
    LessonStore,
    add_lesson_for,
    format_lessons,
    lesson_prompt,
    relevant_lessons,
)
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.models.scripted import ScriptedModel


def _evidence(tree: HypothesisTree, hid: str, metric: float | None, status: str = "ok") -> str:
    return tree.add_evidence(
        EvidenceNode(
            id="",
            hypothesis_id=hid,
            exp_id="exp-abc",
            status=status,  # type: ignore[arg-type]
            metric=metric,
            metrics={"val_auc": 0.91},
            summary="trained 3 epochs",
        )
    )


def test_lesson_is_model_written_and_rests_on_its_evidence() -> None:
    tree = HypothesisTree()
    hid = tree.propose("Raise the learning rate", tags=("lr",), author="a")
    ev = _evidence(tree, hid, 0.91)
    model = ScriptedModel(["A learning rate of 0.1 diverged after epoch 2.\n\nExtra talk."])
    lid = add_lesson_for(tree, model, ev, tags=("optim",))
    lesson = tree.node(lid)
    assert isinstance(lesson, LessonNode)
    assert lesson.text == "A learning rate of 0.1 diverged after epoch 2."
    assert lesson.evidence_ids == (ev,)
    assert lesson.tags == ("lr", "optim")
    assert tree.graph.edges[lid, ev]["kind"] == "derived_from"


def test_prompt_comes_from_the_template_and_carries_the_evidence() -> None:
    tree = HypothesisTree()
    hid = tree.propose("Use target encoding", author="a")
    ev = tree.evidence(_evidence(tree, hid, 0.875))
    user = lesson_prompt(tree.hypothesis(hid), ev)[1].content
    assert "Use target encoding" in user and "0.875" in user and "val_auc=0.91" in user


def test_empty_model_reply_is_a_clear_error() -> None:
    tree = HypothesisTree()
    hid = tree.propose("x", author="a")
    ev = _evidence(tree, hid, None, status="failed")
    with pytest.raises(TreeError, match="empty lesson"):
        add_lesson_for(tree, ScriptedModel(["   "]), ev)


def test_relevant_lessons_prefer_close_ancestors_then_shared_tags() -> None:
    tree = HypothesisTree()
    root = tree.propose("root", author="a", tags=("features",))
    mid = tree.propose("mid", parent=root, author="a")
    leaf = tree.propose("leaf", parent=mid, author="a", tags=("lr",))
    other = tree.propose("unrelated", author="a")
    lessons = {}
    for name, hid, tags in [
        ("on-root", root, ()),
        ("on-mid", mid, ()),
        ("tagged-lr", other, ("lr",)),
        ("tagged-aug", other, ("aug",)),
    ]:
        ev = _evidence(tree, hid, 0.5)
        lessons[name] = tree.add_lesson(
            LessonNode(id="", text=name, evidence_ids=(ev,), tags=tags, hypothesis_id=hid)
        )
    got = [ls.text for ls in relevant_lessons(tree, leaf, tags=(), k=5)]
    assert got == ["on-mid", "on-root", "tagged-lr"]
    assert [ls.text for ls in relevant_lessons(tree, leaf, k=1)] == ["on-mid"]
    assert [ls.text for ls in relevant_lessons(tree, None, tags=("aug",))] == ["tagged-aug"]
    assert format_lessons(relevant_lessons(tree, None, tags=("lr",))) == "- tagged-lr [lr]"


def test_lesson_store_shares_lessons_across_runs(tmp_path: Path) -> None:
    store = LessonStore(tmp_path / "lessons")
    run1 = HypothesisTree()
    hid = run1.propose("bagging", author="a", tags=("ensemble",))
    ev = _evidence(run1, hid, 0.8)
    lid = add_lesson_for(run1, ScriptedModel(["Bagging 5 models gained 0.01 AUC."]), ev)
    store.append("tabular-cancer", run1.node(lid), run_id="run-1")  # type: ignore[arg-type]
    assert (tmp_path / "lessons" / "tabular-cancer.jsonl").exists()

    run2 = HypothesisTree()
    added = store.import_into(run2, "tabular-cancer")
    assert len(added) == 1
    assert store.import_into(run2, "tabular-cancer") == []  # not imported twice
    imported = run2.node(added[0])
    assert isinstance(imported, LessonNode)
    assert imported.source == "store:tabular-cancer:run-1"
    h = run2.propose("stacking", author="b", tags=("ensemble",))
    assert [ls.text for ls in relevant_lessons(run2, h)] == ["Bagging 5 models gained 0.01 AUC."]
    with pytest.raises(TreeError, match="lesson family '../x'"):
        store.load("../x")
