"""Add the imports a Python file forgot, for a short table of conventional module names.

Small models often write ``os.environ[...]`` or ``pd.read_csv(...)`` and drop the import, then
fail to repair the ``NameError`` they get. ``add_missing_imports`` finds module names used as
the base of an attribute (``os.path``, ``pd.DataFrame``) that nothing in the file binds, and
prepends their import (after a shebang, encoding line or module docstring). What it added is
reported to the model. Files that do not parse are returned unchanged.
"""

from __future__ import annotations

import ast

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
    used = {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    bound = _bound_names(tree)
    return [CONVENTIONAL[name] for name in sorted(used - bound) if name in CONVENTIONAL]


def add_missing_imports(source: str) -> tuple[str, list[str]]:
    """``source`` with the missing conventional imports prepended, and those lines."""
    lines = missing_imports(source)
    if not lines:
        return source, []
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
    head = "".join(body[:at])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + "\n".join(lines) + "\n" + "".join(body[at:]), lines
