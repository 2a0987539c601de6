"""``aiscientist status RUN_DIR``: where a run stands; with ``--watch``, a live view of it
(champion, experiments running per node, spend against the budget, the last delegations)
redrawn from the workspace until the run ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aiscientist.errors import UserError
from aiscientist.experiments.records import scan
from aiscientist.hypotheses.champion import measured_noise
from aiscientist.hypotheses.store import load_tree
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.messages import RunManifest
from aiscientist.report.data import END_STATES
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.rundir import read_manifest


@dataclass
class RunStatus:
    manifest: RunManifest
    experiments_done: int
    experiments_running: int
    experiments_failed: int
    delegations: int
    pending_delegations: int
    noise: str = "-"
    """The champion gate's noise threshold: configured, or measured from repeated seeds."""

    def rows(self) -> list[tuple[str, str]]:
        m = self.manifest
        s = m.spend
        return [
            ("run", m.run_id),
            ("task", f"{m.task.name} ({m.task.kind})"),
            ("status", m.status),
            ("stage", m.stage),
            (
                "experiments",
                f"{self.experiments_done} done ({self.experiments_failed} failed), "
                f"{self.experiments_running} running",
            ),
            ("delegations", f"{self.delegations} ({self.pending_delegations} without result)"),
            ("best score", "-" if m.best_metric is None else f"{m.best_metric:.6g}"),
            ("gate noise", self.noise),
            ("graded score", "-" if m.score is None else f"{m.score:.6g}"),
            (
                "spend",
                f"{s.model_calls} model calls, {s.tokens} tokens, ${s.usd:.4f}, "
                f"{s.wall_seconds / 60:.1f} min",
            ),
            ("note", m.note or "-"),
        ]


def run_status(run_dir: Path) -> RunStatus:
    """Collect the status of a run from its workspace."""
    manifest = read_manifest(run_dir)
    done = running = failed = 0
    for e in scan(run_dir):
        if e.has_result:
            done += 1
            r = e.result()
            failed += r is None or r.status != "ok"
        elif e.has_spec:
            running += 1
    journal = Journal(run_dir)
    return RunStatus(
        noise=gate_noise(
            manifest, load_tree(run_dir / "tree") if (run_dir / "tree").is_dir() else None
        ),
        manifest=manifest,
        experiments_done=done,
        experiments_running=running,
        experiments_failed=failed,
        delegations=len(journal.results()) + len(journal.pending()),
        pending_delegations=len(journal.pending()),
    )


def gate_noise(manifest: RunManifest, tree: HypothesisTree | None) -> str:
    """The champion gate's noise threshold as the run uses it (``search.noise_threshold``)."""
    search = manifest.config.get("search")
    set_to = search.get("noise_threshold") if isinstance(search, dict) else None
    if isinstance(set_to, int | float):
        return f"{set_to:.4g} (configured)"
    if tree is None:
        return "measured: no tree yet"
    noise = measured_noise(tree)
    if noise is None:
        return "measured: none yet (no hypothesis run with two seeds)"
    return f"{noise:.4g} (measured over seeds)"


# ---- aiscientist status RUN_DIR --watch: a live view that only reads files ----


def _budget_line(spent: float, limit: object, unit: str, fmt: str = "{:.1f}") -> str:
    used = fmt.format(spent)
    if not isinstance(limit, int | float) or isinstance(limit, bool) or limit <= 0:
        return f"{used} {unit} (no limit)"
    share = spent / float(limit)
    colour = "green" if share < 0.75 else "yellow" if share < 1.0 else "red"
    return f"{used} / {fmt.format(float(limit))} {unit} [{colour}]({share:.0%})[/]"


