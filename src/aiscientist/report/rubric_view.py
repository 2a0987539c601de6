"""The grade of a ``replicate`` run in the report: the rubric judge's numbers and its scored
tree (each node's score and weight; each leaf's reason), read from ``grade.json``."""

from __future__ import annotations

from html import escape

MAX_NODES = 2000
"""Nodes drawn at most (PaperBench rubrics run to a few thousand leaves)."""


def _score_colour(score: float) -> str:
    return "#43a047" if score >= 0.999 else "#e53935" if score <= 0.001 else "#fb8c00"


def _node(node: dict[str, object], budget: list[int]) -> str:
    if budget[0] <= 0:
        return ""
    budget[0] -= 1
    score = node.get("score")
    value = float(score) if isinstance(score, int | float) else 0.0
    head = (
        f'<span class="badge" style="background:{_score_colour(value)}">{value:.2f}</span> '
        f'<span class="muted">w{node.get("weight", 1)}</span> '
        f"{escape(str(node.get('requirements', ''))[:300])}"
    )
    kids = node.get("sub_tasks")
    notes = "".join(
        f'<div class="muted">{label}: {escape(str(node[key])[:1000])}</div>'
        for key, label in (("reason", "judge"), ("error", "error"))
        if node.get(key)
    )
    if not isinstance(kids, list) or not kids:
        return f"<li>{head}{notes}</li>"
    inner = "".join(_node(k, budget) for k in kids if isinstance(k, dict))
    return f"<li><details><summary>{head}</summary>{notes}<ul>{inner}</ul></details></li>"


def rubric_rows(grade: dict[str, object]) -> list[tuple[str, str]]:
    """Summary rows of a rubric grade (empty for a competition grade)."""
    if "leaves_total" not in grade and "leaves" not in grade:
        return []
    total = grade.get("leaves_total", grade.get("leaves"))
    cats = grade.get("by_category")
    by_cat = (
        ", ".join(f"{escape(str(k))} {float(v):.0%}" for k, v in cats.items())
        if isinstance(cats, dict)
        else "-"
    )
    return [
        (
            "rubric",
            f"{grade.get('leaves_judged', '-')} of {total} leaves judged "
            f"({grade.get('leaves_failed', 0)} failed)"
            + (" (code development only)" if grade.get("code_only") else ""),
        ),
        ("by category", by_cat),
        ("judge", escape(str(grade.get("judge_model", "-")))),
    ]


def rubric_tree(grade: dict[str, object]) -> str:
    """The scored rubric as nested lists, or "" when the grade has none."""
    tree = grade.get("tree")
    if not isinstance(tree, dict):
        return ""
    budget = [MAX_NODES]
    body = _node(tree, budget)
    cut = f'<p class="muted">(cut at {MAX_NODES} nodes)</p>' if budget[0] <= 0 else ""
    return f'<h3>Scored rubric</h3><ul class="tree rubric">{body}</ul>{cut}'
