"""Lessons: short statements distilled from evidence, retrieved for new work, shared across runs.

``distil_lesson`` asks a model (prompt templates in ``hypotheses/prompts/``) for one short
lesson about an evidence; ``add_lesson_for`` stores it as a lesson node resting on that
evidence. ``relevant_lessons`` picks the lessons to inject into a specialist's prompt: those on
the hypothesis and its ancestors first (closest first), then those sharing tags. ``LessonStore``
is the opt-in directory (``workspace.lessons_dir``) shared by runs of a task family: one JSONL
file per family, each line a ``LessonNode``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import msgspec

from aiscientist.errors import TreeError
from aiscientist.hypotheses.events import EvidenceNode, HypothesisNode, LessonNode
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.messages import new_id
from aiscientist.models.base import ChatMessage, Model

PROMPTS = Path(__file__).parent / "prompts"
MAX_LESSON_CHARS = 400


@cache
def _template(name: str) -> str:
    return (PROMPTS / f"{name}.md").read_text()


def lesson_prompt(hypothesis: HypothesisNode, evidence: EvidenceNode) -> list[ChatMessage]:
    """The messages that ask a model for a lesson about ``evidence``."""
    user = _template("lesson").format(
        title=hypothesis.title,
        description=hypothesis.description or "(none)",
        tags=", ".join(hypothesis.tags) or "(none)",
        exp_id=evidence.exp_id,
        seed=evidence.seed,
        status=evidence.status,
        metric="(none)" if evidence.metric is None else f"{evidence.metric:.6g}",
        metrics=", ".join(f"{k}={v:.6g}" for k, v in sorted(evidence.metrics.items())) or "(none)",
        summary=evidence.summary or "(none)",
    )
    return [
        ChatMessage(role="system", content=_template("lesson_system").strip()),
        ChatMessage(role="user", content=user),
    ]


def distil_lesson(model: Model, hypothesis: HypothesisNode, evidence: EvidenceNode) -> str:
    """One short lesson (first paragraph of the reply, at most ``MAX_LESSON_CHARS``)."""
    reply = model.complete(lesson_prompt(hypothesis, evidence)).content.strip()
    text = " ".join(reply.split("\n\n", 1)[0].split())
    if not text:
        raise TreeError(
            f"model {model.name!r} returned an empty lesson for evidence {evidence.id!r}; "
            "check the model script or the lesson prompt"
        )
    if len(text) > MAX_LESSON_CHARS:
        text = text[: MAX_LESSON_CHARS - 3].rstrip() + "..."
    return text


def add_lesson_for(
    tree: HypothesisTree, model: Model, evidence_id: str, tags: Iterable[str] = ()
) -> str:
    """Distil a lesson from an evidence and store it in the tree; returns the lesson id."""
    evidence = tree.evidence(evidence_id)
    hypothesis = tree.hypothesis(evidence.hypothesis_id)
    text = distil_lesson(model, hypothesis, evidence)
    all_tags = tuple(dict.fromkeys([*hypothesis.tags, *tags]))
    return tree.add_lesson(
        LessonNode(
            id="",
            text=text,
            evidence_ids=(evidence_id,),
            tags=all_tags,
            hypothesis_id=hypothesis.id,
        )
    )


def relevant_lessons(
    tree: HypothesisTree,
    hypothesis_id: str | None,
    tags: Iterable[str] = (),
    k: int = 5,
) -> list[LessonNode]:
    """Up to ``k`` lessons for work on ``hypothesis_id`` (or a new draft when None).

    Lessons on the hypothesis and its ancestors come first (closest first, newest first), then
    lessons sharing the most tags (newest first). Cost grows with the depth and the number of
    matching lessons, not with the tree.
    """
    ranked: dict[str, tuple[int, int, int]] = {}
    if hypothesis_id is not None:
        for depth, hid in enumerate([hypothesis_id, *tree.ancestors(hypothesis_id)]):
            for lid in tree.index.lessons_of.get(hid, ()):
                key = (0, depth, -tree.node(lid).created_seq)
                ranked[lid] = min(ranked.get(lid, key), key)
    want = set(tags)
    if hypothesis_id is not None:
        want.update(tree.hypothesis(hypothesis_id).tags)
    overlap: dict[str, int] = {}
    for tag in want:
        for lid in tree.index.lessons_by_tag.get(tag, ()):
            overlap[lid] = overlap.get(lid, 0) + 1
    for lid, n in overlap.items():
        key = (1, -n, -tree.node(lid).created_seq)
        ranked[lid] = min(ranked.get(lid, key), key)
    best = sorted(ranked, key=ranked.__getitem__)[: max(0, k)]
    return [tree.node(lid) for lid in best]  # type: ignore[misc]


def format_lessons(lessons: Iterable[LessonNode]) -> str:
    """Lessons as a bullet list for a prompt ('' when there are none)."""
    lines = [f"- {ls.text}" + (f" [{', '.join(ls.tags)}]" if ls.tags else "") for ls in lessons]
    return "\n".join(lines)


_FAMILY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class LessonStore:
    """Opt-in lessons shared across runs: ``<root>/<family>.jsonl``, one ``LessonNode`` a line.

    Each lesson is appended with one ``write`` on an ``O_APPEND`` descriptor, which is atomic
    on a local filesystem; on NFS give each concurrent run its own family name or directory.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, family: str) -> Path:
        if not _FAMILY.match(family):
            raise TreeError(
                f"lesson family {family!r} must be letters, digits, '.', '_' or '-' (at most "
                "100), e.g. the task name"
            )
        return self.root / f"{family}.jsonl"

    def append(self, family: str, lesson: LessonNode, run_id: str = "") -> None:
        path = self._path(family)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = msgspec.json.encode(msgspec.structs.replace(lesson, source=run_id)) + b"\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def load(self, family: str) -> list[LessonNode]:
        """All stored lessons of a family, oldest first (a torn last line is skipped)."""
        try:
            data = self._path(family).read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in data.splitlines():
            try:
                out.append(msgspec.json.decode(line, type=LessonNode))
            except msgspec.DecodeError:
                continue
        return out

    def import_into(self, tree: HypothesisTree, family: str) -> list[str]:
        """Add the family's stored lessons to ``tree`` (once each); returns the new ids."""
        added = []
        for ls in self.load(family):
            lid = f"{ls.id}@store" if ls.id else new_id("les")
            if lid in tree:
                continue
            rec = LessonNode(
                id=lid,
                text=ls.text,
                evidence_ids=ls.evidence_ids,
                tags=ls.tags,
                source=f"store:{family}:{ls.source or 'unknown-run'}",
            )
            added.append(tree.add_lesson(rec))
        return added
