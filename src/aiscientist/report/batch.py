"""``aiscientist report BATCH.json`` (or a batch directory): one page over many runs.

A table of runs (task, mode, model, status, score, medal, cost, time), each linked to its own
``report.html``, which is rendered too. The input is the ``batch-<stamp>.json`` that
``aiscientist batch`` writes into its workspace, or a directory: its newest ``batch-*.json``,
else every run directory directly inside it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from aiscientist.errors import AIScientistError, UserError
from aiscientist.report import plots
from aiscientist.report.assets import CSS
from aiscientist.report.html import write_report
from aiscientist.workspace.atomic import atomic_write_text
from aiscientist.workspace.rundir import read_manifest


@dataclass
class BatchRow:
    """One run of a batch as the page shows it."""

    name: str
    task: str
    run_dir: str
    status: str
    score: float | None
    minutes: float | None
    mode: str = "-"
    model: str = "-"
    medal: str = ""
    usd: float | None = None
    tokens: int | None = None
    report: str | None = None
    """Path of the run's report, relative to the batch page."""
    note: str = ""


def _entries(target: Path) -> tuple[list[dict[str, object]], Path]:
    """The batch's entries and the page to write."""
    if target.is_file():
        try:
            data = json.loads(target.read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read batch summary {str(target)!r}: {exc}") from exc
        if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
            raise UserError(
                f"{str(target)!r} is not a batch summary (a JSON list of runs written by "
                "`aiscientist batch`)"
            )
        return data, target.with_suffix(".html")
    if not target.is_dir():
        raise UserError(f"{str(target)!r} is neither a batch summary nor a directory")
    summaries = sorted(target.glob("batch-*.json"))
    if summaries:
        return _entries(summaries[-1])
    runs = sorted(d for d in target.iterdir() if (d / "run.json").is_file())
    if not runs:
        raise UserError(
            f"{str(target)!r} holds no batch-*.json and no run directories; pass the batch "
            "summary that `aiscientist batch` wrote, or its workspace"
        )
    entries: list[dict[str, object]] = [
        {"name": d.name, "task": "", "run_dir": str(d), "status": "", "score": None} for d in runs
    ]
    return entries, target / "batch.html"


def _num(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _row(entry: dict[str, object], page: Path, say: Callable[[str], None]) -> BatchRow:
    run_dir = str(entry.get("run_dir") or "")
    row = BatchRow(
        name=str(entry.get("name") or entry.get("task") or run_dir),
        task=str(entry.get("task") or ""),
        run_dir=run_dir,
        status=str(entry.get("status") or ""),
        score=_num(entry.get("score")),
        minutes=_num(entry.get("minutes")),
        note=str(entry.get("note") or ""),
    )
    if not run_dir or not (Path(run_dir) / "run.json").is_file():
        row.note = row.note or "no run directory"
        return row
    try:
        m = read_manifest(Path(run_dir))
        report = write_report(Path(run_dir))
    except AIScientistError as exc:
        row.note = f"{row.note} (report failed: {exc})".strip()
        return row
    say(f"rendered {report}")
    models = m.config.get("models")
    row.task = row.task or m.task.name
    row.status = row.status or m.status
    row.score = row.score if row.score is not None else m.score
    row.minutes = row.minutes if row.minutes is not None else m.spend.wall_seconds / 60
    row.mode = str(m.config.get("mode", "-"))
    row.model = str(models.get("default", "-")) if isinstance(models, dict) else "-"
    earned = [str(m.grade["medal"])] if m.grade.get("medal") else []
    row.medal = ", ".join(earned + (["above median"] if m.grade.get("above_median") else []))
    row.usd, row.tokens = m.spend.usd, m.spend.tokens
    row.report = os.path.relpath(report, page.parent)
    return row


def _cells(r: BatchRow) -> list[str]:
    link = f'<a href="{escape(r.report)}">report</a>' if r.report else "-"
    score = "-" if r.score is None else f"{r.score:.4g}"
    cost = "-" if r.usd is None else f"${r.usd:.4f} / {r.tokens} tok"
    minutes = "-" if r.minutes is None else f"{r.minutes:.1f} min"
    return [
        escape(r.name),
        escape(r.task),
        escape(r.mode),
        f"<code>{escape(r.model)}</code>",
        f'<span class="status-{escape(r.status)}">{escape(r.status)}</span>',
        score,
        escape(r.medal or "-"),
        cost,
        minutes,
        link,
        escape(r.note[:200]),
    ]


def render_batch(rows: list[BatchRow], title: str) -> str:
    """The batch page as text."""
    head = [
        "run",
        "task",
        "mode",
        "model",
        "status",
        "score",
        "medal",
        "cost",
        "time",
        "report",
        "note",
    ]
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in _cells(r)) + "</tr>" for r in rows)
    chart = plots.batch_svg([(r.name, r.score, r.medal) for r in rows])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>aiscientist batch: {escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Batch {escape(title)}</h1><p class='muted'>{len(rows)} runs, generated "
        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC</p></header>"
        f'<table class="batch"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'
        f"{chart}<script>document.body.setAttribute('data-ready', '1');</script></body></html>\n"
    )


def write_batch_report(target: Path, say: Callable[[str], None] | None = None) -> Path:
    """Render every run's report and the batch page; return the page's path."""
    entries, page = _entries(Path(target))
    rows = [_row(e, page, say or (lambda _m: None)) for e in entries]
    atomic_write_text(page, render_batch(rows, page.stem))
    return page
