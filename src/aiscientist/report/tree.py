"""``aiscientist tree RUN_DIR``: the hypothesis tree as indented text and as ``tree.html``.

Each hypothesis shows its state, its best metric (from its evidence) and its latest lesson; the
champion is starred. The HTML page is self-contained (inline CSS, nested ``<details>`` lists),
coloured by state.
"""

from __future__ import annotations

import html
from pathlib import Path

from aiscientist.errors import UserError
from aiscientist.hypotheses.events import HypothesisNode, LessonNode
from aiscientist.hypotheses.store import load_tree
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.workspace.atomic import atomic_write_text

COLOURS: dict[str, str] = {
    "proposed": "#9e9e9e",
    "critiqued": "#5c6bc0",
    "claimed": "#ffb300",
    "running": "#fb8c00",
    "verified": "#43a047",
    "refuted": "#e53935",
    "abandoned": "#757575",
}


def best_metric(tree: HypothesisTree, hid: str, lower_is_better: bool) -> float | None:
    """The best metric among a hypothesis's ok evidence, or None."""
    values = [e.metric for e in tree.evidence_of(hid) if e.status == "ok" and e.metric is not None]
    if not values:
        return None
    return min(values) if lower_is_better else max(values)


def _latest_lesson(tree: HypothesisTree, hid: str) -> LessonNode | None:
    ids = tree.index.lessons_of.get(hid)
    if not ids:
        return None
    node = tree.node(ids[-1])
    return node if isinstance(node, LessonNode) else None


def _failed_runs(tree: HypothesisTree, hid: str) -> int:
    return sum(1 for e in tree.evidence_of(hid) if e.status != "ok")


def _header(tree: HypothesisTree) -> str:
    counts = {s: len(v) for s, v in tree.index.by_state.items() if v}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items()) or "empty"
    line = f"Hypothesis tree v{tree.version}: {parts}; {len(tree.index.lessons)} lessons"
    if tree.champion is not None:
        champ = tree.champion
        line += f"\nChampion: {champ.metric:.6g} ({champ.hypothesis_id}, seeds {list(champ.seeds)})"
    return line


def render_text(tree: HypothesisTree, lower_is_better: bool = False) -> str:
    """The tree as indented text: state, title, best metric, failed runs, latest lesson."""
    lines = [_header(tree)]
    champ = tree.champion.hypothesis_id if tree.champion else None

    def walk(hid: str, depth: int) -> None:
        node = tree.hypothesis(hid)
        metric = best_metric(tree, hid, lower_is_better)
        bits = [f"{'  ' * depth}- [{node.state}] {node.title}"]
        if metric is not None:
            bits.append(f"metric={metric:.6g}")
        failed = _failed_runs(tree, hid)
        if failed:
            bits.append(f"failed_runs={failed}")
        if node.lease is not None:
            bits.append(f"lease={node.lease.owner}")
        if hid == champ:
            bits.append("*champion*")
        bits.append(f"({hid})")
        lines.append(" ".join(bits))
        lesson = _latest_lesson(tree, hid)
        if lesson is not None:
            lines.append(f"{'  ' * depth}    lesson: {lesson.text}")
        for child in tree.index.children.get(hid, ()):
            walk(child, depth + 1)

    for root in tree.index.roots:
        walk(root, 0)
    shared = [ls for ls in tree.lessons() if ls.hypothesis_id is None]
    if shared:
        lines.append("Lessons not tied to a hypothesis:")
        lines.extend(f"  - {ls.text}" for ls in shared)
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
ul{list-style:none;padding-left:1.4em;border-left:1px dashed #ccc}
li{margin:.3em 0}
summary{cursor:pointer}
.state{display:inline-block;min-width:6.5em;padding:0 .4em;border-radius:.3em;color:#fff;
font-size:.85em;text-align:center}
.metric{font-family:monospace;margin-left:.6em}
.lesson{color:#555;font-style:italic;margin:.1em 0 .1em 1.2em}
.champ{color:#c79100;font-weight:bold;margin-left:.5em}
.id{color:#999;font-size:.8em;margin-left:.5em}
.legend span{margin-right:.4em}
"""


def _html_node(tree: HypothesisTree, hid: str, champ: str | None, lower: bool) -> str:
    node: HypothesisNode = tree.hypothesis(hid)
    esc = html.escape
    metric = best_metric(tree, hid, lower)
    head = (
        f'<span class="state" style="background:{COLOURS[node.state]}">{node.state}</span> '
        f"{esc(node.title)}"
        + (f'<span class="metric">metric {metric:.6g}</span>' if metric is not None else "")
        + ('<span class="champ">&#9733; champion</span>' if hid == champ else "")
        + f'<span class="id">{esc(hid)}</span>'
    )
    lesson = _latest_lesson(tree, hid)
    body = f'<div class="lesson">lesson: {esc(lesson.text)}</div>' if lesson else ""
    kids = tree.index.children.get(hid, ())
    if not kids:
        return f"<li>{head}{body}</li>"
    inner = "".join(_html_node(tree, c, champ, lower) for c in kids)
    return f"<li><details open><summary>{head}</summary>{body}<ul>{inner}</ul></details></li>"


def render_html(tree: HypothesisTree, lower_is_better: bool = False) -> str:
    """A self-contained HTML page of the tree, coloured by state."""
    champ = tree.champion.hypothesis_id if tree.champion else None
    items = "".join(_html_node(tree, r, champ, lower_is_better) for r in tree.index.roots)
    legend = "".join(
        f'<span class="state" style="background:{c}">{s}</span>' for s, c in COLOURS.items()
    )
    header = "<br>".join(html.escape(x) for x in _header(tree).splitlines())
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Hypothesis tree</title>"
        f"<style>{_CSS}</style></head><body><h1>Hypothesis tree</h1><p>{header}</p>"
        f'<p class="legend">{legend}</p><ul>{items}</ul></body></html>\n'
    )


def write_html(tree: HypothesisTree, path: Path, lower_is_better: bool = False) -> None:
    atomic_write_text(Path(path), render_html(tree, lower_is_better))


def tree_command(run_dir: Path, lower_is_better: bool = False) -> str:
    """Load ``run_dir/tree/``, write ``run_dir/tree.html`` and return the text rendering."""
    tree_dir = Path(run_dir) / "tree"
    if not tree_dir.is_dir():
        raise UserError(
            f"{str(run_dir)!r} has no tree/ directory; pass a run directory made by "
            "`aiscientist run`"
        )
    tree = load_tree(tree_dir)
    write_html(tree, Path(run_dir) / "tree.html", lower_is_better)
    return render_text(tree, lower_is_better)
