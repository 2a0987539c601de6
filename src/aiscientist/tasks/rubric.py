"""PaperBench's ``rubric.json``: a tree of weighted requirements.

Each node is ``{"id", "requirements", "weight", "sub_tasks", "task_category",
"finegrained_task_category"}`` exactly as PaperBench publishes it. Leaves (no ``sub_tasks``)
carry a ``task_category``: "Code Development", "Code Execution" or "Result Analysis". A
node's score is the weighted mean of its children's scores.

Some published rubrics use one ``id`` for two nodes, and PaperBench accepts them; so nodes are
keyed by their place in the tree (``RubricNode.key``: the ids from the root, ``/``-joined,
with ``#2``, ``#3`` ... for a repeat), and ids are kept as written.
"""

from __future__ import annotations

import json
import math
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from aiscientist.errors import RubricError

TaskCategory = Literal["Code Development", "Code Execution", "Result Analysis"]
TASK_CATEGORIES: tuple[TaskCategory, ...] = (
    "Code Development",
    "Code Execution",
    "Result Analysis",
)
_KNOWN_KEYS = {
    "id",
    "requirements",
    "weight",
    "sub_tasks",
    "task_category",
    "finegrained_task_category",
}


MAX_DEPTH = 64
"""Deepest rubric accepted; PaperBench's run to about seven levels."""

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80
_short.maxlevel = 3


def _show(value: object) -> str:
    """``repr`` of a value from the file, bounded (it can be huge or deeply nested)."""
    return _short.repr(value)


@dataclass(frozen=True)
class RubricNode:
    """One requirement; a leaf when ``sub_tasks`` is empty."""

    id: str
    requirements: str
    weight: float
    sub_tasks: tuple[RubricNode, ...] = ()
    task_category: TaskCategory | None = None
    finegrained_task_category: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)
    """Keys PaperBench files carry beyond the six above, kept so a rewrite loses nothing."""
    path: str = ""
    """Where the node is in its tree (set by the parser; unique within the tree)."""

    @property
    def key(self) -> str:
        """The node's unique name in its tree: ``path``, or ``id`` for a node built by hand."""
        return self.path or self.id

    @property
    def is_leaf(self) -> bool:
        return not self.sub_tasks

    def leaves(self) -> list[RubricNode]:
        """All leaves, depth first, in file order."""
        if self.is_leaf:
            return [self]
        return [leaf for child in self.sub_tasks for leaf in child.leaves()]

    def depth(self) -> int:
        """Levels in the tree: a lone leaf has depth 1."""
        return 1 + max((c.depth() for c in self.sub_tasks), default=0)

    def walk(self) -> list[RubricNode]:
        """Every node, parents before children."""
        return [self] + [n for c in self.sub_tasks for n in c.walk()]

    def to_dict(self) -> dict[str, object]:
        """The node as PaperBench JSON."""
        return {
            "id": self.id,
            "requirements": self.requirements,
            "weight": self.weight,
            "sub_tasks": [c.to_dict() for c in self.sub_tasks],
            "task_category": self.task_category,
            "finegrained_task_category": self.finegrained_task_category,
            **self.extra,
        }

    def score(self, leaf_scores: dict[str, float]) -> float:
        """Weighted mean up the tree of ``leaf_scores`` (leaf key -> score in [0, 1]).

        A leaf missing from ``leaf_scores`` scores 0, as an unjudged requirement does in
        PaperBench.
        """
        if self.is_leaf:
            return float(leaf_scores.get(self.key, 0.0))
        total = sum(c.weight for c in self.sub_tasks)
        return sum(c.weight * c.score(leaf_scores) for c in self.sub_tasks) / total


def _fail(source: str, path: str, problem: str) -> RubricError:
    return RubricError(f"{source}: node {path}: {problem}")


