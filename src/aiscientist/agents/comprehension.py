"""Comprehension as Tier-2 readers: structure first; then algorithm, experiments and
baseline at once; then a synthesis (summary, targets, ambiguities).

Readers are leaf subagents (no deeper recursion); they run in threads because they wait on
the model, not the CPU. A scripted model without scripts for the readers runs comprehension
as one session instead.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.loop import Agent, Outcome
from aiscientist.agents.prompts import render
from aiscientist.agents.tools import ToolSet
from aiscientist.messages import Budget, Usage
from aiscientist.models.base import Model

READERS: dict[str, tuple[str, str]] = {
    "structure": (
        "Map the parts of the task or paper and how they relate.",
        "paper_analysis/structure.md",
    ),
    "algorithm": ("Describe the method(s) to implement, precisely.", "paper_analysis/algorithm.md"),
    "experiments": (
        "List the experiments and metrics that matter and how results are measured.",
        "paper_analysis/experiments.md",
    ),
    "baseline": (
        "Describe the simplest credible approach and what it should score.",
        "paper_analysis/baseline.md",
    ),
    "synthesis": (
        "Synthesise the other analyses into summary.md, targets.json (metric, value, direction) "
        "and ambiguities.md (what is unclear and the assumption you make).",
        "paper_analysis/summary.md, paper_analysis/targets.json and paper_analysis/ambiguities.md",
    ),
}
READER_REQUIRED: dict[str, tuple[str, ...]] = {
    name: ("paper_analysis/summary.md",) if name == "synthesis" else (out,)
    for name, (_job, out) in READERS.items()
}
"""The file each reader must have written before its finish is accepted."""

PHASES: tuple[tuple[str, ...], ...] = (
    ("structure",),
    ("algorithm", "experiments", "baseline"),
    ("synthesis",),
)

ModelFor = Callable[[str], Model | None]
AgentFactory = Callable[[str, Model, str, str], Agent]


def run_readers(
    model_for: ModelFor,
    make_agent: AgentFactory,
    task_kind: str,
    task_name: str,
    instruction: str,
) -> Outcome | None:
    """Run the reader phases; ``None`` when no reader model is available."""
    models = {name: model_for(f"comprehension.{name}") for name in READERS}
    if any(m is None for m in models.values()):
        return None
    summaries: list[str] = []
    usage = Usage()
    steps = 0
    for phase in PHASES:

        def one(name: str) -> Outcome:
            job, output = READERS[name]
            system = render(
                "reader", task_kind=task_kind, task_name=task_name, job=job, output=output
            )
            model = models[name]
            assert model is not None
            return make_agent(name, model, system, instruction).run()

        with ThreadPoolExecutor(max_workers=len(phase)) as pool:
            outcomes = list(pool.map(one, phase))
        for name, out in zip(phase, outcomes, strict=True):
            summaries.append(f"{name}: {out.summary}")
            usage = usage + out.usage
            steps += out.steps
            if out.status != "ok":
                return Outcome(out.status, "; ".join(summaries), steps, usage)
    return Outcome("ok", "; ".join(summaries), steps, usage)


def reader_agent(
    tools: Callable[[str], ToolSet],
    budget: Budget,
    max_steps: int,
    within: BudgetGuard | None = None,
    **kw: object,
) -> AgentFactory:
    """A factory of reader agents sharing the session's tools and budget (``within``: the
    run's guard, checked too)."""

    def make(name: str, model: Model, system: str, instruction: str) -> Agent:
        return Agent(
            model=model,
            tools=tools(name),
            system=system,
            task=instruction,
            guard=BudgetGuard(budget, within=within),
            max_steps=max_steps,
            **kw,  # type: ignore[arg-type]
        )

    return make
