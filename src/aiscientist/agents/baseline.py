"""A working ``train.py`` for any tabular improve task, shaped by the task's metric.

The framework knows what a model-written program must match: the metric (from the task's
config), the submission's columns (one target column, one probability column per class, or
one column per target) and the data files. ``baseline_program`` writes a short, correct
program for that shape: gradient boosting on every feature (categorical columns encoded,
missing values kept), a stratified held-out split scored with the task's metric into
``metrics.json``, then a refit on all rows and a ``submission.csv`` in the sample's exact
layout. It is the implementation prompt's example (so a model adapts a program of the right
shape instead of copying a classifier onto a regression), and the way out of a dead end for a
steered session (``agents/steering.py``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from aiscientist.tasks.metrics import get_metric

REGRESSION = {
    "root-mean-squared-error",
    "root-mean-squared-log-error",
    "mean-squared-error",
    "mean-absolute-error",
    "r2",
    "mean-column-wise-rmsle",
    "mean-column-wise-rmse",
    "mean-column-wise-mae",
}
PROBABILITY = {
    "auc-roc",
    "log-loss",
    "multi-class-log-loss",
    "mean-column-wise-roc-auc",
    "mean-column-wise-log-loss",
}

_SCORES = {
    "accuracy": "M.accuracy_score(t, p)",
    "auc-roc": "M.roc_auc_score(t, p)",
    "log-loss": "M.log_loss(t, p, labels=[0, 1])",
    "multi-class-log-loss": "M.log_loss(t, p, labels=list(range(p.shape[1])))",
    "root-mean-squared-error": "M.mean_squared_error(t, p) ** 0.5",
    "root-mean-squared-log-error": "M.mean_squared_log_error(t, np.clip(p, 0, None)) ** 0.5",
    "mean-squared-error": "M.mean_squared_error(t, p)",
    "mean-absolute-error": "M.mean_absolute_error(t, p)",
    "r2": "M.r2_score(t, p)",
    "f1": "M.f1_score(t, p)",
    "f1-macro": 'M.f1_score(t, p, average="macro")',
    "quadratic-weighted-kappa": 'M.cohen_kappa_score(t, p, weights="quadratic")',
    "mean-column-wise-roc-auc": "np.mean([M.roc_auc_score(t[:, j], p[:, j]) "
    "for j in range(t.shape[1])])",
    "mean-column-wise-log-loss": "np.mean([M.log_loss(t[:, j], p[:, j], labels=[0, 1]) "
    "for j in range(t.shape[1])])",
    "mean-column-wise-rmsle": "np.mean([M.mean_squared_log_error(t[:, j], "
    "np.clip(p[:, j], 0, None)) ** 0.5 for j in range(t.shape[1])])",
    "mean-column-wise-rmse": "np.mean([M.mean_squared_error(t[:, j], p[:, j]) ** 0.5 "
    "for j in range(t.shape[1])])",
    "mean-column-wise-mae": "np.mean([M.mean_absolute_error(t[:, j], p[:, j]) "
    "for j in range(t.shape[1])])",
}

_PROGRAM = '''\
"""Baseline for this task: gradient boosting, scored with {metric} on a held-out 20%."""
import json
import os

import numpy as np
import pandas as pd
from sklearn import metrics as M
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split

KIND = "{kind}"  # regression | labels | probability
SEED = int(os.environ.get("SEED", "0"))
task = os.environ["TASK_DIR"]
train = pd.read_csv(f"{{task}}/public/train.csv")
test = pd.read_csv(f"{{task}}/public/test.csv")
sample = pd.read_csv(f"{{task}}/public/sample_submission.csv")
id_col, out_cols = sample.columns[0], list(sample.columns[1:])
features = [c for c in test.columns if c != id_col and c in train.columns]
labels = [c for c in train.columns if c not in test.columns] or out_cols
# one label column and one submission column per class: predict class probabilities
per_class = KIND == "probability" and len(labels) == 1 and len(out_cols) > 1


def add_features(X):
    """New columns computed from the feature columns (the same for training and test rows)."""
    return X


def make_model(classify):
    """The estimator: a classifier if classify is True, else a regressor."""
    if classify:
        return HistGradientBoostingClassifier(random_state=SEED)
    return HistGradientBoostingRegressor(random_state=SEED)


both = pd.concat([train[features], test[features]])
for c in features:  # categorical columns as integer codes (missing values stay NaN)
    if not pd.api.types.is_numeric_dtype(both[c]):
        codes = both[c].astype("category").cat.codes.replace(-1, np.nan)
        both[c] = codes.astype(float)
both = add_features(both)
X, X_test = both.iloc[: len(train)], both.iloc[len(train) :]


def score(t, p):
    return float({score})


classes = [str(c) for c in out_cols]
if per_class:  # class labels that are not the column names map to them in sorted order
    seen = sorted(train[labels[0]].astype(str).unique())
    rename = dict(zip(seen, classes)) if not set(seen) & set(classes) else {{}}
    train[labels[0]] = train[labels[0]].astype(str).replace(rename)


def fit_predict(X_fit, y_fit, X_new):
    """Predictions for X_new, shaped like the submission's target columns."""
    if per_class:
        y = y_fit.iloc[:, 0].astype(str)
        model = make_model(True).fit(X_fit, y)
        proba = pd.DataFrame(model.predict_proba(X_new), columns=model.classes_)
        return proba.reindex(columns=classes, fill_value=0.0).to_numpy()
    cols = []
    for j in range(y_fit.shape[1]):
        y = y_fit.iloc[:, j]
        if KIND == "regression":
            cols.append(make_model(False).fit(X_fit, y).predict(X_new))
        elif KIND == "probability":
            model = make_model(True).fit(X_fit, y)
            cols.append(model.predict_proba(X_new)[:, list(model.classes_).index(1)])
        else:
            cols.append(make_model(True).fit(X_fit, y).predict(X_new))
    return np.column_stack(cols)


