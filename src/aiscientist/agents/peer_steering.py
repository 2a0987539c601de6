"""Steering of a decentralized run's peers (``agents/peer.py``) when their model needs it.

Three peers share one model server; with a 1.5B model on two cores a call takes about a
minute, and a critique or a proposal of such a model is close to noise ("add more layers" to
a gradient-boosting program). So a steered peer asks its model only for the work (the code
of a change); its other calls are made by rule, without the model (``Steering.settled``):

- **a proposal** is the next standard change (``agents/ideas.py``) that neither an experiment
  of the run nor a hypothesis of the tree has taken yet (``standard_proposal``); when none is
  left, the model proposes;
- **a critique** accepts a proposal unless its title repeats an earlier hypothesis that was
  not abandoned (``rule_critique``): the compute is not spent twice on one idea;
- **the work on a standard change** starts from the program with that change already made
  (``with_standard_change``): a 1.5B model often ran the program unchanged, so the
  experiment measured the parent again under the change's name.

The tree's rules are unchanged: a proposal still runs only after a critique by another peer.
"""

from __future__ import annotations

import dataclasses
import re

from aiscientist.agents.ideas import IDEAS, Idea, apply_idea, untried
from aiscientist.agents.tools import Todo, Tool
from aiscientist.hypotheses.events import HypothesisNode
from aiscientist.hypotheses.tree import HypothesisTree


def _words(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


def next_idea(program: str, tried: list[str], t: HypothesisTree) -> Idea | None:
    """The first standard change ``program`` can take that no program in ``tried`` holds and
    no hypothesis of ``t`` is titled by."""
    named = {_words(h.title) for h in t.hypotheses()}
    return next((i for i in untried(program, tried) if _words(i.title) not in named), None)


def standard_proposal(propose: Tool, idea: Idea) -> Tool:
    """``propose`` with ``idea`` as its call, every argument fixed (made without the model)."""
    fixed = {
        "title": idea.title,
        "description": f"replace `{idea.function}` with the standard change: {idea.title}",
        "tags": [idea.function],
    }
    text = f"propose the standard change: {idea.title}"
    advice = Todo(text, "propose", fixed, blocks_finish=False, patience=0)
    return dataclasses.replace(propose, todo=lambda: [advice])


def rule_critique(critique: Tool, t: HypothesisTree, h: HypothesisNode) -> Tool:
    """``critique`` of ``h`` decided by rule, every argument fixed (made without the model):
    rejected when an earlier hypothesis, not abandoned, has the same title; else accepted."""
    earlier = []
    for o in t.hypotheses():
        if o.id == h.id:
            break
        if o.state != "abandoned" and _words(o.title) == _words(h.title):
            earlier.append(o.id)
    if earlier:
        fixed = {"accept": False, "note": f"a repeat of {earlier[0]} ({h.title[:80]})"}
    else:
        fixed = {"accept": True, "note": "not a repeat of an earlier hypothesis: worth a run"}
    advice = Todo(f"critique {h.id} by rule", "critique", fixed, blocks_finish=False, patience=0)
    return dataclasses.replace(critique, todo=lambda: [advice])


def with_standard_change(program: str, title: str) -> str:
    """``program`` with the standard change titled ``title`` made (``program`` when no
    standard change has that title or ``program`` lacks its function)."""
    idea = next((i for i in IDEAS if i.title == title), None)
    made = apply_idea(program, idea) if idea is not None else None
    return program if made is None else made
