"""Submission first: a run of an improve task always ends with a valid submission.

At run start the framework writes a *prior* submission (``dev/prior_submission.csv``; not in
``submission/``, where a valid file would tell the agents their job is done): the training
mean for a numeric target, the most frequent class for labels, the class frequencies for
probability columns, in the sample submission's exact layout. At the end, ``finalize`` keeps
``submission/submission.csv`` when it is valid; otherwise it puts back the output of the best
verified experiment, or the prior.
Whatever the search did, the grader gets something it can grade.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from aiscientist.experiments.board import best_by_score
from aiscientist.experiments.records import exp_dir, finished
from aiscientist.grading.validity import check_submission
from aiscientist.tasks.task import Task

PRIOR = "dev/prior_submission.csv"


def _fill(train: pd.DataFrame, labels: list[str], column: str, n_cols: int) -> float | str:
    """The prior value of one submission column."""
    if column in train.columns:
        y = train[column]
        numeric = pd.to_numeric(y, errors="coerce")
        if numeric.notna().all() and y.nunique() > 20:
            return float(numeric.mean())
        if numeric.notna().all() and set(numeric.unique()) <= {0, 1} and n_cols > 1:
            return float(numeric.mean())  # one of several binary targets: its rate
        return str(y.mode().iloc[0])
    if len(labels) == 1:  # a probability column per class: the class frequency
        freq = train[labels[0]].astype(str).value_counts(normalize=True)
        return float(freq.get(column, 1e-3))
    return 0.0


def write_prior(run_dir: Path, task: Task) -> Path:
    """Write the prior submission (see the module docstring); returns its path."""
    public = run_dir / "task" / "public"
    train = pd.read_csv(public / "train.csv")
    sample = pd.read_csv(public / "sample_submission.csv")
    test_cols = set(pd.read_csv(public / "test.csv", nrows=1).columns)
    labels = [c for c in train.columns if c not in test_cols]
    out = sample.copy()
    targets = [c for c in sample.columns if c != task.id_column]
    for col in targets:
        out[col] = _fill(train, labels, col, len(targets))
    if len(targets) > 1 and not any(c in train.columns for c in targets):
        out[targets] = out[targets].div(out[targets].sum(axis=1), axis=0)  # rows sum to one
    path = run_dir / PRIOR
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path


def finalize(run_dir: Path, task: Task) -> str:
    """Make ``submission/submission.csv`` valid before grading; returns what was done."""
    sample = run_dir / "task" / "public" / "sample_submission.csv"
    current = run_dir / "submission" / "submission.csv"
    problems = check_submission(current, sample, task.id_column)
    if not problems:
        return "kept the run's submission"
    best = best_by_score(finished(run_dir), task.lower_is_better)
    if best is not None:
        out = exp_dir(run_dir, best[0]) / "work" / "submission.csv"
        if out.is_file() and not check_submission(out, sample, task.id_column):
            shutil.copy2(out, current)
            return (
                f"submission invalid ({problems[0]}); used {best[0]}'s output (score {best[1]:.6g})"
            )
    prior = run_dir / PRIOR
    if prior.is_file():
        shutil.copy2(prior, current)
        return f"submission invalid ({problems[0]}); used the prior submission"
    return f"submission invalid ({problems[0]}); nothing to fall back on"
