"""Metric functions in numpy, named as MLE-bench's graders name them.

Every metric takes ``(y_true, y_pred)`` as numpy arrays and returns a float. ``shape`` says
what they hold: ``"single"`` metrics take 1-D arrays (one target column); ``"multi"`` metrics
take 2-D arrays ``(rows, columns)`` (per-class probabilities or several targets). Bad input
(one class only for AUC, negative values for RMSLE, wrong shapes) raises ``ValueError``,
which the competition grader reports as an invalid submission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

MetricFn = Callable[[np.ndarray, np.ndarray], float]
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Metric:
    """A named metric, its direction, and what it takes."""

    name: str
    fn: MetricFn
    lower_is_better: bool
    shape: Literal["single", "multi"] = "single"
    predicts: Literal["labels", "values"] = "values"
    """``labels``: predictions are class labels compared exactly; ``values``: numbers."""
    aliases: tuple[str, ...] = field(default=())

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(self.fn(y_true, y_pred))


def _same_len(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true values but {len(y_pred)} predictions")
    if len(y_true) == 0:
        raise ValueError("no rows to score")


def _floats(a: np.ndarray, what: str) -> np.ndarray:
    try:
        out = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric: {exc}") from exc
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{what} contain NaN or infinite values")
    return out


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows predicted exactly."""
    _same_len(y_true, y_pred)
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def rank_average(a: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (``scipy.stats.rankdata``)."""
    order = np.argsort(a, kind="mergesort")
    sa = a[order]
    bounds = np.flatnonzero(np.concatenate(([True], sa[1:] != sa[:-1], [True])))
    avg = (bounds[:-1] + bounds[1:] - 1) / 2.0 + 1.0
    ranks = np.empty(len(a), dtype=np.float64)
    ranks[order] = np.repeat(avg, np.diff(bounds))
    return ranks


def roc_auc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Binary ROC AUC (Mann-Whitney U over average ranks); ``y_true`` in {0, 1}."""
    _same_len(y_true, y_pred)
    t = _floats(y_true, "true labels")
    p = _floats(y_pred, "predictions")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError("ROC AUC needs binary true labels (0/1)")
    n_pos = int(t.sum())
    n_neg = len(t) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC is undefined when the true labels hold only one class")
    ranks = rank_average(p)
    return float((ranks[t == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Binary cross-entropy of the probability of class 1, clipped away from 0 and 1."""
    _same_len(y_true, y_pred)
    t = _floats(y_true, "true labels")
    p = np.clip(_floats(y_pred, "predictions"), _EPS, 1 - _EPS)
    return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))


def multiclass_log_loss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Kaggle's multi-class log loss: clip, renormalise each row, mean ``-log p(true class)``.

    ``y_true`` is one-hot ``(rows, classes)`` or class indices ``(rows,)``.
    """
    _same_len(y_true, y_pred)
    p = _floats(y_pred, "predictions")
    if p.ndim != 2:
        raise ValueError(f"multi-class log loss needs (rows, classes) predictions, got {p.shape}")
    t = _floats(y_true, "true labels")
    if t.ndim == 1:
        idx = t.astype(int)
        if np.any(idx < 0) or np.any(idx >= p.shape[1]):
            raise ValueError("true class index outside the prediction columns")
        t = np.eye(p.shape[1])[idx]
    if t.shape != p.shape:
        raise ValueError(f"true labels {t.shape} and predictions {p.shape} differ in shape")
    p = np.clip(p, _EPS, 1 - _EPS)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.sum(t * np.log(p), axis=1)))


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    _same_len(y_true, y_pred)
    d = _floats(y_true, "true values") - _floats(y_pred, "predictions")
    return float(np.mean(d**2))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(mean_squared_error(y_true, y_pred)))


def rmsle(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error of ``log1p``; negative values are refused."""
    _same_len(y_true, y_pred)
    t = _floats(y_true, "true values")
    p = _floats(y_pred, "predictions")
    if np.any(t < 0) or np.any(p < 0):
        raise ValueError("RMSLE is undefined for negative values")
    return float(np.sqrt(np.mean((np.log1p(t) - np.log1p(p)) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    _same_len(y_true, y_pred)
    return float(np.mean(np.abs(_floats(y_true, "true values") - _floats(y_pred, "predictions"))))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    _same_len(y_true, y_pred)
    t = _floats(y_true, "true values")
    p = _floats(y_pred, "predictions")
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    ss_res = float(np.sum((t - p) ** 2))
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return 1.0 - ss_res / ss_tot


def _f1_for(t: np.ndarray, p: np.ndarray, label: object) -> float:
    tp = float(np.sum((t == label) & (p == label)))
    fp = float(np.sum((t != label) & (p == label)))
    fn = float(np.sum((t == label) & (p != label)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Binary F1 of the positive class ``1``."""
    _same_len(y_true, y_pred)
    return _f1_for(np.asarray(y_true), np.asarray(y_pred), 1)


def f1_macro(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean F1 over every label in the true values or predictions."""
    _same_len(y_true, y_pred)
    t, p = np.asarray(y_true), np.asarray(y_pred)
    labels = np.union1d(t, p)
    return float(np.mean([_f1_for(t, p, lab) for lab in labels]))


def quadratic_weighted_kappa(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Cohen's kappa with quadratic weights over the sorted union of labels (as sklearn)."""
    _same_len(y_true, y_pred)
    t, p = np.asarray(y_true), np.asarray(y_pred)
    labels = np.union1d(t, p)
    k = len(labels)
    ti, pi = np.searchsorted(labels, t), np.searchsorted(labels, p)
    observed = np.zeros((k, k))
    np.add.at(observed, (ti, pi), 1.0)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    grid = np.arange(k, dtype=np.float64)
    weights = (grid[:, None] - grid[None, :]) ** 2
    denom = float(np.sum(weights * expected))
    if denom == 0:
        return 1.0 if float(np.sum(weights * observed)) == 0 else 0.0
    return 1.0 - float(np.sum(weights * observed)) / denom


def _column_wise(single: MetricFn) -> MetricFn:
    def fn(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        t, p = np.asarray(y_true), np.asarray(y_pred)
        if t.ndim != 2 or t.shape != p.shape:
            raise ValueError(f"column-wise metric needs equal 2-D shapes, got {t.shape}, {p.shape}")
        return float(np.mean([single(t[:, j], p[:, j]) for j in range(t.shape[1])]))

    return fn


_METRICS = (
    Metric(
        "accuracy",
        accuracy,
        False,
        predicts="labels",
        aliases=("multi-class-classification-accuracy", "classification-accuracy"),
    ),
    Metric("auc-roc", roc_auc, False, aliases=("roc-auc", "auc", "area-under-roc-curve")),
    Metric("log-loss", log_loss, True, aliases=("binary-log-loss", "logloss")),
    Metric(
        "multi-class-log-loss",
        multiclass_log_loss,
        True,
        shape="multi",
        aliases=("mlogloss", "multiclass-log-loss", "categorical-cross-entropy"),
    ),
    Metric("root-mean-squared-error", rmse, True, aliases=("rmse",)),
    Metric("root-mean-squared-log-error", rmsle, True, aliases=("rmsle",)),
    Metric("mean-squared-error", mean_squared_error, True, aliases=("mse",)),
    Metric("mean-absolute-error", mae, True, aliases=("mae",)),
    Metric("r2", r2, False, aliases=("r2-score", "coefficient-of-determination")),
    Metric("f1", f1, False, predicts="labels", aliases=("f1-score", "binary-f1")),
    Metric("f1-macro", f1_macro, False, predicts="labels", aliases=("macro-f1",)),
    Metric(
        "quadratic-weighted-kappa",
        quadratic_weighted_kappa,
        False,
        predicts="labels",
        aliases=("qwk", "cohen-kappa-quadratic"),
    ),
    Metric(
        "mean-column-wise-roc-auc",
        _column_wise(roc_auc),
        False,
        shape="multi",
        aliases=("column-wise", "mean-column-wise-auc", "column-wise-roc-auc"),
    ),
    Metric(
        "mean-column-wise-rmsle",
        _column_wise(rmsle),
        True,
        shape="multi",
        aliases=("column-wise-rmsle",),
    ),
    Metric(
        "mean-column-wise-log-loss",
        _column_wise(log_loss),
        True,
        shape="multi",
        aliases=("column-wise-log-loss",),
    ),
    Metric("mean-column-wise-rmse", _column_wise(rmse), True, shape="multi"),
    Metric("mean-column-wise-mae", _column_wise(mae), True, shape="multi"),
)


def normalize_name(name: str) -> str:
    """``Root_Mean_Squared Error`` -> ``root-mean-squared-error``."""
    return "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


_BY_NAME: dict[str, Metric] = {}
for _m in _METRICS:
    for _n in (_m.name, *_m.aliases):
        _BY_NAME[normalize_name(_n)] = _m


def metric_names() -> list[str]:
    """Canonical names of every metric."""
    return [m.name for m in _METRICS]


def get_metric(name: str) -> Metric:
    """The metric called ``name`` (any alias, ``_`` or ``-``); ``KeyError`` names the choices."""
    try:
        return _BY_NAME[normalize_name(name)]
    except KeyError:
        raise KeyError(
            f"unknown metric {name!r}; known metrics: {', '.join(metric_names())}"
        ) from None
