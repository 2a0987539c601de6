"""The report's interactive hypothesis tree: the nested list of ``report.tree`` with a button
per hypothesis, and for each one the details a click shows (hypothesis, critiques, evidence,
lessons, the code diff against its parent's code, the tail of its experiment's log).

The details travel as one JSON document inside the page; the page's script fills the panel.
"""

from __future__ import annotations

import difflib
import html
import json
from pathlib import Path

from aiscientist.hypotheses.events import LessonNode
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.report.data import RunData
from aiscientist.report.tree import COLOURS, best_metric

CODE_SUFFIXES = frozenset({".py", ".sh", ".yaml", ".yml", ".toml", ".cfg", ".txt", ".md", ".r"})
MAX_CODE_BYTES = 200_000
MAX_DIFF_LINES = 400
LOG_TAIL_LINES = 40


def code_files(work: Path) -> dict[str, list[str]]:
    """The text source files of an experiment's working copy, by relative path."""
    out: dict[str, list[str]] = {}
    if not work.is_dir():
        return out
    for p in sorted(work.rglob("*")):
        rel = p.relative_to(work)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if p.is_file() and p.suffix.lower() in CODE_SUFFIXES and p.stat().st_size <= MAX_CODE_BYTES:
            try:
                out[rel.as_posix()] = p.read_text().splitlines(keepends=True)
            except (OSError, UnicodeDecodeError):
                continue
    return out


def code_diff(
    old: Path | None, new: Path, cache: dict[Path, dict[str, list[str]]] | None = None
) -> str:
    """A unified diff of the code in ``new`` against ``old`` (all additions when None);
    ``cache`` keeps each working copy's files for the next diff that needs them."""
    seen = {} if cache is None else cache
    for path in (old, new):
        if path is not None and path not in seen:
            seen[path] = code_files(path)
    before = seen[old] if old is not None else {}
    after = seen[new]
    lines: list[str] = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, []), after.get(name, [])
        if a == b:
            continue
        lines.extend(
            difflib.unified_diff(
                a, b, f"a/{name}" if name in before else "/dev/null", f"b/{name}", n=3
            )
        )
    if len(lines) > MAX_DIFF_LINES:
        cut = len(lines) - MAX_DIFF_LINES
        lines = lines[:MAX_DIFF_LINES] + [f"... {cut} more lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or "" when there is none."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 64_000))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _work_of(data: RunData, tree: HypothesisTree, hid: str) -> tuple[str, Path] | None:
    """The experiment whose code stands for a hypothesis: its best ok one, else its latest."""
    evidence = tree.evidence_of(hid)
    ok = [e for e in evidence if e.status == "ok" and e.metric is not None]
    if ok:
        pick = (min if data.lower_is_better else max)(ok, key=lambda e: e.metric or 0.0)
    elif evidence:
        pick = evidence[-1]
    else:
        return None
    return pick.exp_id, data.run_dir / "agent" / "experiments" / pick.exp_id


def node_details(
    data: RunData,
    tree: HypothesisTree,
    hid: str,
    cache: dict[Path, dict[str, list[str]]] | None = None,
) -> dict[str, object]:
    """What the panel shows for one hypothesis (plain JSON values)."""
    node = tree.hypothesis(hid)
    mine = _work_of(data, tree, hid)
    parent = _work_of(data, tree, node.parent) if node.parent else None
    diff, against, tail = "", "", ""
    if mine is not None:
        diff = code_diff(parent[1] / "work" if parent else None, mine[1] / "work", cache)
        against = f"{parent[0]} (parent {node.parent})" if parent else "nothing (a root)"
        tail = log_tail(mine[1] / "run.log")
    lesson_ids = tree.index.lessons_of.get(hid, [])
    return {
        "id": hid,
        "title": node.title,
        "state": node.state,
        "author": node.author,
        "action": node.action,
        "parent": node.parent,
        "description": node.description,
        "note": node.note,
        "critiques": [{"by": c.by, "accept": c.accept, "note": c.note} for c in node.critiques],
        "evidence": [
            {
                "exp_id": e.exp_id,
                "status": e.status,
                "metric": e.metric,
                "seed": e.seed,
                "summary": e.summary,
            }
            for e in tree.evidence_of(hid)
        ],
        "lessons": [n.text for i in lesson_ids if isinstance(n := tree.node(i), LessonNode)],
        "experiment": mine[0] if mine else None,
        "diff_against": against,
        "diff": diff,
        "log_tail": tail,
    }


def _item(tree: HypothesisTree, hid: str, champ: str | None, lower: bool) -> str:
    node = tree.hypothesis(hid)
    esc = html.escape
    metric = best_metric(tree, hid, lower)
    button = (
        f'<button class="node" data-id="{esc(hid)}">'
        f'<span class="state" style="background:{COLOURS[node.state]}">{node.state}</span> '
        f"{esc(node.title[:120])}"
        + (f'<span class="metric">{metric:.6g}</span>' if metric is not None else "")
        + ('<span class="champ">&#9733; champion</span>' if hid == champ else "")
        + "</button>"
    )
    kids = tree.index.children.get(hid, ())
    inner = "".join(_item(tree, c, champ, lower) for c in kids)
    return f"<li>{button}" + (f"<ul>{inner}</ul>" if inner else "") + "</li>"


def tree_section(data: RunData) -> tuple[str, str]:
    """The tree's HTML and the JSON of its nodes' details (safe inside a ``<script>``)."""
    tree = data.tree
    if tree is None or not tree.index.roots:
        return '<p class="empty">No hypotheses yet.</p>', "{}"
    champ = tree.champion.hypothesis_id if tree.champion else None
    items = "".join(_item(tree, r, champ, data.lower_is_better) for r in tree.index.roots)
    legend = "".join(
        f'<span class="state" style="background:{c}">{s}</span>' for s, c in COLOURS.items()
    )
    cache: dict[Path, dict[str, list[str]]] = {}
    details = {h.id: node_details(data, tree, h.id, cache) for h in tree.hypotheses()}
    payload = json.dumps({"champion": champ, "nodes": details}).replace("</", "<\\/")
    body = (
        f'<p class="legend">{legend}</p><div class="treebox"><ul class="tree">{items}</ul>'
        '<div id="detail" class="detail"><p class="empty">Click a hypothesis.</p></div></div>'
    )
    return body, payload
