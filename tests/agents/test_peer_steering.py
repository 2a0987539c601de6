"""A steered peer's proposals and critiques are made by rule, without the model: a proposal
is the next standard change nobody has taken, a critique rejects only a repeat. Real tree
store on disk, the real agent loop; the model is a script that is never asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiscientist.agents.baseline import baseline_program
from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.ideas import IDEAS, ideas_block
from aiscientist.agents.loop import Agent
from aiscientist.agents.peer_steering import (
    next_idea,
    rule_critique,
    standard_proposal,
    with_standard_change,
)
from aiscientist.agents.peer_tools import CritiqueArgs, ProposeArgs
from aiscientist.agents.tools import Finished, Tool, ToolSet
from aiscientist.hypotheses.store import TreeStore
from aiscientist.messages import Budget
from aiscientist.models.scripted import ScriptedModel

PROGRAM = baseline_program("rmse")


def _session(tool: Tool) -> ScriptedModel:
    model = ScriptedModel([])  # exhausted at once: a call it made would finish with nothing
    outcome = Agent(
        model=model,
        tools=ToolSet([tool]),
        system="peer",
        task="act",
        guard=BudgetGuard(Budget()),
        max_steps=3,
        steered=True,
    ).run()
    assert outcome.status == "ok", outcome
    return model


def _recording(name: str, args: type[Any], made: list[Any]) -> Tool:
    def fn(a: Any) -> str:
        made.append(a)
        raise Finished(f"{name} made")

    return Tool(name, name, args, fn)


def test_a_proposal_is_the_next_standard_change_nobody_has_taken(tmp_path: Path) -> None:
    tree = TreeStore(tmp_path / "tree").tree
    first = next_idea(PROGRAM, [], tree)
    assert first is not None and first == IDEAS[0]
    tree.propose(first.title, author="peer-0")  # taken by a proposal in the tree
    second = next_idea(PROGRAM, [], tree)
    assert second is not None and second.title != first.title

    made: list[ProposeArgs] = []
    model = _session(standard_proposal(_recording("propose", ProposeArgs, made), second))
    assert [m.title for m in made] == [second.title]
    assert made[0].tags == [second.function]
    assert model.schemas == [], "the model was asked for a proposal made by rule"

    # every idea taken: none is left to propose by rule (the model proposes)
    for idea in IDEAS:
        tree.propose(idea.title, author="peer-1")
    assert next_idea(PROGRAM, [], tree) is None


def test_a_critique_rejects_only_a_repeat_of_an_earlier_live_hypothesis(
    tmp_path: Path,
) -> None:
    tree = TreeStore(tmp_path / "tree").tree
    a = tree.propose("Pairwise products as features", author="peer-0")
    b = tree.propose("pairwise products, as features!", author="peer-1")  # a repeat of a
    c = tree.propose("A kernel SVM", author="peer-1")
    verdicts = {}
    for hid in (a, b, c):
        made: list[CritiqueArgs] = []
        tool = rule_critique(_recording("critique", CritiqueArgs, made), tree, tree.hypothesis(hid))
        model = _session(tool)
        assert model.schemas == [], "the model was asked for a critique made by rule"
        verdicts[hid] = made[0]
    assert verdicts[a].accept and verdicts[c].accept
    assert not verdicts[b].accept and a in verdicts[b].note

    # a repeat of an abandoned hypothesis may run: it was never tried
    tree.abandon(a, "rejected")
    made = []
    _session(rule_critique(_recording("critique", CritiqueArgs, made), tree, tree.hypothesis(b)))
    assert made[0].accept


def test_the_work_on_a_standard_change_is_shown_that_change_first(tmp_path: Path) -> None:
    last = IDEAS[-1]
    block = ideas_block(PROGRAM, tmp_path, first=last.title)
    assert f"The first, as the whole function `{last.function}`" in block
    assert last.code in block
    assert ideas_block(PROGRAM, tmp_path).count(IDEAS[0].code) == 1  # default order kept


def test_a_standard_change_is_made_in_the_program_and_nothing_else_is() -> None:
    idea = IDEAS[1]
    made = with_standard_change(PROGRAM, idea.title)
    assert idea.code.strip() in made and made != PROGRAM
    compile(made, "train.py", "exec")
    assert with_standard_change(PROGRAM, "add more layers") == PROGRAM