def live_view(run_dir: Path, now: float | None = None, last: int = 6) -> Group:
    """One frame of the live view: run, champion, experiments running per node, spend vs
    budget, the last delegations. Reads ``run.json``, ``agent/experiments``, ``tree/`` and the
    journal; raises ``UserError`` when ``run.json`` is missing or unreadable."""
    from aiscientist.report.data import END_STATES, load_run

    t = time.time() if now is None else now
    d = load_run(run_dir)
    m = d.manifest
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("run", f"{m.run_id}  ({m.task.name}, {m.task.kind})")
    head.add_row("status", f"[bold]{m.status}[/]  stage {m.stage}  {escape(m.note[:120])}")
    if d.tree is not None and d.tree.champion is not None:
        c = d.tree.champion
        title = d.tree.hypothesis(c.hypothesis_id).title
        head.add_row("champion", f"{c.metric:.6g}  {escape(title[:80])} ({c.hypothesis_id})")
    else:
        scored = [e.score for e in d.experiments if e.status == "ok" and e.score is not None]
        best = (min if d.lower_is_better else max)(scored) if scored else None
        head.add_row("champion", "-" if best is None else f"{best:.6g} (best experiment)")
    head.add_row("gate noise", gate_noise(m, d.tree))
    if m.score is not None:
        head.add_row("graded score", f"{m.score:.6g}")
    budget = m.config.get("budget") if isinstance(m.config.get("budget"), dict) else {}
    assert isinstance(budget, dict)
    s = m.spend
    head.add_row("wall", _budget_line(s.wall_seconds / 60, budget.get("wall_minutes"), "min"))
    head.add_row("cost", _budget_line(s.usd, budget.get("usd"), "USD", "{:.4f}"))
    head.add_row("tokens", _budget_line(s.tokens, budget.get("tokens"), "tokens", "{:.0f}"))
    done = [e for e in d.experiments if e.status not in ("running", "queued")]
    failed = sum(1 for e in done if e.status != "ok")
    live = [e for e in d.experiments if e.status in ("running", "queued")]
    head.add_row("experiments", f"{len(done)} done ({failed} failed), {len(live)} running")
    nodes = Table(title="running per node", title_justify="left", expand=False)
    for col in ("node", "experiment", "hypothesis", "for"):
        nodes.add_column(col)
    for e in sorted(live, key=lambda e: (e.node_id, e.started_at)):
        took = f"{(t - e.started_at) / 60:.1f} min" if e.started_at else "queued"
        nodes.add_row(e.node_id[:10] or "-", e.exp_id, e.hypothesis_id or "-", took)
    if not live:
        nodes.add_row("-", "none", "", "")
    ended = "[dim]no result[/]" if m.status in END_STATES else "[blue]running[/]"
    dels = Table(title=f"last {last} delegations", title_justify="left")
    for col in ("sent", "role", "instruction", "result"):
        dels.add_column(col, overflow="fold")
    for r in d.delegations[-last:]:
        res = r.result
        verdict = (
            ended
            if res is None
            else (f"[green]{res.status}[/]" if res.status == "ok" else f"[red]{res.status}[/]")
        )
        dels.add_row(
            time.strftime("%H:%M:%S", time.gmtime(r.sent_at)),
            r.delegation.role,
            escape(r.delegation.instruction[:70]),
            verdict + (f" {escape(res.summary.text[:60])}" if res else ""),
        )
    stamp = time.strftime("%H:%M:%S", time.gmtime(t))
    return Group(head, nodes, dels, Text(f"updated {stamp} UTC; Ctrl-C to stop", style="dim"))


def runs_in(root: Path) -> list[Path]:
    """The run directories directly inside ``root`` (a workspace or a batch's), by name."""
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if (d / "run.json").is_file())


def workspace_view(
    root: Path, now: float | None = None, last: int = 30, live: bool = True
) -> tuple[Group, bool]:
    """One frame over every run in a workspace (e.g. a batch in progress): each run's task,
    status, stage, experiments, best and graded score, spend; and whether all have ended."""
    from aiscientist.report.data import END_STATES

    t = time.time() if now is None else now
    runs = runs_in(root)
    if not runs:
        raise UserError(
            f"{str(root)!r} is neither a run directory (no run.json) nor a workspace of runs"
        )
    plural = "run" if len(runs) == 1 else "runs"
    table = Table(title=f"{len(runs)} {plural} in {root}", title_justify="left")
    for col in ("run", "task", "status", "stage", "experiments", "best", "score", "spend"):
        table.add_column(col, overflow="fold")
    ended = True
    for d in runs[-last:]:
        try:
            st = run_status(d)
        except UserError as exc:  # a run.json being rewritten: shown, not fatal
            table.add_row(d.name, "-", "[yellow]unreadable[/]", escape(str(exc)[:60]), "", "", "")
            ended = False
            continue
        m = st.manifest
        ended = ended and m.status in END_STATES
        colour = {"finished": "green", "running": "blue", "failed": "red"}.get(m.status, "yellow")
        table.add_row(
            m.run_id,
            m.task.name,
            f"[{colour}]{m.status}[/]",
            m.stage,
            f"{st.experiments_done} done, {st.experiments_running} running",
            "-" if m.best_metric is None else f"{m.best_metric:.4g}",
            "-" if m.score is None else f"{m.score:.4g}",
            f"{m.spend.wall_seconds / 60:.1f} min, ${m.spend.usd:.4f}",
        )
    stamp = time.strftime("%H:%M:%S", time.gmtime(t))
    note = Text(f"updated {stamp} UTC" + ("; Ctrl-C to stop" if live else ""), style="dim")
    return Group(table, note), ended


def _frame(path: Path) -> tuple[Group, str]:
    """The view of a run or of a workspace, and its status (``ended`` for a workspace whose
    runs have all ended)."""
    if not (path / "run.json").exists():
        view, ended = workspace_view(path)  # no runs in it either: a UserError naming both
        return view, "ended" if ended else "running"
    view = live_view(path)
    return view, read_manifest(path).status


def watch(
    run_dir: Path,
    console: Console,
    interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Redraw the view of a run (or of every run in a workspace) every ``interval`` seconds
    until it reaches an end state (returns its status, ``ended`` for a workspace) or Ctrl-C
    (returns ``"interrupted"``). Only reads files, so it outlives a driver that dies or is
    resumed; an unreadable frame keeps the last one."""
    try:  # Ctrl-C at any point of it, the first frame too, is a clean stop
        good, _ = _frame(run_dir)  # a directory that is no run fails here, once
        with Live(good, console=console, auto_refresh=False, transient=False) as live:
            while True:
                status: str = ""
                frame = good
                try:
                    good, status = _frame(run_dir)
                    frame = good
                except (UserError, OSError) as exc:  # e.g. a driver dying mid-rewrite
                    frame = Group(Text(f"waiting: {exc}", style="yellow"), good)
                live.update(frame, refresh=True)
                if status in END_STATES or status == "ended":
                    return status
                sleep(interval)
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        console.line()
