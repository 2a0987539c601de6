"""The rubric judge: one structured judgement per rubric leaf, weighted mean up the tree.

For each leaf the judge model sees the requirement, the relevant paper excerpt, the
addendum, the submission's file tree, the most relevant files (ranked, truncated to fit its
context window), and ``reproduce.log`` for Code Execution and Result Analysis leaves. It
answers ``{"score": 0|1, "reason": "..."}``. A reply that cannot be parsed, or a model
error, scores 0 with the reason recorded: grading never crashes on a bad judge.

Execution and result leaves with no reproduction output to point at (``grading.evidence``),
and every leaf of an empty submission, score 0 by rule, with the reason, and never reach the
model.

Leaves are judged through ``map_fn(judge_fn, jobs)``: sequential by default;
``aiscientist.runtime.judging.ray_map`` runs each leaf as a Ray task.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from string import Template
from typing import Protocol

import msgspec

from aiscientist.errors import GradingError, ModelError
from aiscientist.grading import judge_context as ctx
from aiscientist.grading.evidence import Evidence, absence_reason
from aiscientist.messages import Usage
from aiscientist.models.base import ChatMessage, Model
from aiscientist.tasks.rubric import RubricNode
from aiscientist.tasks.task import Task

SCHEMA_VERSION = 1
_PROMPTS = Path(__file__).resolve().parent / "prompts"
JUDGEMENT_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "enum": [0, 1]},
        "reason": {"type": "string"},
    },
    "required": ["score", "reason"],
}


class LeafJob(msgspec.Struct, frozen=True):
    """One leaf to judge: its key (``RubricNode.key``) and the prompt already built."""

    leaf_id: str
    messages: tuple[ChatMessage, ...]


class LeafJudgement(msgspec.Struct, frozen=True):
    """The judge's verdict on one leaf. ``judged=False`` means no usable verdict (score 0)."""

    leaf_id: str
    score: int
    reason: str
    judged: bool = True
    error: str = ""
    usage: Usage = Usage()
    by_rule: bool = False
    """Scored by rule (no reproduction output to point at), not by the model."""


class ScoredNode(msgspec.Struct, frozen=True):
    """A rubric node with its score; leaves carry the judge's reason."""

    id: str
    requirements: str
    weight: float
    score: float
    task_category: str | None = None
    finegrained_task_category: str | None = None
    judged: bool = True
    reason: str = ""
    error: str = ""
    sub_tasks: tuple[ScoredNode, ...] = ()
    by_rule: bool = False
    """A leaf scored 0 by rule, without a model call."""


class RubricGrade(msgspec.Struct, frozen=True):
    """``grade.json`` of a replicate run: the whole scored tree and what judging cost."""

    task: str
    score: float
    code_only: bool
    judge_model: str
    leaves_total: int
    leaves_judged: int
    leaves_failed: int
    by_category: dict[str, float]
    """Fraction of leaves passed, per task category."""
    usage: Usage
    tree: ScoredNode
    schema_version: int = SCHEMA_VERSION
    leaves_by_rule: int = 0
    """Leaves scored 0 without a model call: no reproduction output to point at."""
    reproduction: str = ""
    """Where the reproduction output the judge saw came from, and its verdict."""
    judge_warning: str = ""
    """Set when the judge's measured agreement is below ``grading.min_judge_agreement``."""


JudgeFn = Callable[[LeafJob], LeafJudgement]
Done = Callable[[LeafJudgement], None]


class MapFn(Protocol):
    """Runs ``fn`` over ``jobs`` (in any order, results in job order), telling ``done`` of
    each judgement as it arrives."""

    def __call__(
        self, fn: JudgeFn, jobs: Sequence[LeafJob], done: Done | None = None
    ) -> list[LeafJudgement]: ...


def sequential_map(
    fn: JudgeFn, jobs: Sequence[LeafJob], done: Done | None = None
) -> list[LeafJudgement]:
    """Judge leaves one after another (the default ``map_fn``)."""
    out = []
    for job in jobs:
        out.append(fn(job))
        if done is not None:
            done(out[-1])
    return out


