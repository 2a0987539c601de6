"""The report's plots: matplotlib figures rendered to inline SVG (no server, no network).

Each function returns an ``<svg>`` element as text, or ``""`` when there is nothing to draw.
Every figure gets its own ``svg.hashsalt`` so the ids inside the SVGs of one page never clash.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from aiscientist.report.data import RunData, model_label  # noqa: E402

STATUS_COLOURS: dict[str, str] = {
    "ok": "#43a047",
    "failed": "#e53935",
    "error": "#c62828",
    "timeout": "#fb8c00",
    "killed": "#8e24aa",
    "oom": "#6d4c41",
    "running": "#1e88e5",
    "queued": "#90a4ae",
}
MEDAL_COLOURS = {"gold": "#d4af37", "silver": "#9e9e9e", "bronze": "#cd7f32", "median": "#607d8b"}


@contextmanager
def _figure(name: str, width: float = 8.0, height: float = 3.2) -> Iterator[Figure]:
    with plt.rc_context({"svg.hashsalt": name, "svg.fonttype": "none", "font.size": 9}):
        fig = plt.figure(figsize=(width, height))
        try:
            yield fig
        finally:
            plt.close(fig)


def _svg(fig: Figure, name: str) -> str:
    buf = io.StringIO()
    with plt.rc_context({"svg.hashsalt": name, "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    start = text.find("<svg")
    return f'<div class="plot" id="plot-{name}">{text[start:]}</div>'


def _minutes(data: RunData, t: float) -> float:
    return (t - data.start) / 60.0


def leaderboard_svg(data: RunData) -> str:
    """The leaderboard's scores by rank, the medal lines, and where the run's grade lands."""
    board = data.leaderboard
    score = data.grade.get("score")
    if not board:
        return ""
    ranked = sorted(board, reverse=not data.lower_is_better)
    with _figure("leaderboard", height=2.8) as fig:
        ax = fig.add_subplot()
        ax.plot(range(1, len(ranked) + 1), ranked, color="#90a4ae", lw=1.5, label="leaderboard")
        for kind in ("gold", "silver", "bronze", "median"):
            t = data.grade.get(f"{kind}_threshold")
            if isinstance(t, int | float):
                ax.axhline(t, color=MEDAL_COLOURS[kind], ls="--", lw=1, label=f"{kind} {t:.4g}")
        if isinstance(score, int | float):
            position = 1 + sum(1 for s in ranked if data.better(s, score))
            ax.axhline(score, color="#1e88e5", lw=1.2)
            ax.plot([position], [score], "o", color="#1e88e5", ms=8, label="this run")
            ax.annotate(
                f"this run: {score:.4g} (#{position} of {len(ranked) + 1})",
                (position, score),
                xytext=(12, -24),
                textcoords="offset points",
                color="#1e88e5",
                arrowprops={"arrowstyle": "-", "color": "#1e88e5"},
            )
        ax.set_xlabel("leaderboard position")
        ax.set_ylabel(str(data.grade.get("metric") or "score"))
        ax.legend(loc="best", fontsize=7)
        ax.grid(alpha=0.3)
        return _svg(fig, "leaderboard")


def score_svg(data: RunData) -> str:
    """Each finished experiment as a point at its finish time; the champion's best-so-far line;
    the code's reported score beside the verified one where they differ."""
    rows = [e for e in data.experiments if e.finished_at]
    points = [(e, _minutes(data, e.finished_at), e.score) for e in rows if e.score is not None]
    if not points:
        return ""
    with _figure("score") as fig:
        ax = fig.add_subplot()
        for status in sorted({e.status for e, _, _ in points}):
            pts = [(x, y) for e, x, y in points if e.status == status]
            kind = "verified" if any(e.verified is not None for e, _, _ in points) else "reported"
            ax.scatter(
                [x for x, _ in pts],
                [y for _, y in pts],
                color=STATUS_COLOURS.get(status, "#555"),
                s=28,
                zorder=3,
                label=f"{status} ({kind})",
            )
        differ = [
            (x, e.reported, e.verified)
            for e, x, _ in points
            if e.verified is not None and e.reported is not None and e.reported != e.verified
        ]
        if differ:
            ax.scatter(
                [x for x, _, _ in differ],
                [r for _, r, _ in differ],
                marker="x",
                color="#6a1b9a",
                zorder=3,
                label="reported by the code",
            )
            for x, r, v in differ:
                ax.plot([x, x], [r, v], color="#6a1b9a", lw=0.8, ls=":")
        unscored = [e for e in rows if e.score is None]
        for status in sorted({e.status for e in unscored}):
            xs_u = [_minutes(data, e.finished_at) for e in unscored if e.status == status]
            # no score to place them by: a rug along the bottom, so every experiment is a point
            ax.plot(
                xs_u,
                [0.02] * len(xs_u),
                "v",
                color=STATUS_COLOURS.get(status, "#555"),
                transform=ax.get_xaxis_transform(),
                ms=7,
                ls="none",
                label=f"{status} (no score)",
            )
        # the champion: as the tree's gate crowned it, else the best ok score so far
        steps = [(_minutes(data, at), metric) for at, metric in data.champions]
        label = "champion"
        if not steps:
            label = "best so far"
            best: float | None = None
            for e, x, score in sorted(points, key=lambda p: p[1]):
                if e.status == "ok" and (best is None or data.better(score, best)):
                    best = score
                    steps.append((x, score))
        if steps:
            xs = [x for x, _ in steps] + [_minutes(data, data.end)]
            ys = [y for _, y in steps]
            ax.step(
                xs,
                ys + ys[-1:],
                where="post",
                color="#f9a825",
                lw=1.6,
                zorder=2,
                label=f"{label} {ys[-1]:.4g}",
            )
        ax.set_xlim(0, max(_minutes(data, data.end), 0.1) * 1.02)
        ax.set_xlabel("minutes since the run started")
        ax.set_ylabel("score")
        ax.legend(loc="best", fontsize=7)
        ax.grid(alpha=0.3)
        return _svg(fig, "score")


