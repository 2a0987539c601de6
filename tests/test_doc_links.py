"""The project's documents link only inside the repository, and only to files that exist.

Checked in ``README.md``, ``docs/*.md`` and ``cluster/*.md``: markdown links and images,
reference definitions, autolinks and bare URLs (none may leave the repository: no scheme such
as ``https:``, no path above the repository root, nothing git ignores), and backticked paths
that name a repository file (``configs/…``, ``src/…``, ``docs/…``...) or a file of the package
(``sandbox/local.py``, relative to ``src/aiscientist/``). Code blocks are not prose: their
contents are not checked.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "aiscientist"
DOCUMENTS = sorted(
    [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "cluster").glob("*.md")]
)

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+[\"'(][^)]*)?\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]*:[^>\s]*)>")
BARE_URL = re.compile(r"\b(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)\S+")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
TOP_LEVEL = (".ci/", "cluster/", "configs/", "docs/", "scripts/", "src/", "tests/")


def _package_dirs() -> tuple[str, ...]:
    """``agents/``, ``defaults/``, ``sandbox/``...: the top folders of the package."""
    return tuple(
        sorted(p.name + "/" for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    )


def links(text: str) -> list[str]:
    """Every link target in markdown ``text`` outside code blocks and code spans."""
    prose = CODE_SPAN.sub("code", FENCE.sub("", text))
    found: list[str] = []
    for pattern in (INLINE_LINK, REFERENCE, AUTOLINK):
        found += [m.group(1).strip("<>") for m in pattern.finditer(prose)]
        prose = pattern.sub(" ", prose)
    found += [m.group(0).rstrip(".,;:!?)") for m in BARE_URL.finditer(prose)]
    return found


def code_paths(text: str) -> list[tuple[Path, str]]:
    """Backticked spans of ``text`` that name a repository or package file: ``(base, path)``."""
    out = []
    package_dirs = _package_dirs()
    for m in CODE_SPAN.finditer(FENCE.sub("", text)):
        span = m.group(2).strip()
        if any(c.isspace() or c in "<{…" for c in span) or "..." in span:
            continue
        span = span.removeprefix("./")
        if span.startswith(TOP_LEVEL):
            out.append((REPO, span))
        elif span.startswith(package_dirs):
            out.append((PACKAGE, span))
    return out


def _ignored(path: Path) -> bool:
    if not (REPO / ".git").exists():
        return False
    rel = path.relative_to(REPO).as_posix()
    return subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", rel]).returncode == 0


def _check_target(target: Path, what: str) -> str | None:
    resolved = target.resolve()
    if not resolved.is_relative_to(REPO):
        return f"{what}: outside the repository"
    if not resolved.exists():
        return f"{what}: no such file"
    if resolved != REPO and _ignored(resolved):
        return f"{what}: ignored by git (a clone does not have it)"
    return None


def problems(text: str, doc: Path) -> list[str]:
    """What is wrong with the links and file paths of ``text``, a document at ``doc``."""
    out = []
    for link in links(text):
        if SCHEME.match(link) or link.startswith(("//", "www.")):
            out.append(f"{link}: leaves the repository")
            continue
        path = link.split("#", 1)[0].split("?", 1)[0]
        if not path:  # an anchor in the same document
            continue
        target = REPO / path.lstrip("/") if path.startswith("/") else doc.parent / path
        if (problem := _check_target(target, link)) is not None:
            out.append(problem)
    for base, span in code_paths(text):
        if "*" in span:
            if not list(base.glob(span)):
                out.append(f"`{span}`: matches no file")
        elif (problem := _check_target(base / span, f"`{span}`")) is not None:
            out.append(problem)
    return out


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_document_links_stay_in_the_repository_and_exist(doc: Path) -> None:
    assert problems(doc.read_text(encoding="utf-8"), doc) == []


def test_the_documents_include_the_readme_and_docs() -> None:
    names = {p.relative_to(REPO).as_posix() for p in DOCUMENTS}
    assert {"README.md", "docs/architecture.md"} <= names


def test_the_checker_catches_links_that_leave_or_are_dead() -> None:
    doc = REPO / "docs" / "example.md"
    text = "\n".join(
        [
            "See [design](../../shared/DESIGN.md) and [site](https://example.org/x).",
            "Also [gone](no-such-file.md#part), ![img](/no/such.png), <http://example.org>.",
            "Bare www.example.org and http://example.org/y in prose.",
            "[ref]: ../../outside.md",
            "`configs/no-such.yaml`, `sandbox/no_such.py` and `configs/scripts/*.nope`.",
            "Fine: [arch](architecture.md), [top](/README.md#quickstart), [here](#the-parts),",
            "`configs/batch.yaml`, `sandbox/local.py`, `src/aiscientist/defaults/default.yaml`,",
            "`configs/scripts/*.yaml`, `agent/plan.md` (a run path), `a.b=c`.",
            "```",
            "[in code](https://example.org) and `configs/not-checked.yaml`",
            "```",
            "`[in a span](https://example.org)`",
        ]
    )
    found = problems(text, doc)
    assert found == [
        "../../shared/DESIGN.md: outside the repository",
        "https://example.org/x: leaves the repository",
        "no-such-file.md#part: no such file",
        "/no/such.png: no such file",
        "../../outside.md: outside the repository",
        "http://example.org: leaves the repository",
        "www.example.org: leaves the repository",
        "http://example.org/y: leaves the repository",
        "`configs/no-such.yaml`: no such file",
        "`sandbox/no_such.py`: no such file",
        "`configs/scripts/*.nope`: matches no file",
    ], found