def leaf_progress(total: int, ruled: int, say: Callable[[str], None]) -> Done:
    """A ``done`` that says how far judging is, about every 5% of ``total`` leaves."""
    every = max(1, total // 20)
    count = [0]

    def done(_j: LeafJudgement) -> None:
        count[0] += 1
        if count[0] % every == 0 or count[0] == total:
            say(f"judged {count[0]}/{total} rubric leaves ({ruled} more scored 0 by rule)")

    return done


def parse_judgement(text: str) -> tuple[int, str]:
    """``(score, reason)`` from a judge reply; ``ValueError`` says what is wrong with it.

    Accepts the JSON object alone, inside a code fence, or after prose; ``score`` may be
    0/1, "0"/"1", 0.0/1.0 or true/false.
    """
    decoder = json.JSONDecoder()
    first_error = ""
    for match in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or "score" not in obj:
            continue
        try:
            return _judgement_of(obj)
        except ValueError as exc:
            first_error = first_error or str(exc)
    if first_error:
        raise ValueError(first_error)
    raise ValueError(f"no JSON object with a 'score' in the reply {text[:200]!r}")


def _judgement_of(obj: dict[str, object]) -> tuple[int, str]:
    raw = obj["score"]
    if isinstance(raw, str) and raw.strip() in ("0", "1"):
        raw = int(raw.strip())
    if isinstance(raw, bool):
        raw = int(raw)
    if not isinstance(raw, int | float) or raw not in (0, 1):
        raise ValueError(f"'score' must be 0 or 1, got {obj['score']!r}")
    reason = obj.get("reason", "")
    return int(raw), str(reason if reason is not None else "").strip()[:1000]


def judge_leaf(model: Model, job: LeafJob) -> LeafJudgement:
    """Ask ``model`` about one leaf; errors and garbage become score 0 with the reason."""
    try:
        reply = model.complete(list(job.messages), json_schema=JUDGEMENT_SCHEMA)
    except ModelError as exc:
        return LeafJudgement(job.leaf_id, 0, "", judged=False, error=f"judge model failed: {exc}")
    try:
        score, reason = parse_judgement(reply.content)
    except ValueError as exc:
        return LeafJudgement(
            job.leaf_id,
            0,
            "",
            judged=False,
            error=f"unparseable judgement: {exc}",
            usage=reply.usage,
        )
    return LeafJudgement(job.leaf_id, score, reason, usage=reply.usage)


def prune_code_only(node: RubricNode) -> RubricNode | None:
    """The rubric restricted to Code Development leaves (PaperBench Code-Dev)."""
    if node.is_leaf:
        return node if node.task_category == "Code Development" else None
    kept = tuple(c for c in (prune_code_only(s) for s in node.sub_tasks) if c is not None)
    if not kept or sum(c.weight for c in kept) <= 0:
        return None
    return RubricNode(
        node.id,
        node.requirements,
        node.weight,
        kept,
        node.task_category,
        node.finegrained_task_category,
        node.extra,
        node.path,
    )


def _ancestors(root: RubricNode) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}

    def visit(node: RubricNode, chain: list[str]) -> None:
        out[node.key] = chain
        for child in node.sub_tasks:
            visit(child, [*chain, node.requirements[:300]])

    visit(root, [])
    return out