def timeline_svg(data: RunData) -> str:
    """One row per node: each experiment a bar from start to finish, coloured by status."""
    rows = [e for e in data.experiments if e.started_at]
    if not rows:
        return ""
    nodes = sorted({e.node_id or "?" for e in rows})
    with _figure("timeline", height=max(1.6, 0.45 * len(nodes) + 1.0)) as fig:
        ax = fig.add_subplot()
        seen: set[str] = set()
        for e in rows:
            y = nodes.index(e.node_id or "?")
            end = e.finished_at or data.end
            left, width = (
                _minutes(data, e.started_at),
                max(_minutes(data, end) - _minutes(data, e.started_at), 0.05),
            )
            ax.barh(
                y,
                width,
                left=left,
                height=0.6,
                color=STATUS_COLOURS.get(e.status, "#555"),
                edgecolor="#333",
                lw=0.4,
                hatch="//" if e.status == "running" else None,
                label=e.status if e.status not in seen else None,
            )
            seen.add(e.status)
        ax.set_yticks(range(len(nodes)), [n[:10] for n in nodes])
        ax.set_ylabel("node")
        ax.set_xlim(0, max(_minutes(data, data.end), 0.1) * 1.02)
        ax.set_xlabel("minutes since the run started")
        ax.legend(loc="best", fontsize=7)
        ax.grid(axis="x", alpha=0.3)
        return _svg(fig, "timeline")


def spend_svg(data: RunData) -> str:
    """Cumulative tokens (and dollars, when any call cost something) by role and model."""
    if not data.usage:
        return ""
    series: dict[str, list[tuple[float, int, float]]] = defaultdict(list)
    for u in data.usage:
        key = f"{u.role} · {model_label(u.model)}"
        prev = series[key][-1] if series[key] else (0.0, 0, 0.0)
        series[key].append(
            (
                _minutes(data, u.timestamp),
                prev[1] + u.prompt_tokens + u.completion_tokens,
                prev[2] + u.cost_usd,
            )
        )
    paid = any(u.cost_usd for u in data.usage)
    with _figure("spend", width=8.0 if not paid else 10.0) as fig:
        axes = fig.subplots(1, 2 if paid else 1, squeeze=False)[0]
        for key, pts in sorted(series.items()):
            xs = [0.0] + [p[0] for p in pts]
            axes[0].step(xs, [0] + [p[1] for p in pts], where="post", label=key)
            if paid:
                axes[1].step(xs, [0.0] + [p[2] for p in pts], where="post", label=key)
        axes[0].set_ylabel("tokens (cumulative)")
        if paid:
            axes[1].set_ylabel("USD (cumulative)")
        for ax in axes:
            ax.set_xlabel("minutes since the run started")
            ax.grid(alpha=0.3)
        axes[0].legend(loc="upper left", fontsize=7)
        return _svg(fig, "spend")


def batch_svg(runs: list[tuple[str, float | None, str]]) -> str:
    """The graded score of each run of a batch, coloured by medal."""
    scored = [(n, s, m) for n, s, m in runs if s is not None]
    if not scored:
        return ""
    with _figure("batch", height=max(1.6, 0.35 * len(scored) + 0.8)) as fig:
        ax = fig.add_subplot()
        for y, (_name, score, medal) in enumerate(scored):
            colour = MEDAL_COLOURS.get(medal.split(",")[0], "#1e88e5")
            ax.barh(y, score, color=colour, height=0.6)
            ax.annotate(f" {score:.4g} {medal}", (score, y), va="center", fontsize=7)
        ax.set_yticks(range(len(scored)), [n[:30] for n, _, _ in scored])
        ax.set_xlabel("graded score")
        ax.grid(axis="x", alpha=0.3)
        return _svg(fig, "batch")
