"""Standard changes to the framework's tabular program, offered to a model that refines it.

The framework's program (``agents/baseline.py``) keeps its choices in two small functions,
``make_model(classify)`` and ``add_features(X)``. ``IDEAS`` is a short catalog of changes a
careful engineer tries first on tabular data, each a whole replacement of one of them: a
regularized boosting, pairwise products as features, bagged trees, a kernel SVM, a linear
model, a random forest. Every one is written against names the program defines (``SEED``,
``KIND``, ``pd``, the boosting classes) and works for every task kind.

``ideas_block`` is the prompt section a refining model sees (the team's ``refine``, a
peer's work, AIDE's improve): the ideas the program can take (it defines the function) that
no experiment of the run has tried yet (no experiment's ``work/train.py`` holds that
function: the same names used, whatever the numbers), by title, the first with its code,
ready for ``replace_function``. A small model copies it and the next experiment tests it; a
capable one may write another. The catalog is the same for every task and every mode.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aiscientist.agents.code_repair import replace_function
from aiscientist.experiments.records import scan


@dataclass(frozen=True)
class Idea:
    title: str
    function: str
    code: str


IDEAS = (
    Idea(
        "regularized boosting (learning rate 0.05, up to 500 iterations, L2 1.0, early stopping)",
        "make_model",
        '''def make_model(classify):
    """Boosting with a smaller learning rate, L2 regularization and early stopping."""
    params = dict(
        learning_rate=0.05, max_iter=500, l2_regularization=1.0, early_stopping=True,
        random_state=SEED,
    )
    if classify:
        return HistGradientBoostingClassifier(**params)
    return HistGradientBoostingRegressor(**params)
''',
    ),
    Idea(
        "pairwise products of the first 12 numeric features as new columns",
        "add_features",
        '''def add_features(X):
    """The feature columns and the pairwise products of the first 12 numeric ones."""
    X = X.copy()
    cols = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])][:12]
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            X[f"{a}*{b}"] = X[a] * X[b]
    return X
''',
    ),
    Idea(
        "extremely randomized trees (400 trees, leaves of at least 2 rows)",
        "make_model",
        '''def make_model(classify):
    """Extremely randomized trees, averaged."""
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    params = dict(n_estimators=400, min_samples_leaf=2, n_jobs=-1, random_state=SEED)
    if classify:
        return make_pipeline(SimpleImputer(), ExtraTreesClassifier(**params))
    return make_pipeline(SimpleImputer(), ExtraTreesRegressor(**params))
''',
    ),
    Idea(
        "an RBF-kernel SVM on standardized features",
        "make_model",
        '''def make_model(classify):
    """An RBF-kernel support vector machine on standardized features."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    if classify:
        svm = SVC(probability=KIND == "probability", random_state=SEED)
        return make_pipeline(SimpleImputer(), StandardScaler(), svm)
    return make_pipeline(SimpleImputer(), StandardScaler(), SVR(C=3.0))
''',
    ),
    Idea(
        "a linear model on standardized features (logistic regression, or ridge)",
        "make_model",
        '''def make_model(classify):
    """A linear model on standardized features."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if classify:
        return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=2000))
    return make_pipeline(SimpleImputer(), StandardScaler(), RidgeCV())
''',
    ),
    Idea(
        "a random forest (400 trees, leaves of at least 2 rows)",
        "make_model",
        '''def make_model(classify):
    """A random forest."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    params = dict(n_estimators=400, min_samples_leaf=2, n_jobs=-1, random_state=SEED)
    if classify:
        return make_pipeline(SimpleImputer(), RandomForestClassifier(**params))
    return make_pipeline(SimpleImputer(), RandomForestRegressor(**params))
''',
    ),
)


def apply_idea(program: str, idea: Idea) -> str | None:
    """``program`` with ``idea``'s function in place of its own; None when it does not take it."""
    try:
        return replace_function(program, idea.function, idea.code)[0]
    except ValueError:
        return None


def _defs(source: str) -> dict[str, ast.FunctionDef]:
    """Top-level functions of ``source`` by name ({} when it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _names(node: ast.AST) -> frozenset[str]:
    """The names ``node`` uses (variables, attributes, keyword arguments), constants ignored:
    a copy of an idea with other numbers is that idea."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.Attribute):
            names.add(n.attr)
        elif isinstance(n, ast.keyword) and n.arg:
            names.add(n.arg)
        elif isinstance(n, ast.alias):
            names.add(n.asname or n.name)
    return frozenset(names)


def _functions(source: str) -> dict[str, frozenset[str]]:
    """Top-level functions of ``source`` by name, each as the names it uses."""
    return {name: _names(node) for name, node in _defs(source).items()}


def describe_change(before: str, after: str) -> str:
    """One line naming what ``after`` changed in ``before``'s functions: the standard change a
    changed function is, else what it now returns (a new estimator) or the names it now uses
    (new columns); '' when no function changed or ``after`` does not parse."""
    old, new = _defs(before), _defs(after)
    parts = []
    for name, node in new.items():
        if name in old and ast.dump(old[name]) == ast.dump(node):
            continue
        names = _names(node)
        idea = next(
            (i for i in IDEAS if i.function == name and _functions(i.code).get(name) == names),
            None,
        )
        returned = [
            n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None
        ]
        if idea is not None:
            gist = idea.title
        elif returned and not isinstance(returned[-1], ast.Name):
            gist = "returns " + ast.unparse(returned[-1])
        else:
            added = sorted(names - (_names(old[name]) if name in old else frozenset()))
            gist = "now uses " + ", ".join(added[:8]) if added else "rewritten"
        parts.append(f"{name}: {gist}")
    return "; ".join(parts)[:300]


def tried_programs(run_dir: Path) -> list[str]:
    """The ``train.py`` of every experiment of the run (the code each one ran)."""
    found = []
    for entry in scan(run_dir):
        p = entry.path / "work" / "train.py"
        if p.is_file():
            found.append(p.read_text(errors="replace"))
    return found


def untried(program: str, tried: Iterable[str]) -> list[Idea]:
    """The ideas ``program`` can take (it defines the function) that no program in ``tried``
    and not ``program`` itself already holds."""
    has = _functions(program)
    seen = [_functions(t) for t in tried] + [has]
    out = []
    for idea in IDEAS:
        mine = _functions(idea.code)[idea.function]
        if idea.function in has and not any(s.get(idea.function) == mine for s in seen):
            out.append(idea)
    return out


def ideas_block(program: str, run_dir: Path, first: str = "") -> str:
    """The untried ideas for ``program`` as a prompt section, the first with its code (''
    when none): a small model copies it, a capable one may write another from its title.
    The idea titled ``first`` (a hypothesis that names one) comes first."""
    ideas = untried(program, tried_programs(run_dir))
    ideas.sort(key=lambda idea: idea.title != first)
    if not ideas:
        return ""
    titles = "\n".join(f"{i}. {idea.title} (`{idea.function}`)" for i, idea in enumerate(ideas, 1))
    head = ideas[0]
    return (
        "\n\nStandard changes no experiment has tried yet:\n"
        f"{titles}\nThe first, as the whole function `{head.function}`:\n"
        f"```python\n{head.code}```"
    )
