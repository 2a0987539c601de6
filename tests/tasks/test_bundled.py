"""Every bundled improve task loads, stays small, grades its own sample submission, and keeps
its test set disjoint from train (whole groups, where the task declares a group column)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aiscientist.errors import TaskError
from aiscientist.grading.competition import grade_competition
from aiscientist.tasks import list_bundled, load_task

IMPROVE = [n for n in list_bundled() if load_task(n).kind == "improve"]

SHAPES = {
    "card-fraud": ("auc-roc", ("is_fraud",)),
    "land-cover": (
        "multi-class-log-loss",
        ("conifer", "deciduous", "grassland", "shrub", "wetland"),
    ),
    "noisy-digits": ("accuracy", ("digit",)),
    "building-energy": ("root-mean-squared-error", ("energy_kwh",)),
    "crop-yield-sites": ("mean-absolute-error", ("yield_t_ha",)),
}
"""The tasks with headroom (scripts/bundled_headroom_tasks.py): metric and target columns."""


def test_the_headroom_tasks_are_bundled() -> None:
    assert set(SHAPES) <= set(IMPROVE)
    for name, (metric, targets) in SHAPES.items():
        task = load_task(name)
        assert (task.metric, task.target_columns) == (metric, targets)


@pytest.mark.parametrize("name", IMPROVE)
def test_bundled_task_is_small_and_its_ids_split_cleanly(name: str) -> None:
    task = load_task(name)
    assert task.leaderboard is not None and task.answers is not None
    train = pd.read_csv(task.root / "public" / "train.csv")
    test = pd.read_csv(task.root / "public" / "test.csv")
    answers = pd.read_csv(task.answers)
    assert len(train) + len(test) <= 5000
    assert set(test[task.id_column]) == set(answers[task.id_column])
    assert not set(train[task.id_column]) & set(test[task.id_column])
    assert not set(task.target_columns) & set(test.columns)
    assert len(pd.read_csv(task.leaderboard)) >= 100


@pytest.mark.parametrize("name", IMPROVE)
def test_sample_submission_grades_without_a_medal(name: str) -> None:
    task = load_task(name)
    assert task.sample_submission is not None
    grade = grade_competition(task, task.sample_submission)
    assert grade.valid, grade.error
    assert grade.medal is None and grade.above_median is False


def test_land_cover_answers_hold_one_column_per_class() -> None:
    task = load_task("land-cover")
    assert task.answers is not None
    answers = pd.read_csv(task.answers)
    assert (answers[list(task.target_columns)].sum(axis=1) == 1).all()
    train = pd.read_csv(task.root / "public" / "train.csv")
    assert set(train["cover_type"]) == set(task.target_columns)


def test_card_fraud_is_imbalanced() -> None:
    train = pd.read_csv(load_task("card-fraud").root / "public" / "train.csv")
    assert 0.02 < train["is_fraud"].mean() < 0.1


def test_grouped_task_holds_out_whole_groups() -> None:
    task = load_task("crop-yield-sites")
    assert task.group_column == "site_id"
    train = pd.read_csv(task.root / "public" / "train.csv")
    test = pd.read_csv(task.root / "public" / "test.csv")
    assert not set(train["site_id"]) & set(test["site_id"])
    assert test["site_id"].nunique() >= 10
    assert all(load_task(n).group_column is None for n in IMPROVE if n != "crop-yield-sites")


def test_group_column_must_be_a_train_column(tmp_path: Path, competition_dir: Path) -> None:
    cfg = competition_dir / "config.yaml"
    cfg.write_text(cfg.read_text() + "group_column: site_id\n")
    with pytest.raises(TaskError, match="group_column.*'site_id'.*train.csv"):
        load_task(competition_dir)
