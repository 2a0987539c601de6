"""Task loading: PaperBench paper directories (``replicate``) and MLE-bench competition
directories (``improve``), and the bundled offline tasks under ``bundled/``.

Owns reading and validating task input; a malformed task raises ``TaskError`` (or
``RubricError``) naming the file and the field, and nothing is half-loaded. It must not
grade (that is ``aiscientist.grading``) nor touch a run's workspace.
"""

from aiscientist.tasks.loader import BUNDLED_DIR, list_bundled, load_task
from aiscientist.tasks.rubric import TASK_CATEGORIES, RubricNode, parse_rubric, read_rubric
from aiscientist.tasks.task import Task, TaskKind

__all__ = [
    "BUNDLED_DIR",
    "TASK_CATEGORIES",
    "RubricNode",
    "Task",
    "TaskKind",
    "list_bundled",
    "load_task",
    "parse_rubric",
    "read_rubric",
]
