"""Mend the slips a small model makes in a Python file again and again and cannot repair.

- **Markdown fences**: it writes a file's content as a chat reply, `````python`` first and
  ````` last, a ``SyntaxError`` on line 1. The fenced code is kept.
- **HTML entities**: the embedded 1.5B model sometimes writes a whole program with ``&#34;``
  for ``"`` (and ``&gt;``, ``&amp;`` ...), a ``SyntaxError`` it then repeats in every retry.
  A file that does not parse, and parses once its entities are decoded, is decoded.
- **Missing imports**: it writes ``os.environ[...]``, ``pd.read_csv(...)`` or
  ``train_test_split(...)`` and drops the import, then fails to repair the ``NameError``.
  ``add_missing_imports`` finds module names used as the base of an attribute (``os.path``,
  ``pd.DataFrame``) and common scikit-learn names used bare that nothing in the file binds,
  and prepends their import (after a shebang, encoding line or module docstring).

``repair_python`` does all three and says what it did (the model is told). Files that do not parse
either way are returned unchanged.
"""

from __future__ import annotations

import ast
import html
import re

CONVENTIONAL: dict[str, str] = {
    "os": "import os",
    "sys": "import sys",
    "json": "import json",
    "math": "import math",
    "random": "import random",
    "time": "import time",
    "shutil": "import shutil",
    "pathlib": "import pathlib",
    "pickle": "import pickle",
    "np": "import numpy as np",
    "pd": "import pandas as pd",
}
"""Module names used as the base of an attribute (``pd.read_csv``)."""

_SKLEARN = {
    "model_selection": "train_test_split KFold StratifiedKFold GroupKFold cross_val_score",
    "metrics": (
        "accuracy_score roc_auc_score log_loss mean_squared_error mean_absolute_error f1_score"
    ),
    "ensemble": (
        "RandomForestClassifier RandomForestRegressor GradientBoostingClassifier "
        "GradientBoostingRegressor HistGradientBoostingClassifier HistGradientBoostingRegressor "
        "ExtraTreesClassifier ExtraTreesRegressor"
    ),
    "linear_model": "LogisticRegression LinearRegression Ridge Lasso",
    "preprocessing": "StandardScaler OneHotEncoder LabelEncoder",
    "impute": "SimpleImputer",
    "pipeline": "Pipeline make_pipeline",
}
NAMES: dict[str, str] = {
    name: f"from sklearn.{module} import {name}"
    for module, names in _SKLEARN.items()
    for name in names.split()
}
"""Names used bare (``train_test_split(...)``): the scikit-learn ones a training script uses."""


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            continue
    return bound


def missing_imports(source: str) -> list[str]:
    """Import lines for conventional module names the file uses but never binds."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    bases = {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    loaded = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    bound = _bound_names(tree)
    return [CONVENTIONAL[n] for n in sorted(bases - bound) if n in CONVENTIONAL] + [
        NAMES[n] for n in sorted(loaded - bound) if n in NAMES
    ]


def add_missing_imports(source: str) -> tuple[str, list[str]]:
    """``source`` with the missing conventional imports prepended, and those lines."""
    lines = missing_imports(source)
    return (_with_imports(source, lines), lines) if lines else (source, [])


def _with_imports(source: str, lines: list[str]) -> str:
    """``source`` (which parses) with the import ``lines`` after its shebang, encoding line,
    module docstring and ``from __future__`` imports."""
    body = source.splitlines(keepends=True)
    at = 0
    while at < len(body) and (body[at].startswith("#!") or body[at].startswith("# -*-")):
        at += 1
    tree = ast.parse(source)
    first = tree.body[0] if tree.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        at = max(at, first.end_lineno)  # after the module docstring
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__" and node.end_lineno:
            at = max(at, node.end_lineno)
    head = "".join(body[:at])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + "\n".join(line.rstrip("\n") for line in lines) + "\n" + "".join(body[at:])


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


_CODE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)
_OPEN = re.compile(r"```(?:python|py)[ \t]*\n")


def fenced_code(text: str) -> str | None:
    """The longest fenced code block of ``text``, or what follows an opening ```python fence
    never closed (a reply cut off at its length limit); None when there is neither."""
    blocks = _CODE.findall(text)
    if blocks:
        return max(blocks, key=len)
    m = _OPEN.search(text)
    return text[m.end() :] if m else None


def _mended(source: str) -> list[tuple[str, list[str]]]:
    """Texts ``source`` may have meant, each with what was done to get it."""
    fence = "removed the markdown fence (```) around the code"
    entities = "decoded the HTML entities (&#34; and the like) into characters"
    texts: list[tuple[str, list[str]]] = [(source, [])]
    code = fenced_code(source) if "```" in source else None
    if code is not None:
        texts.append((code.strip("\n") + "\n", [fence]))
    for text, steps in list(texts):
        if "&" in text:
            texts.append((html.unescape(text), [*steps, entities]))
    return texts[1:]


def repair_python(source: str) -> tuple[str, list[str]]:
    """``source`` without markdown fences and with HTML entities decoded (only when that
    makes it parse), and missing conventional imports added; and what was done."""
    done: list[str] = []
    if not _parses(source):
        for text, steps in _mended(source):
            if _parses(text):
                source, done = text, steps
                break
    source, added = add_missing_imports(source)
    if added:
        done.append(f"added the missing {'; '.join(added)}")
    return source, done


def replace_function(source: str, name: str, code: str) -> tuple[str, list[str]]:
    """``source`` with its top-level function ``name`` replaced by the one ``code`` defines
    (``code`` mended first: a fence, HTML entities; imports in it go to the top of the file),
    and what was mended. The result must parse. Raises ValueError naming what is wrong."""
    code = code.strip("\n") + "\n"
    done: list[str] = []
    if not _parses(code):
        code, done = next(((t, s) for t, s in _mended(code) if _parses(t)), (code, []))
    try:
        new = ast.parse(code)
    except SyntaxError as exc:
        raise ValueError(f"the code has a SyntaxError ({exc.msg}, line {exc.lineno})") from exc
    defs = [n for n in new.body if isinstance(n, ast.FunctionDef) and n.name == name]
    if not defs:
        raise ValueError(f"the code defines no function {name!r}: give 'def {name}(...):' whole")
    old = next(
        (n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name),
        None,
    )
    if old is None or old.end_lineno is None:
        tops = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
        raise ValueError(f"the file has no top-level function {name!r} (it has: {tops})")
    lines = code.splitlines(keepends=True)
    fn = defs[0]
    start = min([fn.lineno, *(d.lineno for d in fn.decorator_list)]) - 1
    body = "".join(lines[start : fn.end_lineno])
    imports = [
        "".join(lines[n.lineno - 1 : n.end_lineno])
        for n in new.body
        if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    src = source.splitlines(keepends=True)
    first = min([old.lineno, *(d.lineno for d in old.decorator_list)]) - 1
    result = "".join(src[:first]) + body + "".join(src[old.end_lineno :])
    if imports and _parses(result):
        result = _with_imports(result, imports)
    result, added = add_missing_imports(result)
    if added:
        done.append(f"added the missing {'; '.join(added)}")
    if not _parses(result):
        raise ValueError("the file would not parse with this function")
    return result, done
