"""Grade an ``improve`` submission: validity, the metric on the private answers, medals."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pandas as pd

from aiscientist.grading.medals import rank
from aiscientist.grading.validity import check_submission, read_csv_str
from aiscientist.tasks.metrics import Metric, get_metric
from aiscientist.tasks.task import Task

SCHEMA_VERSION = 1


class CompetitionGrade(msgspec.Struct, frozen=True):
    """The grade of one submission. ``valid=False`` comes with ``error`` saying why."""

    valid: bool
    score: float | None
    metric: str
    lower_is_better: bool
    medal: str | None = None
    """``gold``, ``silver``, ``bronze`` or None."""
    above_median: bool | None = None
    """None when the task has no leaderboard or the submission is invalid."""
    error: str = ""
    gold_threshold: float | None = None
    silver_threshold: float | None = None
    bronze_threshold: float | None = None
    median_threshold: float | None = None
    num_teams: int = 0
    submission: str = ""
    schema_version: int = SCHEMA_VERSION


def _as_labels(values: pd.Series) -> np.ndarray:
    """Labels compared exactly: as numbers when every cell is numeric ("1" == "1.0")."""
    numeric = pd.to_numeric(values, errors="coerce")
    if not numeric.isna().any():
        return numeric.to_numpy(dtype=np.float64)
    return values.astype(str).str.strip().to_numpy()


def _as_numbers(values: pd.Series | pd.DataFrame, what: str) -> np.ndarray:
    numeric = values.apply(pd.to_numeric, errors="coerce")
    if numeric.isna().to_numpy().any():
        raise ValueError(f"{what} must be numeric; found non-numeric cells")
    return numeric.to_numpy(dtype=np.float64)


def _arrays(
    task: Task, metric: Metric, sub: pd.DataFrame, ans: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    targets = list(task.target_columns)
    if metric.shape == "single":
        if len(targets) != 1:
            raise ValueError(f"metric {metric.name!r} scores one column, the task has {targets}")
        col = targets[0]
        if col not in ans.columns:
            raise ValueError(f"answers have no column {col!r}")
        if metric.predicts == "labels":
            return _as_labels(ans[col]), _as_labels(sub[col])
        return _as_numbers(ans[col], "answers"), _as_numbers(sub[col], f"column {col!r}")
    y_pred = _as_numbers(sub[targets], f"columns {targets}")
    if all(c in ans.columns for c in targets):
        return _as_numbers(ans[targets], "answers"), y_pred
    label_cols = [c for c in ans.columns if c != task.id_column]
    if len(label_cols) == 1:  # answers hold the class name; predictions one column per class
        labels = ans[label_cols[0]].astype(str).str.strip()
        unknown = sorted(set(labels) - set(targets))
        if unknown:
            raise ValueError(f"answer classes {unknown[:5]} have no prediction column")
        return np.array([targets.index(v) for v in labels]), y_pred
    raise ValueError(f"answers columns {list(ans.columns)} do not match targets {targets}")


def grade_competition(task: Task, submission_csv: Path) -> CompetitionGrade:
    """Grade ``submission_csv`` on ``task``'s private answers; never raises for a bad file."""
    if task.kind != "improve" or task.sample_submission is None or task.answers is None:
        raise ValueError(f"task {task.name!r} is a {task.kind!r} task, not a competition")
    metric = get_metric(task.metric)

    def invalid(error: str) -> CompetitionGrade:
        return CompetitionGrade(
            valid=False,
            score=None,
            metric=metric.name,
            lower_is_better=task.lower_is_better,
            error=error,
            submission=str(submission_csv),
        )

    problems = check_submission(Path(submission_csv), task.sample_submission, task.id_column)
    if problems:
        return invalid("; ".join(problems))
    sub = read_csv_str(Path(submission_csv)).set_index(task.id_column)
    ans = read_csv_str(task.answers)
    ans = ans.drop_duplicates(task.id_column).set_index(task.id_column)
    missing = sub.index.difference(ans.index)
    if len(missing):
        return invalid(f"{len(missing)} submission ids have no answer (task data is inconsistent)")
    ans = ans.loc[sub.index].reset_index()
    sub = sub.reset_index()
    try:
        y_true, y_pred = _arrays(task, metric, sub, ans)
        score = metric(y_true, y_pred)
    except ValueError as exc:
        return invalid(f"cannot score: {exc}")
    plain = CompetitionGrade(
        valid=True,
        score=score,
        metric=metric.name,
        lower_is_better=task.lower_is_better,
        submission=str(submission_csv),
    )
    if task.leaderboard is None:
        return plain
    board = pd.read_csv(task.leaderboard)
    scores = pd.to_numeric(board["score"], errors="coerce").dropna().tolist()
    if not scores:
        return plain
    r = rank(score, scores, task.lower_is_better)
    return msgspec.structs.replace(
        plain,
        medal=r.medal,
        above_median=r.above_median,
        gold_threshold=r.gold_threshold,
        silver_threshold=r.silver_threshold,
        bronze_threshold=r.bronze_threshold,
        median_threshold=r.median_threshold,
        num_teams=r.num_teams,
    )
