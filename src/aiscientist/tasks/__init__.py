"""Task loading: PaperBench paper directories (``replicate``) and MLE-bench competition
directories (``improve``), and the bundled offline tasks under ``bundled/``.

Owns reading and validating task input; a malformed task raises ``TaskError`` (or
``RubricError``) naming the file and the field, and nothing is half-loaded. Owns the metric
catalogue too (``tasks.metrics``: MLE-bench grader names, their numpy functions and direction),
since a competition's config names its metric. It must not grade a submission (that is
``aiscientist.grading``) nor touch a run's workspace.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
"""The offline tasks shipped with the package (also hidden from sandboxed code)."""

if TYPE_CHECKING:
    from aiscientist.tasks.loader import list_bundled, load_task
    from aiscientist.tasks.metrics import Metric, get_metric, metric_names
    from aiscientist.tasks.rubric import (
        TASK_CATEGORIES,
        RubricNode,
        parse_rubric,
        read_rubric,
    )
    from aiscientist.tasks.task import Task, TaskKind

# Imported on first use: an experiment executor needs BUNDLED_DIR only, and importing the
# loader (pydantic models) cost each fresh Ray worker ~0.3 s, 2 s when eight start at once.
_LAZY = {
    "list_bundled": "loader",
    "load_task": "loader",
    "Metric": "metrics",
    "get_metric": "metrics",
    "metric_names": "metrics",
    "TASK_CATEGORIES": "rubric",
    "RubricNode": "rubric",
    "parse_rubric": "rubric",
    "read_rubric": "rubric",
    "Task": "task",
    "TaskKind": "task",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"aiscientist.tasks.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'aiscientist.tasks' has no attribute {name!r}")


__all__ = [
    "BUNDLED_DIR",
    "Metric",
    "TASK_CATEGORIES",
    "RubricNode",
    "Task",
    "TaskKind",
    "get_metric",
    "list_bundled",
    "load_task",
    "metric_names",
    "parse_rubric",
    "read_rubric",
]
