"""Medals by Kaggle's progression rules, as MLE-bench applies them.

The leaderboard is sorted best first. With ``N`` teams, the score at 1-based position ``k``
is the threshold a submission must reach (``>=``, or ``<=`` when lower is better):

============  ===================  =================  =================
teams N       gold                 silver             bronze
============  ===================  =================  =================
1-99          max(1, int(0.1 N))   max(1, int(0.2 N)) max(1, int(0.4 N))
100-249       10                   max(1, int(0.2 N)) max(1, int(0.4 N))
250-999       10 + int(0.002 N)    50                 100
1000+         10 + int(0.002 N)    max(1, int(0.05N)) max(1, int(0.1 N))
============  ===================  =================  =================

Above-median is strictly better than the leaderboard's median score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Medal = Literal["gold", "silver", "bronze"]


@dataclass(frozen=True)
class MedalResult:
    """What a score earns against a leaderboard, and the thresholds used."""

    medal: Medal | None
    above_median: bool
    gold_threshold: float
    silver_threshold: float
    bronze_threshold: float
    median_threshold: float
    num_teams: int

    @property
    def earned(self) -> list[str]:
        """Which of gold/silver/bronze/above-median the score earns."""
        out: list[str] = [self.medal] if self.medal else []
        return out + (["above-median"] if self.above_median else [])


def thresholds(
    leaderboard_scores: Sequence[float], lower_is_better: bool
) -> tuple[float, float, float, float]:
    """(gold, silver, bronze, median) thresholds of a leaderboard (any order)."""
    n = len(leaderboard_scores)
    if n == 0:
        raise ValueError("the leaderboard is empty; medals need at least one team")
    scores = np.sort(np.asarray(leaderboard_scores, dtype=np.float64))
    if not lower_is_better:
        scores = scores[::-1]

    def at(position: int) -> float:
        return float(scores[min(position, n) - 1])

    if n < 100:
        gold, silver, bronze = max(1, int(n * 0.1)), max(1, int(n * 0.2)), max(1, int(n * 0.4))
    elif n < 250:
        gold, silver, bronze = 10, max(1, int(n * 0.2)), max(1, int(n * 0.4))
    elif n < 1000:
        gold, silver, bronze = 10 + int(n * 0.002), 50, 100
    else:
        gold, silver, bronze = 10 + int(n * 0.002), max(1, int(n * 0.05)), max(1, int(n * 0.1))
    return at(gold), at(silver), at(bronze), float(np.median(scores))


def rank(score: float, leaderboard_scores: Sequence[float], lower_is_better: bool) -> MedalResult:
    """The medal and above-median verdict of ``score``, with the thresholds."""
    gold, silver, bronze, median = thresholds(leaderboard_scores, lower_is_better)

    def reaches(threshold: float) -> bool:
        return score <= threshold if lower_is_better else score >= threshold

    medal: Medal | None = None
    if reaches(gold):
        medal = "gold"
    elif reaches(silver):
        medal = "silver"
    elif reaches(bronze):
        medal = "bronze"
    above = score < median if lower_is_better else score > median
    return MedalResult(medal, bool(above), gold, silver, bronze, median, len(leaderboard_scores))


def medal_for(
    score: float, leaderboard_scores: Sequence[float], lower_is_better: bool
) -> list[str]:
    """Which of ``gold``/``silver``/``bronze`` and ``above-median`` ``score`` earns.

    At most one medal, then ``above-median`` if it is strictly better than the median, e.g.
    ``["silver", "above-median"]`` or ``[]``.
    """
    return rank(score, leaderboard_scores, lower_is_better).earned
