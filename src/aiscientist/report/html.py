"""``aiscientist report RUN_DIR``: one self-contained ``report.html`` for a run.

Everything is inline (CSS, SVG plots, the tree's details as JSON, a small script), so the file
opens offline and can be mailed. Sections: the task and its grade on the leaderboard, the score
over time, the experiments by node, the hypothesis tree, lessons, spend, delegations.
"""

from __future__ import annotations

import time
from collections import defaultdict
from html import escape
from pathlib import Path

from aiscientist.hypotheses.events import LessonNode
from aiscientist.messages import StageEvent
from aiscientist.report import plots
from aiscientist.report.assets import CSS, SCRIPT
from aiscientist.report.data import RunData, load_run, model_label
from aiscientist.report.rubric_view import rubric_rows, rubric_tree
from aiscientist.report.tree_view import log_tail, tree_section
from aiscientist.workspace.atomic import atomic_write_text

REPORT_FILE = "report.html"


def _fmt(x: object, digits: int = 4) -> str:
    if x is None or x == "":
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return escape(str(x))


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + " UTC" if t else "-"


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    if not rows:
        return '<p class="empty">None yet.</p>'
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{escape(title)}</h2>{body}</section>'


def _summary(d: RunData) -> str:
    m, g = d.manifest, d.grade
    medal = g.get("medal")
    earned = [str(medal)] if medal else []
    if g.get("above_median"):
        earned.append("above median")
    budget = m.config.get("budget") if isinstance(m.config.get("budget"), dict) else {}
    assert isinstance(budget, dict)
    models = m.config.get("models") if isinstance(m.config.get("models"), dict) else {}
    assert isinstance(models, dict)
    rows = [
        ("task", f"{escape(m.task.name)} ({m.task.kind})"),
        ("status", f'<span class="status-{m.status}">{m.status}</span> (stage {escape(m.stage)})'),
        ("mode / model", f"{_fmt(m.config.get('mode'))} / {_fmt(models.get('default'))}"),
        (
            "graded score",
            f"<b>{_fmt(g.get('score', m.score), 6)}</b> {_fmt(g.get('metric'))}"
            + (" (lower is better)" if d.lower_is_better else ""),
        ),
        ("medal", escape(", ".join(earned)) or "none"),
        ("valid", _fmt(g.get("valid"))),
        ("best validation score", _fmt(m.best_metric, 6)),
        (
            "spend",
            f"{m.spend.model_calls} model calls, {m.spend.tokens} tokens, "
            f"${m.spend.usd:.4f}, {m.spend.wall_seconds / 60:.1f} min"
            f" (budget: {_fmt(budget.get('wall_minutes'))} min, ${_fmt(budget.get('usd'))})",
        ),
        ("started", _when(m.created_at)),
        ("updated", _when(m.updated_at)),
        ("note", escape(m.note) or "-"),
    ]
    if g.get("error"):
        rows.append(("grading error", escape(str(g["error"]))))
    rows += rubric_rows(g)
    if m.reproduce_verdict:
        rows.append(("reproduce.sh", escape(m.reproduce_verdict)))
    rubric = rubric_tree(g)
    brief = d.run_dir / "task" / ("paper.md" if m.task.kind == "replicate" else "description.md")
    try:
        text = brief.read_text(errors="replace")
        rows.insert(
            1,
            (
                "brief",
                f"<details><summary>{escape(brief.name)}</summary>"
                f"<pre>{escape(text[:6000])}</pre></details>",
            ),
        )
    except OSError:
        pass
    cells = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    board = plots.leaderboard_svg(d) or (
        "" if rubric else '<p class="empty">The task has no leaderboard.</p>'
    )
    return f'<table class="kv">{cells}</table>{board}{rubric}'


def _experiments(d: RunData) -> str:
    rows = []

    def colour(status: str) -> str:
        return plots.STATUS_COLOURS.get(status, "#555")

    for e in d.experiments:
        dur = f"{e.finished_at - e.started_at:.1f}s" if e.finished_at and e.started_at else "-"
        rows.append(
            [
                f"<code>{escape(e.exp_id)}</code>",
                f'<span class="badge" style="background:{colour(e.status)}">'
                f"{escape(e.status)}</span>",
                f"<code>{escape(e.hypothesis_id)}</code>",
                f"<code>{escape(e.node_id[:10])}</code>",
                _fmt(e.reported, 6),
                _fmt(e.verified, 6),
                dur,
                escape(e.description[:100]),
            ]
        )
    table = _table(
        ["experiment", "status", "hypothesis", "node", "reported", "verified", "time", "what"],
        rows,
    )
    failures = "".join(
        f"<details><summary><code>{escape(e.exp_id)}</code> {escape(e.status)} "
        f"({escape(e.hypothesis_id or '-')})</summary>"
        f"<pre>{escape(log_tail(e.path / 'run.log', 15)) or 'no log'}</pre></details>"
        for e in d.experiments
        if e.status not in ("ok", "running", "queued")
    )
    triage = f"<h3>Failures: the end of each log</h3>{failures}" if failures else ""
    return (plots.timeline_svg(d) or "") + table + triage


