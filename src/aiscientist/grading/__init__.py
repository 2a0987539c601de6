"""Grading the way the benchmarks grade: the competition grader (the task's metric from
``tasks.metrics``, validity checks, Kaggle medals) for ``improve`` tasks and the rubric judge
(one model judgement per rubric leaf, weighted mean up the tree) for ``replicate`` tasks.

Owns scoring only; it reads a task and a run's ``submission/`` and writes ``grade.json`` (via
``grading.command``) and, for a replicate run, the reproduction it judges on
(``grading.reproduction``: ``reproduce.sh`` run in the clean room, its log, verdict and
outputs). It must not import ray: parallel judging takes a plain ``map_fn`` that
``aiscientist.runtime.judging`` provides.

Exports load lazily, so a Ray worker that only judges rubric leaves never imports pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiscientist.grading.competition import CompetitionGrade, grade_competition
    from aiscientist.grading.medals import medal_for
    from aiscientist.grading.validity import check_submission

_EXPORTS = {
    "CompetitionGrade": "aiscientist.grading.competition",
    "grade_competition": "aiscientist.grading.competition",
    "medal_for": "aiscientist.grading.medals",
    "check_submission": "aiscientist.grading.validity",
}
__all__ = [
    "CompetitionGrade",
    "check_submission",
    "grade_competition",
    "medal_for",
]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'aiscientist.grading' has no attribute {name!r}")
