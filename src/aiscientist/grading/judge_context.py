"""What the rubric judge sees for one leaf: a paper excerpt, the submission's file tree, the
most relevant files (ranked, truncated to fit), and ``reproduce.log``.

Relevance is lexical: the words of the requirement (and its ancestors) counted in a file's
path and text. Cheap, deterministic and good enough to put the right file first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_WORD = re.compile(r"[a-z][a-z0-9_]{2,}")
_STOP = frozenset(
    "the and for with that this from are was were has have been its into than then when "
    "which their there these those should must code paper using used use given each all any "
    "not but can also data results result implemented implementation correctly".split()
)
_SKIP_DIRS = {".git", "__pycache__", ".venv", "venv", "node_modules", ".ipynb_checkpoints"}
_TEXT_SUFFIXES = {
    ".py",
    ".sh",
    ".md",
    ".txt",
    ".json",
    ".yaml",
    ".yml",
    ".toml",
    ".cfg",
    ".ini",
    ".csv",
    ".log",
    ".r",
    ".jl",
    ".ipynb",
    ".tex",
    ".c",
    ".cpp",
    ".h",
    ".js",
    ".ts",
    "",
}
MAX_FILE_BYTES = 400_000


def terms(text: str) -> set[str]:
    """Content words of ``text`` (lower case, 3+ characters, minus stop words)."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


@dataclass(frozen=True)
class SubmissionFile:
    path: str
    """Relative to the submission root."""
    text: str
    size: int


def read_submission(root: Path, max_files: int = 400) -> list[SubmissionFile]:
    """Text files of the submission (skipping VCS and caches), by path."""
    out: list[SubmissionFile] = []
    if not root.is_dir():
        return out
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(p in _SKIP_DIRS for p in rel.parts) or not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_size
        text = ""
        if path.suffix.lower() in _TEXT_SUFFIXES and size <= MAX_FILE_BYTES:
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                text = ""
        out.append(SubmissionFile(rel.as_posix(), text, size))
        if len(out) >= max_files:
            break
    return out


def file_tree(files: list[SubmissionFile], limit: int = 200) -> str:
    """One line per file with its size; ``(empty)`` for an empty submission."""
    if not files:
        return "(empty: the submission has no files)"
    lines = [f"{f.path}  ({f.size} bytes)" for f in files[:limit]]
    if len(files) > limit:
        lines.append(f"... and {len(files) - limit} more files")
    return "\n".join(lines)


def rank_files(files: list[SubmissionFile], query: str) -> list[SubmissionFile]:
    """Files with text, most relevant to ``query`` first (ties: shorter path first)."""
    q = terms(query)

    def relevance(f: SubmissionFile) -> float:
        words = _WORD.findall(f.text.lower())
        counts: dict[str, int] = {}
        for w in words:
            if w in q:
                counts[w] = counts.get(w, 0) + 1
        path_hits = len(q & terms(f.path.replace("/", " ").replace(".", " ")))
        score = sum(min(c, 5) for c in counts.values()) + 4.0 * path_hits
        if f.path in ("reproduce.sh", "README.md"):
            score += 3.0
        return score

    with_text = [f for f in files if f.text and f.path != "reproduce.log"]
    return sorted(with_text, key=lambda f: (-relevance(f), len(f.path), f.path))


def pack_files(ranked: list[SubmissionFile], budget_chars: int, per_file: int = 6000) -> str:
    """The ranked files as fenced blocks, each truncated, until ``budget_chars`` is spent."""
    parts: list[str] = []
    used = 0
    for f in ranked:
        room = min(per_file, budget_chars - used)
        if room < 300:
            break
        body = f.text if len(f.text) <= room else f.text[:room] + "\n... (truncated)"
        block = f"## {f.path}\n```\n{body}\n```"
        parts.append(block)
        used += len(block)
    left = len(ranked) - len(parts)
    if left > 0:
        parts.append(f"({left} less relevant files not shown)")
    return "\n\n".join(parts) if parts else "(no readable source files)"


def paper_excerpt(paper: str, query: str, budget_chars: int) -> str:
    """The paper's sections most relevant to ``query``, in paper order, within the budget."""
    if len(paper) <= budget_chars:
        return paper
    sections = [s for s in re.split(r"\n(?=#{1,6} )|\n\s*\n", paper) if s.strip()]
    q = terms(query)
    scored = sorted(range(len(sections)), key=lambda i: (-len(q & terms(sections[i])), i))
    chosen: list[int] = []
    used = 0
    for i in scored:
        if used + len(sections[i]) > budget_chars:
            continue
        chosen.append(i)
        used += len(sections[i]) + 2
    return "\n\n".join(sections[i] for i in sorted(chosen)) or paper[:budget_chars]


def log_tail(text: str, budget_chars: int) -> str:
    """The end of a log (where results and errors are), marked when cut."""
    if not text:
        return "(no reproduce.log: reproduce.sh was not run or wrote nothing)"
    if len(text) <= budget_chars:
        return text
    return f"... (first {len(text) - budget_chars} characters cut)\n" + text[-budget_chars:]
