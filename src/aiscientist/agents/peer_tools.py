"""Tools and prompt pieces of peer sessions (``agents.peer``): the argument models of
propose / critique / run_experiment, the tree digest peers read, writes confined to a peer's
own area, the pass tool, and the program an improve hypothesis starts from."""

from __future__ import annotations

from pathlib import Path

from aiscientist.agents.baseline import baseline_program, task_metric
from aiscientist.agents.ideas import ideas_block
from aiscientist.agents.peer_steering import with_standard_change
from aiscientist.agents.tools import Args, Finished, Tool
from aiscientist.agents.workspace_tools import ToolContext, function_tool, write_tools
from aiscientist.config import SandboxConfig
from aiscientist.errors import ToolError
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.workspace.view import WorkspaceView


class ProposeArgs(Args):
    title: str
    """The hypothesis in one line."""
    description: str = ""
    """What to change and why, and the expected effect on val_score."""
    tags: list[str] = []
    """A few words for retrieval: model family, technique."""


class CritiqueArgs(Args):
    accept: bool
    """True: worth the compute; false: reject it (it is abandoned)."""
    note: str = ""
    """One sentence: why."""


class RunArgs(Args):
    command: str
    """Shell command run in the experiment's working copy, e.g. 'python train.py'."""
    seed: int = 0
    """Seed, passed as $SEED."""
    outputs: list[str] = ["submission.csv", "metrics.json"]
    """Files the command writes that should be kept."""
    timeout_s: float | None = None
    """Wall-clock limit; default from the config."""


def tree_digest(t: HypothesisTree, limit: int = 30) -> str:
    """The champion and the newest hypotheses, one line each, for a prompt."""
    lines = []
    if t.champion is not None:
        c = t.champion
        lines.append(f"Champion: val_score {c.metric:.6g} ({c.hypothesis_id})")
    for h in t.hypotheses()[-limit:]:
        metrics = [e.metric for e in t.evidence_of(h.id) if e.metric is not None]
        best = f" val_score={metrics[-1]:.6g}" if metrics else ""
        parent = f" <- {h.parent}" if h.parent else ""
        lines.append(f"- [{h.state}] {h.title} ({h.id}{parent}; by {h.author}){best}")
    return "\n".join(lines) or "(empty: nothing proposed yet)"


def scoped_write_tools(
    view: WorkspaceView, sandbox: SandboxConfig, area: str, who: str
) -> list[Tool]:
    """write_file/edit_file/replace_function with paths relative to ``area``, refused
    outside it."""
    out = []
    ctx = ToolContext(view=view, sandbox=sandbox)
    for tool in [*write_tools(ctx), function_tool(ctx)]:

        def fn(a, _inner=tool.fn):  # type: ignore[no-untyped-def]
            path = a.path if a.path.startswith(f"{area}/") else f"{area}/{a.path}"
            rel = view.rel(view.path(path))  # refuses '..' escapes
            if not rel.startswith(f"{area}/"):
                raise ToolError(f"{who} may write only under {area}/, not {a.path!r}")
            return _inner(a.model_copy(update={"path": rel}))

        desc = tool.description + f" Paths are relative to {area}/."
        out.append(Tool(tool.name, desc, tool.args, fn))
    return out


class PassArgs(Args):
    summary: str = ""
    """Why you stop without acting."""


def pass_tool() -> Tool:
    """finish: end a session without acting (nothing to propose, give up on a hypothesis)."""

    def finish(a: PassArgs) -> str:
        raise Finished("")

    return Tool("finish", "Stop without acting (nothing to propose / give up).", PassArgs, finish)


def best_program(view: WorkspaceView, run_dir: Path) -> str:
    """The best program so far: the champion's ``train.py``, else the framework's baseline."""
    champion = "submission/train.py"
    if view.exists(champion):
        return view.read_text(champion)
    return baseline_program(task_metric(run_dir))


def start_program(view: WorkspaceView, run_dir: Path, area: str, title: str, steered: bool) -> str:
    """An improve hypothesis starts from a working program: the best one so far
    (``best_program``) is copied into the peer's ``area``, so the hypothesis is a change to it
    and running it unchanged still gives a valid result. Returns that as a prompt section
    with the standard changes not yet tried (``agents/ideas.py``), the one ``title`` names
    first. A steered peer's standard change is made in it already (``agents/peer_steering.py``)."""
    mine = f"{area}/train.py"
    base = best_program(view, run_dir)
    made = with_standard_change(base, title) if steered else base
    if not view.exists(mine):
        view.write_text(mine, made)
    if made != base:
        return (
            "\n\nYour area already holds train.py, the best program so far with this "
            "hypothesis's change made (it runs and writes a valid submission): run it "
            "(run_experiment with command 'python train.py')."
        )
    return (
        "\n\nYour area already holds train.py, the best program so far (it runs and "
        "writes a valid submission): make the hypothesis's change to it (replace_function "
        "for one whole function), then run it." + ideas_block(view.read_text(mine), run_dir, title)
    )