def _parse(
    raw: object, source: str, path: str, seen: set[str], parent: str = "", depth: int = 1
) -> RubricNode:
    if depth > MAX_DEPTH:
        raise _fail(
            source, path, f"the tree is nested more than {MAX_DEPTH} levels deep; flatten it"
        )
    if not isinstance(raw, dict):
        raise _fail(source, path, f"must be a JSON object, got {type(raw).__name__} {_show(raw)}")
    for key in ("id", "requirements", "weight"):
        if key not in raw:
            raise _fail(
                source, path, f"missing field {key!r}; every node needs id, requirements and weight"
            )
    node_id = raw["id"]
    if not isinstance(node_id, str) or not node_id:
        raise _fail(source, path, f"field 'id' must be a non-empty string, got {_show(node_id)}")
    path = f"{path}[id={_show(node_id)}]"
    key = f"{parent}/{node_id}" if parent else node_id
    if key in seen:  # the same id twice under one parent: number the repeats
        key = next(f"{key}#{n}" for n in range(2, len(seen) + 3) if f"{key}#{n}" not in seen)
    seen.add(key)
    req = raw["requirements"]
    if not isinstance(req, str):
        raise _fail(source, path, f"field 'requirements' must be a string, got {_show(req)}")
    weight = raw["weight"]
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise _fail(source, path, f"field 'weight' must be a number, got {_show(weight)}")
    try:
        finite = math.isfinite(weight)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        raise _fail(source, path, f"field 'weight' must be a finite number, got {_show(weight)}")
    if weight < 0:
        raise _fail(source, path, f"field 'weight' is negative ({weight!r}); use 0 or more")
    subs_raw = raw.get("sub_tasks", [])
    if subs_raw is None:
        subs_raw = []
    if not isinstance(subs_raw, list):
        raise _fail(source, path, f"field 'sub_tasks' must be a list, got {_show(subs_raw)}")
    subs = tuple(
        _parse(child, source, f"{path}.sub_tasks[{i}]", seen, key, depth + 1)
        for i, child in enumerate(subs_raw)
    )
    category = raw.get("task_category")
    fine = raw.get("finegrained_task_category")
    if fine is not None and not isinstance(fine, str):
        raise _fail(
            source,
            path,
            f"field 'finegrained_task_category' must be a string or null, got {_show(fine)}",
        )
    if subs:
        if not 0 < sum(c.weight for c in subs) < math.inf:
            raise _fail(
                source,
                path,
                f"the weights of its sub_tasks sum to {sum(c.weight for c in subs)!r}; give at "
                "least one sub_task a positive weight, and keep their sum finite",
            )
        if category is not None and category not in TASK_CATEGORIES:
            raise _fail(
                source,
                path,
                f"field 'task_category' is {_show(category)}; expected one "
                f"of {list(TASK_CATEGORIES)} or null",
            )
    elif category not in TASK_CATEGORIES:
        raise _fail(
            source,
            path,
            f"leaf has task_category {_show(category)}; a leaf needs one of "
            f"{list(TASK_CATEGORIES)}",
        )
    extra = {k: v for k, v in raw.items() if k not in _KNOWN_KEYS}
    return RubricNode(
        id=node_id,
        requirements=req,
        weight=float(weight),
        sub_tasks=subs,
        task_category=cast(TaskCategory | None, category),
        finegrained_task_category=fine,
        extra=extra,
        path=key,
    )


def parse_rubric(raw: object, source: str = "rubric.json") -> RubricNode:
    """Validate decoded rubric JSON into a tree; ``source`` names the file in errors."""
    return _parse(raw, source, "root", set())


def read_rubric(path: str | Path) -> RubricNode:
    """Read and validate a ``rubric.json``; raises ``RubricError`` naming what is wrong."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(f"cannot read rubric {str(p)!r}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RubricError(
            f"{p}: not UTF-8 (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
            f"{exc.start}); save the rubric as UTF-8 JSON"
        ) from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RubricError(
            f"{p}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; "
            "fix the syntax (a PaperBench rubric.json is one JSON object)"
        ) from exc
    except RecursionError as exc:
        raise RubricError(
            f"{p}: nested too deeply to read (a rubric is at most {MAX_DEPTH} levels)"
        ) from exc
    except ValueError as exc:  # an integer of more digits than Python converts
        raise RubricError(f"{p}: holds a number JSON cannot hold here: {exc}") from exc
    return parse_rubric(raw, str(p))
