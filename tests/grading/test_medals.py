"""Kaggle medal thresholds: both sides of every threshold, in every team-count bracket and
across each bracket boundary, for higher- and lower-is-better metrics."""

from __future__ import annotations

import pytest

from aiscientist.grading.medals import medal_for, rank, thresholds

# teams -> 1-based leaderboard positions of the (gold, silver, bronze) thresholds, worked out
# by hand from Kaggle's progression table.
POSITIONS = {
    1: (1, 1, 1),
    5: (1, 1, 2),
    10: (1, 2, 4),
    99: (9, 19, 39),
    100: (10, 20, 40),
    249: (10, 49, 99),
    250: (10, 50, 100),
    999: (11, 50, 100),
    1000: (12, 50, 100),
    2600: (15, 130, 260),
}


def board(n: int, lower_is_better: bool) -> list[float]:
    """Distinct scores; position k (1-based) holds k (lower better) or n + 1 - k (higher)."""
    return [float(k) if lower_is_better else float(n + 1 - k) for k in range(1, n + 1)]


def at(n: int, position: int, lower_is_better: bool) -> float:
    return float(position) if lower_is_better else float(n + 1 - position)


def worse(score: float, lower_is_better: bool) -> float:
    return score + 0.5 if lower_is_better else score - 0.5


@pytest.mark.parametrize("lower_is_better", [False, True])
@pytest.mark.parametrize("n", sorted(POSITIONS))
def test_both_sides_of_each_threshold(n: int, lower_is_better: bool) -> None:
    scores = board(n, lower_is_better)
    g, s, b = POSITIONS[n]
    gt, st, bt, _ = thresholds(scores, lower_is_better)
    assert (gt, st, bt) == tuple(at(n, p, lower_is_better) for p in (g, s, b))
    assert rank(at(n, g, lower_is_better), scores, lower_is_better).medal == "gold"
    just_missed_gold = rank(
        worse(at(n, g, lower_is_better), lower_is_better), scores, lower_is_better
    ).medal
    assert just_missed_gold != "gold"
    if s > g:
        assert rank(at(n, s, lower_is_better), scores, lower_is_better).medal == "silver"
    if b > s:
        assert rank(at(n, b, lower_is_better), scores, lower_is_better).medal == "bronze"
        assert (
            rank(worse(at(n, s, lower_is_better), lower_is_better), scores, lower_is_better).medal
            == "bronze"
        )
    assert (
        rank(worse(at(n, b, lower_is_better), lower_is_better), scores, lower_is_better).medal
        is None
    )


@pytest.mark.parametrize("lower_is_better", [False, True])
@pytest.mark.parametrize(("small", "large"), [(99, 100), (249, 250), (999, 1000)])
def test_bracket_boundaries_change_thresholds(
    small: int, large: int, lower_is_better: bool
) -> None:
    """The same leaderboard position earns different medals on either side of a boundary."""
    for n in (small, large):
        scores = board(n, lower_is_better)
        for medal, pos in zip(("gold", "silver", "bronze"), POSITIONS[n], strict=True):
            r = rank(at(n, pos, lower_is_better), scores, lower_is_better)
            expected = medal
            if medal != "gold" and pos <= POSITIONS[n][0]:
                expected = "gold"
            assert r.medal == expected, (n, medal, pos)
    # gold: position 10 is gold with 100 teams but not with 99 (gold there is position 9)
    if (small, large) == (99, 100):
        assert (
            rank(at(99, 10, lower_is_better), board(99, lower_is_better), lower_is_better).medal
            == "silver"
        )
        assert (
            rank(at(100, 10, lower_is_better), board(100, lower_is_better), lower_is_better).medal
            == "gold"
        )
    # silver: position 50 is silver with 250 teams, bronze with 249 (silver there is 49)
    if (small, large) == (249, 250):
        assert (
            rank(at(249, 50, lower_is_better), board(249, lower_is_better), lower_is_better).medal
            == "bronze"
        )
        assert (
            rank(at(250, 50, lower_is_better), board(250, lower_is_better), lower_is_better).medal
            == "silver"
        )
    # gold: position 12 is gold with 1000 teams, silver with 999 (gold there is 11)
    if (small, large) == (999, 1000):
        assert (
            rank(at(999, 12, lower_is_better), board(999, lower_is_better), lower_is_better).medal
            == "silver"
        )
        assert (
            rank(at(1000, 12, lower_is_better), board(1000, lower_is_better), lower_is_better).medal
            == "gold"
        )


@pytest.mark.parametrize("lower_is_better", [False, True])
def test_above_median_is_strict(lower_is_better: bool) -> None:
    scores = board(101, lower_is_better)  # median is position 51's score
    median = at(101, 51, lower_is_better)
    assert medal_for(median, scores, lower_is_better) == []
    better = median - 0.5 if lower_is_better else median + 0.5
    assert medal_for(better, scores, lower_is_better) == ["above-median"]
    best = at(101, 1, lower_is_better)
    assert medal_for(best, scores, lower_is_better) == ["gold", "above-median"]


def test_leaderboard_order_does_not_matter() -> None:
    scores = board(300, False)
    assert thresholds(scores, False) == thresholds(list(reversed(scores)), False)


def test_empty_leaderboard_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        medal_for(1.0, [], False)
