"""Fixtures: small, valid task directories that tests then break one file at a time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aiscientist.tasks import BUNDLED_DIR


def leaf(node_id: str, category: str | None = "Code Development", weight: float = 1) -> dict:
    return {
        "id": node_id,
        "requirements": f"requirement {node_id}",
        "weight": weight,
        "sub_tasks": [],
        "task_category": category,
        "finegrained_task_category": None,
    }


def small_rubric() -> dict:
    return {
        "id": "root",
        "requirements": "The paper is replicated",
        "weight": 1,
        "sub_tasks": [
            {
                "id": "a",
                "requirements": "method",
                "weight": 3,
                "sub_tasks": [leaf("a1"), leaf("a2", "Code Execution")],
                "task_category": None,
                "finegrained_task_category": None,
            },
            leaf("b", "Result Analysis", weight=1),
        ],
        "task_category": None,
        "finegrained_task_category": None,
    }


@pytest.fixture
def rubric_dict() -> dict:
    """A fresh copy of the small valid rubric, to mutate."""
    return small_rubric()


@pytest.fixture
def competition_dir(tmp_path: Path) -> Path:
    """A copy of the bundled tabular-cancer competition."""
    dst = tmp_path / "comp"
    shutil.copytree(BUNDLED_DIR / "tabular-cancer", dst)
    return dst


@pytest.fixture
def paper_dir(tmp_path: Path) -> Path:
    """A minimal PaperBench paper directory."""
    d = tmp_path / "paper"
    d.mkdir()
    (d / "paper.md").write_text("# A paper\n\nWe do things.\n")
    (d / "rubric.json").write_text(json.dumps(small_rubric()))
    (d / "addendum.md").write_text("Use seed 0.\n")
    (d / "blacklist.txt").write_text("https://github.com/example/original\n\n# comment\n")
    (d / "config.yaml").write_text("id: tiny-paper\ntitle: A paper\n")
    return d
