"""The board: finished experiments, and the best of them by ``score``.

``best_by_score`` is the one answer to "which finished experiment is best": the ``ok`` result
with the best ``score`` (verified on the framework's dev rows when the run has them, see
``experiments.validation``) in the task's direction (ties go to the later id in the direction
of the comparison, so the answer never depends on the order results arrived in).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aiscientist.experiments.records import finished
from aiscientist.messages import ExperimentResult


def best_by_score(
    results: Iterable[ExperimentResult], lower_is_better: bool
) -> tuple[str, float] | None:
    """``(exp_id, score)`` of the best finished experiment, or None when none has one."""
    scored = [(r.score, r.exp_id) for r in results if r.status == "ok" and r.score is not None]
    if not scored:
        return None
    score, exp_id = (min if lower_is_better else max)(scored)
    return exp_id, score


class ExperimentBoard:
    """Finished experiments, kept current incrementally: one scan of the run's results when
    the orchestrator (re)starts, then only what the pool reports as newly finished
    (``update`` with the pool's cursor; the runtime asks the pool)."""

    def __init__(self, run_dir: Path, lower_is_better: bool) -> None:
        self.lower = lower_is_better
        self.results: dict[str, ExperimentResult] = {r.exp_id: r for r in finished(run_dir)}
        self.epoch = ""
        self.index = 0
        """The pool's cursor: results up to ``index`` of pool ``epoch`` are on the board."""

    def update(self, epoch: str, index: int, new: list[ExperimentResult]) -> None:
        """Add what the pool reported finished since the cursor, and move the cursor."""
        self.epoch, self.index = epoch, index
        for r in new:
            self.results[r.exp_id] = r

    def best(self) -> tuple[str, float] | None:
        return best_by_score(self.results.values(), self.lower)
