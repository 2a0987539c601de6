"""The rubric tree: weighted-mean scoring, leaves, depth, lossless round trip."""

from __future__ import annotations

import json

import pytest

from aiscientist.tasks import parse_rubric


def test_score_is_weighted_mean_of_children(rubric_dict: dict) -> None:
    root = parse_rubric(rubric_dict)
    # a = mean(a1, a2) with weight 3; b weight 1. Leaves are keyed by their place.
    assert [leaf.key for leaf in root.leaves()] == ["root/a/a1", "root/a/a2", "root/b"]
    a1, a2, b = "root/a/a1", "root/a/a2", "root/b"
    assert root.score({a1: 1, a2: 0, b: 1}) == pytest.approx((3 * 0.5 + 1 * 1) / 4)
    assert root.score({a1: 1, a2: 1, b: 0}) == pytest.approx(0.75)
    assert root.score({}) == 0.0


def test_leaves_and_depth(rubric_dict: dict) -> None:
    root = parse_rubric(rubric_dict)
    assert [leaf.id for leaf in root.leaves()] == ["a1", "a2", "b"]
    assert root.depth() == 3
    assert [n.id for n in root.walk()] == ["root", "a", "a1", "a2", "b"]


def test_round_trip_keeps_every_field_and_extra_keys(rubric_dict: dict) -> None:
    raw = rubric_dict
    raw["sub_tasks"][1]["finegrained_task_category"] = "Evaluation, Metrics & Benchmarking"
    raw["explanation"] = "kept"
    root = parse_rubric(raw)
    again = json.loads(json.dumps(root.to_dict()))
    assert parse_rubric(again) == root
    assert again["explanation"] == "kept"
    assert again["sub_tasks"][1]["finegrained_task_category"].startswith("Evaluation")
