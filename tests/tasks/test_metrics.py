"""Metric functions agree with scikit-learn on random inputs; every MLE-bench Lite grader
name resolves."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from aiscientist.tasks import metrics as m

# The graders of MLE-bench's low-complexity split (shared/reference/mlebench-lite-graders.tsv).
MLEBENCH_LITE_GRADERS = [
    "auc-roc",
    "quadratic-weighted-kappa",
    "root_mean_squared_error",
    "multi-class-log-loss",
    "log-loss",
    "column-wise",
    "root-mean-squared-error",
    "mean-column-wise-rmsle",
    "mean-column-wise-roc-auc",
    "multi-class-classification-accuracy",
    "accuracy",
]
SEEDS = range(5)


@pytest.mark.parametrize("name", MLEBENCH_LITE_GRADERS)
def test_every_mlebench_lite_grader_resolves(name: str) -> None:
    assert m.get_metric(name).name in m.metric_names()


def test_unknown_metric_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown metric 'vibes'.*auc-roc"):
        m.get_metric("vibes")


def _binary(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    return y, rng.uniform(0.01, 0.99, n)


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, p = _binary(rng, 200 + seed)
    assert m.roc_auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    ties = np.round(p, 1)  # many tied scores: average ranks must match
    assert m.roc_auc(y, ties) == pytest.approx(skm.roc_auc_score(y, ties), abs=1e-12)
    assert m.log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-10)
    labels = (p > 0.5).astype(int)
    assert m.accuracy(y, labels) == pytest.approx(skm.accuracy_score(y, labels))
    assert m.f1(y, labels) == pytest.approx(skm.f1_score(y, labels))


@pytest.mark.parametrize("seed", SEEDS)
def test_multiclass_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    k, n = 3 + seed % 3, 300
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)
    p = rng.dirichlet(np.ones(k), n)
    onehot = np.eye(k)[y]
    expected = skm.log_loss(y, p, labels=list(range(k)))
    assert m.multiclass_log_loss(onehot, p) == pytest.approx(expected, rel=1e-10)
    assert m.multiclass_log_loss(y, p) == pytest.approx(expected, rel=1e-10)
    pred = rng.integers(0, k, n)
    assert m.quadratic_weighted_kappa(y, pred) == pytest.approx(
        skm.cohen_kappa_score(y, pred, weights="quadratic"), abs=1e-12
    )
    good = np.where(rng.uniform(size=n) < 0.7, y, pred)
    assert m.quadratic_weighted_kappa(y, good) == pytest.approx(
        skm.cohen_kappa_score(y, good, weights="quadratic"), abs=1e-12
    )
    assert m.f1_macro(y, good) == pytest.approx(skm.f1_score(y, good, average="macro"))
    assert m.accuracy(y, good) == pytest.approx(skm.accuracy_score(y, good))


@pytest.mark.parametrize("seed", SEEDS)
def test_regression_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    t = rng.gamma(2.0, 3.0, 150)
    p = np.abs(t + rng.normal(0, 2.0, 150))
    assert m.rmse(t, p) == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)), rel=1e-12)
    assert m.rmsle(t, p) == pytest.approx(skm.root_mean_squared_log_error(t, p), rel=1e-12)
    assert m.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-12)
    assert m.mean_squared_error(t, p) == pytest.approx(skm.mean_squared_error(t, p), rel=1e-12)
    assert m.r2(t, p) == pytest.approx(skm.r2_score(t, p), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_column_wise_metrics_match_sklearn_per_column_mean(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    y = rng.integers(0, 2, (120, 4))
    y[:2] = [[0] * 4, [1] * 4]
    p = rng.uniform(size=(120, 4))
    expected_auc = np.mean([skm.roc_auc_score(y[:, j], p[:, j]) for j in range(4)])
    assert m.get_metric("column-wise")(y, p) == pytest.approx(expected_auc, abs=1e-12)
    assert m.get_metric("mean-column-wise-roc-auc")(y, p) == pytest.approx(expected_auc)
    t, q = rng.gamma(2.0, 1.0, (80, 2)), rng.gamma(2.0, 1.0, (80, 2))
    expected_rmsle = np.mean([skm.root_mean_squared_log_error(t[:, j], q[:, j]) for j in range(2)])
    assert m.get_metric("mean-column-wise-rmsle")(t, q) == pytest.approx(expected_rmsle)


def test_directions() -> None:
    lower = {"log-loss", "multi-class-log-loss", "rmse", "rmsle", "mae", "mean-column-wise-rmsle"}
    higher = {"accuracy", "auc-roc", "f1", "qwk", "column-wise", "r2"}
    assert all(m.get_metric(n).lower_is_better for n in lower)
    assert not any(m.get_metric(n).lower_is_better for n in higher)


@pytest.mark.parametrize(
    ("fn", "y", "p", "message"),
    [
        (m.roc_auc, [1, 1, 1], [0.1, 0.2, 0.3], "only one class"),
        (m.rmsle, [1.0, 2.0], [-1.0, 2.0], "negative"),
        (m.rmse, [1.0, 2.0], [1.0], "2 true values but 1 predictions"),
        (m.rmse, [1.0, 2.0], [np.nan, 1.0], "NaN"),
    ],
)
def test_bad_inputs_raise_value_error_with_reason(fn, y, p, message) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=message):
        fn(np.asarray(y), np.asarray(p))
