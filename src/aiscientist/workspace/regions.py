"""The one table of workspace regions and the roles allowed to write each.

A region is a path prefix relative to the run directory. The longest matching prefix wins, so
``agent/experiments/`` can belong to other roles than ``agent/``.
"""

from __future__ import annotations

EXP_LOG = "agent/exp_log.md"
"""The experimentation session's log: its notes and every result it collected."""


HIDDEN: tuple[str, ...] = ("dev/private",)
"""Paths no agent reads: the labels of the framework's dev rows (the sandbox hides them too)."""


def usage_log(role: str) -> str:
    """The usage log of ``role`` (``models.usage.UsageRecord`` lines; one writer per file)."""
    return f"journal/usage/{role}.jsonl"


REGIONS: dict[str, frozenset[str]] = {
    "run.json": frozenset({"runtime"}),
    "MAP.md": frozenset({"runtime"}),
    "map.json": frozenset({"runtime"}),
    "grade.json": frozenset({"runtime", "judge"}),
    "reproduce.log": frozenset({"runtime", "orchestrator"}),
    "task/": frozenset({"runtime"}),
    "journal/": frozenset({"runtime"}),
    "journal/transcripts/": frozenset(
        {
            "orchestrator",
            "comprehension",
            "prioritization",
            "implementation",
            "experimentation",
            "helper",
            "peer",
            "aide",
        }
    ),
    "journal/usage/": frozenset(
        {
            "runtime",
            "orchestrator",
            "comprehension",
            "prioritization",
            "implementation",
            "experimentation",
            "helper",
            "judge",
            "peer",
            "aide",
        }
    ),
    "paper_analysis/": frozenset({"comprehension"}),
    "agent/prioritized_tasks.md": frozenset({"prioritization"}),
    "agent/plan.md": frozenset({"orchestrator", "peer"}),
    "agent/impl_log.md": frozenset({"implementation"}),
    EXP_LOG: frozenset({"experimentation"}),
    "agent/experiments/": frozenset({"experimentation", "executor", "peer", "aide"}),
    "agent/aide/": frozenset({"aide"}),
    "agent/helper/": frozenset({"helper"}),
    "agent/peers/": frozenset({"peer"}),
    "agent/state/": frozenset({"runtime"}),
    "submission/": frozenset({"implementation", "runtime", "peer", "aide"}),
    "tree/": frozenset({"tree"}),
    "dev/": frozenset({"runtime"}),
}
"""Region prefix -> roles that may write it. Everything else is read-only to everyone."""

LAYOUT_DIRS: tuple[str, ...] = (
    "task",
    "paper_analysis",
    "agent",
    "agent/experiments",
    "submission",
    "tree",
    "journal",
    "journal/usage",
)
"""Directories every run directory has (DESIGN.md, Workspace layout)."""


def region_of(rel_path: str) -> str:
    """The region prefix that governs ``rel_path`` ('' if none)."""
    best = ""
    for prefix in REGIONS:
        if prefix.endswith("/"):
            hit = rel_path.startswith(prefix) or rel_path == prefix[:-1]
        else:
            hit = rel_path == prefix
        if hit and len(prefix) > len(best):
            best = prefix
    return best


def owners(rel_path: str) -> frozenset[str]:
    """Roles that may write ``rel_path`` (posix, relative to the run directory)."""
    return REGIONS.get(region_of(rel_path), frozenset())
