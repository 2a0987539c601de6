"""What a rubric leaf can point at, and the rule that scores a leaf 0 when there is nothing.

PaperBench judges Code Execution and Result Analysis leaves on the output of a reproduction
run. A leaf of those categories with no reproduction output to point at (no successful run of
``reproduce.sh``, an empty run, or the file the requirement names is absent) scores 0 here
without a model call, with a reason saying so: a judge shown nothing must not pass anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aiscientist.tasks.rubric import RubricNode

EVIDENCE_CATEGORIES = ("Code Execution", "Result Analysis")
"""Leaf categories judged on what running ``reproduce.sh`` produced."""

_OUTPUT_FILE = re.compile(
    r"(?<![\w/.-])([\w][\w./-]*\.(?:json|jsonl|csv|tsv|txt|npy|npz|pkl|pt|pth|png|pdf|jpg|"
    r"jpeg|svg|h5|hdf5|parquet|yaml|yml|html|md|tex))\b",
    re.IGNORECASE,
)
_SKIP_DIRS = {".git", "__pycache__", ".venv", "venv", "node_modules"}


@dataclass(frozen=True)
class Evidence:
    """What the judge reads: the files (``root``) and the output of the reproduction run."""

    root: Path
    """The directory whose files the judge reads (the executed clone after a reproduction)."""
    log: str = ""
    """``reproduce.log`` of the run."""
    ran: bool = False
    """Whether ``reproduce.sh`` ran to success (exit 0, in time)."""
    why_not: str = ""
    """Why there is no successful run, when ``ran`` is false."""
    outputs: tuple[str, ...] | None = None
    """Files the run created or changed (relative to ``root``); None = not known."""
    source: str = ""
    """Where the evidence came from, for ``grade.json``."""

    @property
    def has_output(self) -> bool:
        """The run printed something or wrote a file."""
        return bool(self.log.strip()) or bool(self.outputs)

    @classmethod
    def of_directory(cls, submission: Path) -> Evidence:
        """A submission directory judged as it is (already executed, PaperBench-style): its
        own ``reproduce.log`` is the output of the run."""
        log_file = Path(submission) / "reproduce.log"
        log = log_file.read_text(errors="replace") if log_file.is_file() else ""
        if log.strip():
            return cls(Path(submission), log, True, source=f"{log_file}")
        return cls(
            Path(submission),
            "",
            False,
            "the submission has no reproduce.log: reproduce.sh was not run",
            source="submission directory, not reproduced",
        )


def named_files(requirement: str) -> list[str]:
    """Output files a requirement names (``results.json``, ``figures/loss.png``)."""
    seen: list[str] = []
    for name in _OUTPUT_FILE.findall(requirement):
        name = name.rstrip(".")
        if name.lower() != "reproduce.log" and name not in seen:
            seen.append(name)
    return seen


def _present(root: Path, name: str) -> bool:
    if (root / name).is_file():
        return True
    base = Path(name).name
    if not root.is_dir():
        return False
    for path in root.rglob(base):
        rel = path.relative_to(root)
        if path.is_file() and not any(p in _SKIP_DIRS for p in rel.parts):
            return True
    return False


def absence_reason(leaf: RubricNode, evidence: Evidence, has_text: bool = True) -> str:
    """Why ``leaf`` scores 0 without a judge call, or ``""`` when the judge should see it.

    ``has_text`` false (the submission holds no file with text) rules out every leaf: a
    small judge shown an empty file tree has passed code requirements."""
    if leaf.task_category not in EVIDENCE_CATEGORIES:
        if has_text:
            return ""
        return "nothing to point at: the submission holds no file with text (it is empty)"
    if not evidence.ran:
        return (
            f"no reproduction output to point at: {evidence.why_not or 'reproduce.sh did not run'}"
            f"; a {leaf.task_category} requirement needs a successful run of reproduce.sh"
        )
    missing = [n for n in named_files(leaf.requirements) if not _present(evidence.root, n)]
    if missing:
        return (
            f"no reproduction output to point at: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} absent after reproduce.sh ran"
        )
    if not evidence.has_output:
        return (
            "no reproduction output to point at: reproduce.sh ran but printed nothing and "
            "wrote no file"
        )
    return ""
