"""Grading the way the benchmarks grade: the competition grader (metrics, validity checks,
Kaggle medals) for ``improve`` tasks and the rubric judge (one model judgement per rubric
leaf, weighted mean up the tree) for ``replicate`` tasks.

Owns scoring only; it reads a task and a run's ``submission/`` and writes nothing but
``grade.json`` (via ``grading.command``). It must not import ray: parallel judging takes a
plain ``map_fn`` that ``aiscientist.runtime.judging`` provides.
"""

from aiscientist.grading.competition import CompetitionGrade, grade_competition
from aiscientist.grading.medals import medal_for
from aiscientist.grading.metrics import get_metric, metric_names
from aiscientist.grading.validity import check_submission

__all__ = [
    "CompetitionGrade",
    "check_submission",
    "get_metric",
    "grade_competition",
    "medal_for",
    "metric_names",
]