def _lessons(d: RunData) -> str:
    if d.tree is None:
        return '<p class="empty">No tree.</p>'
    items = []
    for ls in d.tree.lessons():
        if not isinstance(ls, LessonNode):
            continue
        hid = escape(ls.hypothesis_id or "")
        who = f' <a href="#tree" data-node="{hid}">{hid}</a>' if hid else ""
        src = f' <span class="muted">(from {escape(ls.source)})</span>' if ls.source else ""
        items.append(f"<li>{escape(ls.text)}{who}{src}</li>")
    return (
        f'<ul class="lessons">{"".join(items)}</ul>' if items else '<p class="empty">None yet.</p>'
    )


def _spend(d: RunData) -> str:
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for u in d.usage:
        t = totals[(u.role, model_label(u.model))]
        t[0] += 1
        t[1] += u.prompt_tokens + u.completion_tokens
        t[2] += u.cost_usd
        t[3] += u.latency_s
    rows = [
        [
            escape(role),
            f"<code>{escape(model)}</code>",
            str(int(t[0])),
            str(int(t[1])),
            f"${t[2]:.4f}",
            f"{t[3]:.1f}s",
        ]
        for (role, model), t in sorted(totals.items())
    ]
    table = _table(["role", "model", "calls", "tokens", "cost", "model time"], rows)
    return (plots.spend_svg(d) or "") + table


def _delegations(d: RunData) -> str:
    rows = []
    for r in d.delegations:
        res = r.result
        took = "pending"
        if r.returned_at is not None:
            secs = r.returned_at - r.sent_at
            took = f"{secs:.0f} s" if secs < 90 else f"{secs / 60:.1f} min"
        rows.append(
            [
                escape(time.strftime("%H:%M:%S", time.gmtime(r.sent_at))),
                escape(r.delegation.role),
                escape(r.delegation.mode or "-"),
                escape(r.delegation.instruction[:300]),
                f'<span class="result-{res.status if res else "pending"}">'
                f"{res.status if res else 'pending'}</span>",
                escape(res.summary.text[:400]) if res else "",
                took,
            ]
        )
    table = _table(["sent", "role", "mode", "instruction", "result", "summary", "took"], rows)
    moments = [
        [
            escape(time.strftime("%H:%M:%S", time.gmtime(ev.at))),
            escape(f"stage {ev.stage} ({ev.status})" if isinstance(ev, StageEvent) else ev.kind),
            escape((ev.note if isinstance(ev, StageEvent) else ev.detail)[:400]),
        ]
        for ev in d.moments
    ]
    return table + "<h3>Stages and decisions</h3>" + _table(["at", "what", "detail"], moments)


def render_report(d: RunData) -> str:
    """The whole page as text."""
    tree_html, tree_json = tree_section(d)
    m = d.manifest
    sections = [
        _section("summary", "Task and grade", _summary(d)),
        _section(
            "score",
            "Score over time",
            plots.score_svg(d) or '<p class="empty">No scored experiment yet.</p>',
        ),
        _section("experiments", "Experiments by node", _experiments(d)),
        _section("tree", "Hypothesis tree", tree_html),
        _section("lessons", "Lessons", _lessons(d)),
        _section("spend", "Spend by role and model", _spend(d)),
        _section("delegations", "Delegations", _delegations(d)),
    ]
    nav = " · ".join(
        f'<a href="#{s}">{t}</a>'
        for s, t in [
            ("summary", "grade"),
            ("score", "score"),
            ("experiments", "experiments"),
            ("tree", "tree"),
            ("lessons", "lessons"),
            ("spend", "spend"),
            ("delegations", "delegations"),
        ]
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>aiscientist report: {escape(m.run_id)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>{escape(m.run_id)}</h1><nav>{nav}</nav>"
        f'<p class="muted">generated {_when(d.now)}</p></header>{"".join(sections)}'
        f'<script type="application/json" id="tree-data">{tree_json}</script>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def write_report(run_dir: Path) -> Path:
    """Render ``run_dir/report.html``; return its path."""
    data = load_run(Path(run_dir))
    out = Path(run_dir) / REPORT_FILE
    atomic_write_text(out, render_report(data))
    return out
