"""``Task``: a loaded, validated task of either kind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiscientist.tasks.rubric import RubricNode

TaskKind = Literal["improve", "replicate"]

HIDDEN_TOP_LEVEL = {
    "improve": frozenset({"private", "leaderboard.csv", "config.yaml"}),
    "replicate": frozenset({"private", "rubric.json", "config.yaml"}),
}
"""Top-level entries agents never see: answers, the leaderboard, the rubric, and the config
that points at them (MLE-bench and PaperBench hide the same from their agents)."""


@dataclass(frozen=True)
class Task:
    """A task ready to run. Paths are absolute.

    ``improve`` tasks fill the competition fields (``metric`` … ``target_columns``);
    ``replicate`` tasks fill the paper fields (``rubric`` … ``blacklist``).
    """

    kind: TaskKind
    name: str
    root: Path
    description: str
    """``description.md`` (improve) or ``paper.md`` (replicate) text."""
    # improve
    metric: str = ""
    lower_is_better: bool = False
    sample_submission: Path | None = None
    answers: Path | None = None
    leaderboard: Path | None = None
    id_column: str = "id"
    target_columns: tuple[str, ...] = ()
    group_column: str | None = None
    """Column grouping rows (e.g. ``site_id``); the test set's groups are unseen in train, so
    a dev split must hold out whole groups. None: rows are exchangeable."""
    # replicate
    rubric: RubricNode | None = None
    paper: Path | None = None
    addendum: str = ""
    blacklist: tuple[str, ...] = ()

    def public_files(self) -> list[Path]:
        """Files agents may see, relative to ``root``, sorted; never ``private/``."""
        hidden = HIDDEN_TOP_LEVEL[self.kind]
        out: list[Path] = []
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if rel.parts[0] in hidden or not path.is_file():
                continue
            if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                continue
            out.append(rel)
        return out
