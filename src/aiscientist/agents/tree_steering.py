"""The hierarchical team works through the hypothesis tree.

- ``tree_status``: what the orchestrator sees of the tree at every step: the champion with its
  verified score, the proposals awaiting its critique, what ``search.policy`` would run next,
  and the latest lessons.
- ``propose_tool`` (experimentation): a hypothesis is a concrete change to the code and the
  effect it should have; it goes into the tree as a proposal and runs only once critiqued
  (``submit_experiment`` with ``hypothesis=ID``).
- ``critique_tool`` (orchestrator): accept or reject a proposal before any compute is spent;
  a rejected one ends abandoned, with the critique as its reason.

Proposing and critiquing are offered in the ``full`` prompt profile (capable models); every
profile gets the status lines.
"""

from __future__ import annotations

import hashlib
import random
import time

from aiscientist.agents.tools import Args, Tool
from aiscientist.agents.tree_tools import TreeClient
from aiscientist.errors import ToolError, TreeError
from aiscientist.hypotheses.policy import PolicyParams, select

STATUS_CHARS = 900
"""The tree's part of the orchestrator's status stays under this."""


class ProposeArgs(Args):
    title: str
    """The change in a few words, e.g. 'target-encode the city column'."""
    change: str
    """What to change in submission/ (the code diff in words)."""
    expected: str
    """The effect it should have on the verified score, and why."""
    parent: str = ""
    """The hypothesis whose code it changes (e.g. the champion's), if any."""


class CritiqueArgs(Args):
    hypothesis_id: str
    accept: bool
    """true: worth the compute; false: rejected before it runs."""
    note: str = ""
    """Why (kept in the tree; a rejection's reason)."""


def proposal_id(title: str) -> str:
    """The id of a proposal: derived from its title, so a repeated proposal is one node."""
    return "hyp-p" + hashlib.sha256(title.strip().lower().encode()).hexdigest()[:10]


def propose_tool(tree: TreeClient, author: str, tags: tuple[str, ...] = ()) -> Tool:
    def propose(a: ProposeArgs) -> str:
        hid = proposal_id(a.title)
        try:
            tree.node(hid)
            return f"{hid} is already in the tree"
        except TreeError:
            pass
        try:
            tree.propose(
                a.title[:200],
                description=f"change: {a.change}\nexpected: {a.expected}"[:2000],
                parent=a.parent or None,
                author=author,
                tags=tags,
                action="improve" if a.parent else "draft",
                id=hid,
            )
        except TreeError as exc:
            raise ToolError(f"hypothesis tree: {exc}") from exc
        return (
            f"proposed {hid}; the orchestrator critiques it before it may run "
            f"(then submit_experiment with hypothesis={hid!r})"
        )

    return Tool(
        "propose_hypothesis",
        "Propose a concrete change and its expected effect; it runs once the orchestrator "
        "accepts it.",
        ProposeArgs,
        propose,
    )


def critique_tool(tree: TreeClient, critic: str = "orchestrator") -> Tool:
    def critique(a: CritiqueArgs) -> str:
        try:
            tree.critique(a.hypothesis_id, critic, a.accept, a.note[:500])
        except TreeError as exc:
            raise ToolError(f"hypothesis tree: {exc}") from exc
        if a.accept:
            return f"accepted {a.hypothesis_id}: experimentation may run it"
        return f"rejected {a.hypothesis_id} before any compute: {a.note or 'no reason given'}"

    return Tool(
        "critique",
        "Accept or reject a proposed hypothesis before any compute is spent on it.",
        CritiqueArgs,
        critique,
    )


def tree_status(tree: TreeClient, policy: str, lower_is_better: bool) -> str:
    """The tree's lines of the orchestrator's status (see the module docstring)."""
    t = tree.tree()
    lines = []
    c = t.champion
    if c is not None:
        title = t.hypothesis(c.hypothesis_id).title
        lines.append(f"Champion: verified score {c.metric:.6g}, {title[:80]} ({c.hypothesis_id}).")
    else:
        lines.append("Champion: none yet.")
    waiting = [h for h in t.hypotheses() if h.state == "proposed"]
    for h in waiting[:3]:
        lines.append(f"Awaiting your critique: {h.id}: {h.title[:80]}.")
    choice = select(
        t,
        policy,
        PolicyParams(lower_is_better=lower_is_better),
        random.Random(t.version),
        time.time(),
    )
    if choice.action == "run" and choice.hypothesis_id:
        title = t.hypothesis(choice.hypothesis_id).title
        lines.append(f"Next by {policy}: run {choice.hypothesis_id} ({title[:80]}).")
    elif choice.hypothesis_id:
        lines.append(f"Next by {policy}: {choice.action} {choice.hypothesis_id}.")
    for lesson in t.lessons()[-3:]:
        lines.append(f"Lesson: {lesson.text[:160]}")
    text = " ".join(lines)
    return text if len(text) <= STATUS_CHARS else text[: STATUS_CHARS - 3] + "..."