def build_jobs(
    task: Task,
    submission: Path,
    leaves: list[RubricNode],
    root: RubricNode,
    context_window: int,
    evidence: Evidence | None = None,
) -> list[LeafJob]:
    """The prompt of every leaf, each sized to fit ``context_window`` tokens.

    ``evidence`` is what the judge reads (default: ``submission`` as it is, its own
    ``reproduce.log`` the output of the run)."""
    evidence = evidence or Evidence.of_directory(submission)
    system = (_PROMPTS / "judge_system.md").read_text()
    template = Template((_PROMPTS / "judge_leaf.md").read_text())
    files = ctx.read_submission(evidence.root)
    log_text = evidence.log
    tree = ctx.file_tree(files)
    chains = _ancestors(root)
    budget = max(6000, (context_window - 1024) * 3) - len(system) - 1500
    jobs = []
    for leaf in leaves:
        query = " ".join([leaf.requirements, *chains[leaf.key]])
        needs_log = leaf.task_category in ("Code Execution", "Result Analysis")
        log = (
            ctx.log_tail(log_text, budget // 5)
            if needs_log
            else ("(not shown: Code Development requirements are judged from the source)")
        )
        fixed = {
            "category": leaf.task_category or "",
            "requirement": leaf.requirements,
            "ancestors": "\n".join(f"- {a}" for a in chains[leaf.key]) or "(top level)",
            "paper": ctx.paper_excerpt(task.description, query, budget // 4),
            "addendum": (task.addendum or "(none)")[: budget // 10],
            "tree": tree[: budget // 12],
            "log": log,
        }
        used = sum(len(v) for v in fixed.values())
        ranked = ctx.rank_files(files, query)
        if needs_log and evidence.outputs:
            # what the run wrote (results.json) before the code that wrote it
            made = set(evidence.outputs)
            ranked = [f for f in ranked if f.path in made] + [
                f for f in ranked if f.path not in made
            ]
        fixed["files"] = ctx.pack_files(ranked, max(1500, budget - used))
        user = template.safe_substitute(fixed)
        jobs.append(LeafJob(leaf.key, (ChatMessage("system", system), ChatMessage("user", user))))
    return jobs


def _score_tree(node: RubricNode, verdicts: dict[str, LeafJudgement]) -> ScoredNode:
    if node.is_leaf:
        v = verdicts[node.key]
        return ScoredNode(
            node.id,
            node.requirements,
            node.weight,
            float(v.score),
            node.task_category,
            node.finegrained_task_category,
            v.judged,
            v.reason,
            v.error,
            by_rule=v.by_rule,
        )
    kids = tuple(_score_tree(c, verdicts) for c in node.sub_tasks)
    total = sum(k.weight for k in kids)
    score = sum(k.weight * k.score for k in kids) / total
    return ScoredNode(
        node.id,
        node.requirements,
        node.weight,
        score,
        node.task_category,
        node.finegrained_task_category,
        all(k.judged for k in kids),
        sub_tasks=kids,
    )


def judge_rubric(
    task: Task,
    submission: Path,
    model: Model,
    code_only: bool = False,
    map_fn: MapFn | None = None,
    max_prompt_tokens: int | None = None,
    evidence: Evidence | None = None,
    progress: Callable[[str], None] | None = None,
) -> RubricGrade:
    """Judge every leaf of ``task``'s rubric against ``submission`` and score the tree.

    Prompts are sized to the model's context window, or to ``max_prompt_tokens`` when that
    is smaller (to bound cost or latency). ``evidence`` is the reproduction output the
    execution and result leaves are judged on (``grading.reproduction``); by default the
    submission directory as it is. Leaves with nothing to point at score 0 with no call.
    ``progress`` hears how far judging is (a big rubric takes minutes).
    """
    if task.kind != "replicate" or task.rubric is None:
        raise GradingError(f"task {task.name!r} has no rubric; only replicate tasks are judged")
    root: RubricNode | None = prune_code_only(task.rubric) if code_only else task.rubric
    if root is None:
        raise GradingError(f"rubric of {task.name!r} has no Code Development leaves to judge")
    leaves = root.leaves()
    window = model.context_window
    if max_prompt_tokens is not None:
        window = min(window, max_prompt_tokens)
    evidence = evidence or Evidence.of_directory(Path(submission))
    has_text = any(
        f.text.strip() for f in ctx.read_submission(evidence.root) if f.path != "reproduce.log"
    )
    ruled = {
        leaf.key: LeafJudgement(leaf.key, 0, why, by_rule=True)
        for leaf in leaves
        if (why := absence_reason(leaf, evidence, has_text))
    }
    to_judge = [leaf for leaf in leaves if leaf.key not in ruled]
    jobs = build_jobs(task, Path(submission), to_judge, root, window, evidence)
    done = leaf_progress(len(jobs), len(ruled), progress) if progress else None
    judge = functools.partial(judge_leaf, model)
    results = (map_fn or sequential_map)(judge, jobs, done) if jobs else []
    verdicts = {**{r.leaf_id: r for r in results}, **ruled}
    missing = [leaf.key for leaf in leaves if leaf.key not in verdicts]
    if missing:
        raise GradingError(f"map_fn returned no judgement for leaves {missing[:5]!r}")
    usage = sum((r.usage for r in results), Usage())
    by_cat: dict[str, list[int]] = {}
    for leaf in leaves:
        by_cat.setdefault(str(leaf.task_category), []).append(verdicts[leaf.key].score)
    tree = _score_tree(root, verdicts)
    failed = sum(1 for r in results if not r.judged)
    return RubricGrade(
        task=task.name,
        score=tree.score,
        code_only=code_only,
        judge_model=model.name,
        leaves_total=len(leaves),
        leaves_judged=len(leaves) - failed,
        leaves_failed=failed,
        by_category={k: sum(v) / len(v) for k, v in sorted(by_cat.items())},
        usage=usage,
        tree=tree,
        leaves_by_rule=len(ruled),
        reproduction=evidence.source
        + ("" if evidence.ran else f" (no successful run: {evidence.why_not})"),
    )