y_all = train[labels]
stratify = None
if KIND != "regression" and y_all.shape[1] == 1 and y_all.iloc[:, 0].value_counts().min() >= 2:
    stratify = y_all.iloc[:, 0]
X_tr, X_val, y_tr, y_val = train_test_split(
    X, y_all, test_size=0.2, random_state=SEED, stratify=stratify
)
pred = fit_predict(X_tr, y_tr, X_val)
if per_class:
    truth = y_val.iloc[:, 0].astype(str).map({{c: i for i, c in enumerate(classes)}}).to_numpy()
else:
    truth = y_val.to_numpy()
    if pred.shape[1] == 1:
        truth, pred = truth[:, 0], pred[:, 0]
json.dump({{"val_score": score(truth, pred)}}, open("metrics.json", "w"))
print("val_score", score(truth, pred))

final = fit_predict(X, y_all, X_test)
submission = pd.DataFrame(final, columns=out_cols)
submission.insert(0, id_col, test[id_col].to_numpy())
submission.to_csv("submission.csv", index=False)
'''


def kind_of(metric: str) -> str:
    """``regression``, ``probability`` or ``labels``: what a submission holds for ``metric``."""
    name = get_metric(metric).name
    if name in REGRESSION:
        return "regression"
    return "probability" if name in PROBABILITY else "labels"


def baseline_program(metric: str) -> str:
    """A complete ``train.py`` for an improve task scored with ``metric`` (see the module
    docstring); it reads ``$TASK_DIR`` and writes ``metrics.json`` and ``submission.csv``."""
    name = get_metric(metric).name
    return _PROGRAM.format(metric=name, kind=kind_of(name), score=_SCORES[name])


@functools.cache
def task_metric(run_dir: Path) -> str:
    """The metric of the task of the run in ``run_dir`` (read once per run)."""
    from aiscientist.tasks import load_task
    from aiscientist.workspace.rundir import read_manifest

    return load_task(read_manifest(run_dir).task.source).metric
