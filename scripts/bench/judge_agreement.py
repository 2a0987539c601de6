"""Judge agreement on the bundled paper: how often each judge model's leaf verdicts match the
expected ones.

Three submissions of rff-ridge (``tests/grading/fixtures/agreement/``): a correct
reproduction, an empty one, and one with two bugs that change the numbers, each with the
expected verdict of every rubric leaf (``expected.json``). Each submission becomes a run
directory, is reproduced once in the clean room (``grading.reproduction``, the step grading
takes), and is judged by every model in ``--models`` on the leaves in ``--leaves``.

Two numbers per model: ``agreement`` over the leaves the model judged (what the model is
measured by; leaves scored 0 by rule, for want of reproduction output, are left out), and
``pipeline`` over every leaf (what grading gives). A reply that cannot be parsed counts as a
disagreement. Scripted and replay models are not judges and are refused.

    .venv/bin/python scripts/bench/judge_agreement.py [--models local openai/gpt-4o]
        [--leaves rff-weights result-krr ...] [--max-prompt-tokens 3072] [--record]

By default ``local`` (the embedded model; needs ``aiscientist setup-local``) and, for each
hosted provider whose API key is set, one model of it. ``--record`` stores each model's
agreement in ``src/aiscientist/grading/judge_agreement.json``, which ``aiscientist grade``
checks against ``grading.min_judge_agreement``. Prints a table and writes
``bench-results/judge_agreement.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from aiscientist.grading import agreement
from aiscientist.grading.evidence import Evidence
from aiscientist.grading.judge import RubricGrade, ScoredNode, judge_rubric
from aiscientist.grading.reproduction import ensure_reproduction
from aiscientist.messages import RunManifest, TaskRef
from aiscientist.models.base import Model
from aiscientist.tasks import RubricNode, Task, load_task

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "grading" / "fixtures" / "agreement"
SUBMISSIONS = ("correct", "empty", "wrong")
HOSTED = {  # provider key -> one judge model of it, tried when the key is set
    "OPENAI_API_KEY": "openai/gpt-4o-mini",
    "ANTHROPIC_API_KEY": "anthropic/claude-3-5-haiku-latest",
    "GEMINI_API_KEY": "gemini/gemini-2.0-flash",
}


def default_models() -> list[str]:
    return ["local", *(model for key, model in HOSTED.items() if os.environ.get(key))]


def prune(node: RubricNode, keep: set[str]) -> RubricNode | None:
    """The rubric restricted to the leaves whose id is in ``keep``."""
    if node.is_leaf:
        return node if node.id in keep else None
    kids = tuple(c for c in (prune(s, keep) for s in node.sub_tasks) if c is not None)
    if not kids:
        return None
    return RubricNode(
        node.id,
        node.requirements,
        node.weight,
        kids,
        node.task_category,
        node.finegrained_task_category,
        node.extra,
        node.path,
    )


def make_run(root: Path, name: str, task: Task) -> Path:
    """A run directory of ``task`` whose committed submission is fixture ``name``."""
    run = root / name
    sub = run / "submission"
    src = FIXTURES / name / "submission"
    if src.is_dir():
        shutil.copytree(src, sub)
    else:
        sub.mkdir(parents=True)
    git = ["git", "-C", str(sub), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", name], check=True)
    manifest = RunManifest(
        run_id=f"agreement-{name}",
        task=TaskRef(kind="replicate", name=task.name, source=str(task.root)),
        config={"sandbox": {"kind": "local"}, "limits": {"experiment_timeout_s": 600}},
    )
    (run / "run.json").write_bytes(msgspec.json.encode(manifest))
    return run


def leaves(node: ScoredNode) -> list[ScoredNode]:
    return [node] if not node.sub_tasks else [x for c in node.sub_tasks for x in leaves(c)]


@contextlib.contextmanager
def judge_model(spec: str) -> Iterator[Model]:
    """The judge ``spec`` names; ``local`` gets its own server, stopped at the end."""
    if spec.startswith(("scripted:", "replay:", "record:")):
        raise SystemExit(f"{spec!r} replays a script: it is not a judge; name a real model")
    if spec == "local":
        from aiscientist.models.local_server import (
            LocalEndpoint,
            LocalModelServer,
            make_local_model,
        )

        with LocalModelServer() as server:
            endpoint = LocalEndpoint(server.base_url, server.api_key or "sk-local")
            yield make_local_model(role="judge", endpoint=endpoint)
        return
    from aiscientist.models.registry import make_model

    yield make_model(spec, role="judge")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None, help="judge model specs")
    parser.add_argument("--submissions", nargs="+", default=list(SUBMISSIONS))
    parser.add_argument("--leaves", nargs="+", default=None, help="leaf ids (default: all)")
    parser.add_argument("--max-prompt-tokens", type=int, default=3072)
    parser.add_argument("--record", action="store_true", help="store in the packaged table")
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "judge_agreement.json")
    args = parser.parse_args()
    models = args.models or default_models()
    task = load_task("rff-ridge")
    assert task.rubric is not None
    keep = set(args.leaves or [leaf.id for leaf in task.rubric.leaves()])
    rubric = prune(task.rubric, keep)
    if rubric is None:
        raise SystemExit(f"no rubric leaf has an id in {sorted(keep)!r}")
    small = dataclasses.replace(task, rubric=rubric)
    expected = {
        name: json.loads((FIXTURES / name / "expected.json").read_text())["expected"]
        for name in args.submissions
    }
    rows: list[dict[str, object]] = []
    summary: dict[str, dict[str, object]] = {}
    measured: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="judge-agreement-") as tmp:
        evidence: dict[str, Evidence] = {}
        for name in args.submissions:
            t0 = time.perf_counter()
            evidence[name] = ensure_reproduction(make_run(Path(tmp), name, task))
            print(
                f"reproduced {name}: {evidence[name].source} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        for spec in models:
            agree = judged = pipeline_agree = total = failed = 0
            by_sub: dict[str, str] = {}
            t0 = time.perf_counter()
            with judge_model(spec) as model:
                for name in args.submissions:
                    ev = evidence[name]
                    grade: RubricGrade = judge_rubric(
                        small,
                        ev.root,
                        model,
                        max_prompt_tokens=args.max_prompt_tokens,
                        evidence=ev,
                    )
                    sub_agree = sub_judged = 0
                    for leaf in leaves(grade.tree):
                        want = int(expected[name][leaf.id])
                        got = int(leaf.score)
                        ok = got == want and leaf.judged
                        total += 1
                        pipeline_agree += ok
                        if not leaf.by_rule:
                            judged += 1
                            sub_judged += 1
                            agree += ok
                            sub_agree += ok
                            failed += not leaf.judged
                        rows.append(
                            {
                                "model": spec,
                                "submission": name,
                                "leaf": leaf.id,
                                "category": leaf.task_category,
                                "expected": want,
                                "score": got,
                                "agrees": ok,
                                "by_rule": leaf.by_rule,
                                "reason": leaf.reason or leaf.error,
                            }
                        )
                        print(
                            f"  {spec:<12} {name:<8} {leaf.id:<22} want {want} got {got}"
                            f"{' (rule)' if leaf.by_rule else ''}  {'ok' if ok else 'DISAGREE'}",
                            flush=True,
                        )
                    by_sub[name] = f"{sub_agree}/{sub_judged}"
            summary[spec] = {
                "agreement": agree / judged if judged else None,
                "judged_leaves": judged,
                "agree": agree,
                "unparseable": failed,
                "pipeline_agreement": pipeline_agree / total if total else None,
                "pipeline_leaves": total,
                "by_submission": by_sub,
                "wall_s": round(time.perf_counter() - t0, 1),
            }
            if judged:
                measured[spec] = (agree / judged, judged)
    print(f"\njudge agreement on rff-ridge ({len(keep)} leaves x {len(args.submissions)} subs)")
    print(f"  {'model':<34} {'judged':>6} {'agree':>7} {'pipeline':>9}  by submission")
    for spec, s in summary.items():
        a, p = s["agreement"], s["pipeline_agreement"]
        print(
            f"  {spec:<34} {s['judged_leaves']:>6} "
            f"{(f'{a:.0%}' if isinstance(a, float) else '-'):>7} "
            f"{(f'{p:.0%}' if isinstance(p, float) else '-'):>9}  {s['by_submission']}"
        )
    missing = [m for k, m in HOSTED.items() if not os.environ.get(k)]
    when = datetime.now(UTC).isoformat(timespec="seconds")
    command = " ".join([f"scripts/bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    result = {
        "measured_at": when,
        "command": command,
        "leaves": sorted(keep),
        "submissions": args.submissions,
        "max_prompt_tokens": args.max_prompt_tokens,
        "not_run_no_api_key": [m for m in missing if m not in models],
        "models": summary,
        "per_leaf": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    if args.record:
        for spec, (share, n) in measured.items():
            agreement.record(spec, agreement.Measurement(round(share, 3), n, when, command))
        print(f"recorded in {agreement.AGREEMENT_FILE}")


if __name__ == "__main__":
    main()
