"""Framework-owned validation: the dev split of an improve task, and the verified score.

A score printed by model-written code is a claim: the code chose its own split and its own
scoring. At run start the framework holds out a seeded part of the public training rows (the
*dev* rows; stratified for a one-label classification, by group when the task names a group
column) and writes a *dev view* of the task: ``dev/view/public/`` holds the training rows
without the dev part, the dev rows' features as ``test.csv`` and a matching
``sample_submission.csv``. The dev rows' labels go to ``dev/private/answers.csv``, which the
sandbox hides like the task's own ``private/``.

After an experiment's run, the executor runs the same command on a copy of the same code with
``$TASK_DIR`` set to the dev view, and grades its ``submission.csv`` with the task's own grader
(``verify``). The result carries ``verified_score`` (ours) beside ``reported_score`` (the
code's ``val_score``); ``score`` is the one everything ranks by. A program that ignores
``$TASK_DIR`` or scores itself on its training rows gets no verified score, or a poor one.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from aiscientist.messages import ExperimentResult
from aiscientist.tasks.task import Task

DEV_DIR = "dev"
DEV_VIEW = "dev/view"
DEV_PRIVATE = "dev/private"
SPLIT_FILE = "dev/split.json"
MAX_DEV_ROWS = 20_000
GAP_WARNING = 0.05
"""A reported score further than this (relative) from the verified one is flagged."""


def has_dev_split(run_dir: Path) -> bool:
    return (run_dir / SPLIT_FILE).is_file()


def _dev_rows(
    train: pd.DataFrame,
    labels: list[str],
    group: str | None,
    fraction: float,
    seed: int,
    classify: bool,
) -> np.ndarray:
    """Positions of the dev rows: by group, stratified, or plain random (seeded)."""
    rng = np.random.default_rng(seed)
    n = len(train)
    want = max(1, min(int(round(n * fraction)), MAX_DEV_ROWS, n - 1))
    if group is not None and group in train.columns:
        groups = train[group].astype(str).to_numpy()
        unique = np.array(sorted(set(groups)))
        rng.shuffle(unique)
        chosen: set[str] = set()
        count = 0
        for g in unique:
            if count >= want or len(chosen) >= len(unique) - 1:
                break
            chosen.add(str(g))
            count += int((groups == g).sum())
        return np.flatnonzero(np.isin(groups, list(chosen)))
    if classify:
        y = train[labels[0]].astype(str).to_numpy()
        picked: list[int] = []
        for cls in sorted(set(y)):
            idx = np.flatnonzero(y == cls)
            rng.shuffle(idx)
            k = int(round(len(idx) * fraction)) if len(idx) >= 2 else 0
            picked += idx[:k].tolist()
        if picked:
            return np.array(sorted(picked))
    return np.sort(rng.permutation(n)[:want])


def make_dev_split(run_dir: Path, task: Task, fraction: float, seed: int) -> dict[str, object]:
    """Write the dev view and the dev answers of an improve task into ``run_dir``; returns the
    split record (also written to ``dev/split.json``). Idempotent: an existing split is kept."""
    if has_dev_split(run_dir):
        return dict(json.loads((run_dir / SPLIT_FILE).read_text()))
    public = run_dir / "task" / "public"
    train = pd.read_csv(public / "train.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(public / "test.csv", dtype=str, keep_default_na=False, nrows=5)
    sample = pd.read_csv(public / "sample_submission.csv", dtype=str, keep_default_na=False)
    id_col = task.id_column
    labels = [c for c in train.columns if c not in test.columns]
    if not labels:
        raise ValueError("train.csv has no column that test.csv lacks: no labels to hold out")
    group = getattr(task, "group_column", None)
    distinct = train[labels[0]].nunique()
    classify = len(labels) == 1 and distinct <= min(100, max(2, len(train) // 5))
    rows = _dev_rows(train, labels, group, fraction, seed, classify)
    dev = train.iloc[rows]
    rest = train.drop(index=train.index[rows])
    view = run_dir / DEV_VIEW / "public"
    view.mkdir(parents=True, exist_ok=True)
    private = run_dir / DEV_PRIVATE
    private.mkdir(parents=True, exist_ok=True)
    if id_col not in train.columns:  # the training rows have no ids: number the dev rows
        dev = dev.assign(**{id_col: [f"dev-{i}" for i in range(len(dev))]})
    rest.to_csv(view / "train.csv", index=False)
    dev[[c for c in test.columns if c in dev.columns] or [id_col]].to_csv(
        view / "test.csv", index=False
    )
    template = sample.iloc[[0] * len(dev)].reset_index(drop=True)
    template[id_col] = dev[id_col].to_numpy()
    template.to_csv(view / "sample_submission.csv", index=False)
    dev[[id_col, *labels]].to_csv(private / "answers.csv", index=False)
    for extra in sorted(public.iterdir()):  # other public files (descriptions, images) as is
        if extra.name not in ("train.csv", "test.csv", "sample_submission.csv"):
            target = view / extra.name
            if extra.is_dir():
                shutil.copytree(extra, target, dirs_exist_ok=True)
            else:
                shutil.copy2(extra, target)
    record: dict[str, object] = {
        "seed": seed,
        "fraction": fraction,
        "strategy": "group" if group else "stratified" if classify else "random",
        "group_column": group,
        "train_rows": len(rest),
        "dev_rows": len(dev),
        "labels": labels,
    }
    (run_dir / SPLIT_FILE).write_text(json.dumps(record, indent=1))
    return record


def dev_task(run_dir: Path, task: Task) -> Task:
    """The task as graded on the dev rows (no leaderboard)."""
    return dataclasses.replace(
        task,
        root=run_dir / DEV_VIEW,
        sample_submission=run_dir / DEV_VIEW / "public" / "sample_submission.csv",
        answers=run_dir / DEV_PRIVATE / "answers.csv",
        leaderboard=None,
    )


RunDev = Callable[[Path, dict[str, str]], tuple[str, str]]
"""Runs the experiment's command in a work directory with extra environment; returns
``(status, reason)`` of the sandbox run."""


def verify(run_dir: Path, task: Task, work: Path, run_dev: RunDev) -> tuple[float | None, str]:
    """Run the code in ``work`` on the dev view and grade it: ``(verified score, note)``."""
    from aiscientist.grading.competition import grade_competition

    status, reason = run_dev(work, {"TASK_DIR": str(run_dir / DEV_VIEW)})
    if status != "ok":
        return None, f"dev run {status}: {reason}"[:300]
    sub = work / "submission.csv"
    if not sub.is_file():
        return None, "dev run wrote no submission.csv (does the code read $TASK_DIR?)"
    grade = grade_competition(dev_task(run_dir, task), sub)
    if not grade.valid or grade.score is None:
        return None, f"dev submission invalid: {grade.error}"[:300]
    return float(grade.score), ""


def score_note(result: ExperimentResult) -> str:
    """One line on how far the code's own number is from ours ('' when close or unknown)."""
    v, r = result.verified_score, result.reported_score
    if v is None or r is None:
        return ""
    scale = max(abs(v), 1e-9)
    if abs(v - r) / scale > GAP_WARNING:
        return f"reported val_score {r:.6g} differs from the verified {v:.6g}"
    return ""
