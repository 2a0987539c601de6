"""Research quality: bundled improve tasks x modes x seeds, each a real ``aiscientist run``.

Every cell runs the CLI in its own process with the same model and the same wall-clock and
token budgets, then reads what the run left: whether it ended with a valid submission, the
hidden-test score, medal and above-median from the task's leaderboard, the best validation
score the experiments reported, experiments run, model calls and tokens. One JSON line per
cell is appended to ``--out`` as soon as the cell ends, and cells already there are skipped,
so the bench can be run over several sittings; ``--rerun`` measures the selected cells again
(after a change to one mode), and the table keeps the latest line of each cell.
``--summary`` prints the table of what is there without running anything.

    .venv/bin/python scripts/bench/quality.py --tasks tabular-cancer friedman-regression \\
        --modes hierarchical decentralized --seeds 0 --minutes 12 [--model local] \\
        [--synthetic regression many-labels per-class-probability]

Per mode the summary gives valid submissions, mean score rank against the other modes on the
same (task, seed, minutes), medals and above-median counts, and wins/ties/losses against the
reference mode (``--reference``, default the first mode).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MODES = ["hierarchical", "decentralized", "aide"]


def improve_tasks() -> list[str]:
    from aiscientist.tasks import list_bundled, load_task

    return [n for n in list_bundled() if load_task(n).kind == "improve"]


def cell_key(c: dict[str, Any]) -> tuple[str, str, int, float, str]:
    return (c["task"], c["mode"], int(c["seed"]), float(c["minutes"]), c["model"])


def read_cells(path: Path) -> list[dict[str, Any]]:
    """The latest line of each cell in ``path`` (a rerun supersedes the earlier one)."""
    if not path.exists():
        return []
    cells: dict[tuple[str, str, int, float, str], dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        try:
            c = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line: that cell is run again
        cells[cell_key(c)] = c
    return list(cells.values())


def _commit() -> str:
    """The code a cell measured (the checkout the run imports)."""
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def run_cell(task: str, mode: str, seed: int, minutes: float, model: str, tokens: int) -> dict:
    """One real run; returns what it left."""
    root = Path(tempfile.mkdtemp(prefix=f"quality-{task}-{mode}-{seed}-"))
    args = [
        *(sys.executable, "-m", "aiscientist.cli", "run", task, "--model", model),
        *("--workspace", str(root), "--budget-minutes", str(minutes)),
        *("--set", f"mode={mode}", "--set", f"budget.tokens={tokens}"),
        *("--set", f"experiments.dev_seed={seed}"),
    ]
    # A seed is a repetition: another dev split and search seed; the model samples anyway.
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONHASHSEED": str(seed)}
    started = time.monotonic()
    proc = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=minutes * 60 + 900
    )
    wall = time.monotonic() - started
    runs = [d for d in root.iterdir() if (d / "run.json").exists()]
    cell: dict[str, Any] = {
        "task": task,
        "mode": mode,
        "seed": seed,
        "minutes": minutes,
        "model": model,
        "tokens_budget": tokens,
        "exit_code": proc.returncode,
        "wall_s": round(wall, 1),
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "commit": _commit(),
    }
    if not runs:
        cell.update(status="no run", error=(proc.stdout + proc.stderr)[-1500:])
        return cell
    rd = runs[0]
    manifest = json.loads((rd / "run.json").read_text())
    grade = {}
    if (rd / "grade.json").exists():
        grade = json.loads((rd / "grade.json").read_text())
    experiments = list((rd / "agent" / "experiments").glob("*/result.json"))
    ok = [json.loads(p.read_text()) for p in experiments]
    spend = manifest.get("spend") or {}
    from aiscientist.tasks import load_task

    lower = load_task(task).lower_is_better
    verified = [r["verified_score"] for r in ok if r.get("verified_score") is not None]
    best_verified = (min if lower else max)(verified) if verified else None
    cell.update(
        run_dir=str(rd),
        status=manifest.get("status"),
        valid=bool(grade.get("valid")),
        score=grade.get("score"),
        medal=grade.get("medal"),
        above_median=grade.get("above_median"),
        reported_val=manifest.get("best_metric"),
        verified_dev=best_verified,
        experiments=len(experiments),
        experiments_ok=sum(1 for r in ok if r.get("status") == "ok"),
        model_calls=spend.get("model_calls"),
        tokens=spend.get("tokens"),
        note=str(manifest.get("note", ""))[:300],
    )
    return cell


def summarize(cells: list[dict[str, Any]], reference: str | None) -> str:
    lines = [
        "| task | mode | seed | min | status | valid | dev (verified) | test score | medal |"
        " >median | exps | calls | tokens |",
        "|---|---|---:|---:|---|---|---:|---:|---|---|---:|---:|---:|",
    ]
    for c in sorted(cells, key=lambda c: (c["task"], c["minutes"], c["seed"], c["mode"])):
        c = {**c, "task": Path(c["task"]).name}
        score = "-" if c.get("score") is None else f"{c['score']:.4g}"
        dev = "-" if c.get("verified_dev") is None else f"{c['verified_dev']:.4g}"
        lines.append(
            f"| {c['task']} | {c['mode']} | {c['seed']} | {c['minutes']:g} | {c.get('status')} "
            f"| {'yes' if c.get('valid') else 'no'} | {dev} | {score} | {c.get('medal') or '-'} "
            f"| {'yes' if c.get('above_median') else 'no'} | {c.get('experiments', 0)} "
            f"| {c.get('model_calls') or 0} | {c.get('tokens') or 0} |"
        )
    modes = sorted({c["mode"] for c in cells})
    lines.append("")
    lines.append("| mode | cells | valid | medals | above median |")
    lines.append("|---|---:|---:|---:|---:|")
    for m in modes:
        mine = [c for c in cells if c["mode"] == m]
        lines.append(
            f"| {m} | {len(mine)} | {sum(bool(c.get('valid')) for c in mine)} "
            f"| {sum(bool(c.get('medal')) for c in mine)} "
            f"| {sum(bool(c.get('above_median')) for c in mine)} |"
        )
    ref = reference or (modes[0] if modes else None)
    if ref is not None and len(modes) > 1:
        lines.append("")
        lines.append(f"wins / ties / losses against `{ref}` (same task, seed, minutes):")
        lower = _lower_is_better()
        by = {(c["task"], c["seed"], c["minutes"], c["mode"]): c for c in cells}
        for m in modes:
            if m == ref:
                continue
            for level in sorted({c["minutes"] for c in cells}):
                w = t = lo = 0
                for (task, seed, minutes, mode), c in by.items():
                    other = by.get((task, seed, minutes, ref))
                    if mode != m or other is None or minutes != level:
                        continue
                    a, b = c.get("score"), other.get("score")
                    if a is None and b is None or a == b:
                        t += 1
                    elif b is None or (a is not None and ((a < b) if lower[task] else (a > b))):
                        w += 1
                    else:
                        lo += 1
                lines.append(f"- {m} at {level:g} min: {w} / {t} / {lo}")
    return "\n".join(lines)


def _lower_is_better() -> dict[str, bool]:
    from aiscientist.tasks import load_task

    class Lookup(dict[str, bool]):
        def __missing__(self, task: str) -> bool:
            self[task] = load_task(task).lower_is_better
            return self[task]

    return Lookup()


def write_block(path: Path, table: str, cells: list[dict[str, Any]]) -> None:
    """Replace the generated block of ``path`` (README) with ``table`` and where it came from."""
    start, end = "<!-- quality:start -->", "<!-- quality:end -->"
    text = path.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{path}: no {start} ... {end} block to fill")
    dates = sorted({c["date"][:10] for c in cells if "date" in c})
    machines = sorted({c.get("machine", "?") for c in cells})
    commits = sorted({c.get("commit", "?") for c in cells})
    head = (
        f"Generated by `scripts/bench/quality.py` from `bench-results/quality.jsonl` "
        f"({len(cells)} cells; {', '.join(dates) or 'no date'}; {', '.join(machines)}; "
        f"code at {', '.join(commits)}; the embedded model; equal wall-clock and token "
        "budgets per cell):\n\n"
    )
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{head}{table}\n{end}{after}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="*", default=None, help="default: every bundled improve task")
    ap.add_argument(
        "--synthetic",
        nargs="*",
        default=[],
        help="also run generated tasks of these shapes (aiscientist.tasks.synthetic.SHAPES)",
    )
    ap.add_argument("--modes", nargs="+", default=MODES, choices=MODES)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--minutes", nargs="+", type=float, default=[12.0])
    ap.add_argument("--tokens", type=int, default=400_000, help="token budget of every cell")
    ap.add_argument("--model", default="local")
    ap.add_argument("--reference", default="aide")
    ap.add_argument("--out", default="bench-results/quality.jsonl")
    ap.add_argument("--summary", action="store_true", help="print the table only")
    ap.add_argument(
        "--rerun", action="store_true", help="measure the selected cells even if measured"
    )
    ap.add_argument(
        "--readme",
        default=None,
        help="also write the table into this file between <!-- quality:start --> and "
        "<!-- quality:end -->",
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    args.tasks = args.tasks or improve_tasks()
    if args.synthetic:
        from aiscientist.tasks.synthetic import make_task

        where = out.parent / "tasks"
        for shape in args.synthetic:
            made = where / f"synthetic-{shape}"
            if not made.exists():
                make_task(where, shape)
            args.tasks.append(str(made.resolve()))
    if not args.summary:
        done = set() if args.rerun else {cell_key(c) for c in read_cells(out)}
        for minutes in args.minutes:
            for seed in args.seeds:
                for task in args.tasks:
                    for mode in args.modes:
                        key = (task, mode, seed, minutes, args.model)
                        if key in done:
                            print(f"skip {key} (already measured)", flush=True)
                            continue
                        print(f"run {key} ...", flush=True)
                        cell = run_cell(task, mode, seed, minutes, args.model, args.tokens)
                        with open(out, "a") as fh:
                            fh.write(json.dumps(cell) + "\n")
                        print(
                            f"  {cell.get('status')} valid={cell.get('valid')} "
                            f"score={cell.get('score')} in {cell['wall_s']:.0f}s",
                            flush=True,
                        )
    cells = read_cells(out)
    table = summarize(cells, args.reference)
    out.with_suffix(".json").write_text(json.dumps({"cells": cells, "table": table}, indent=1))
    out.with_suffix(".md").write_text(table + "\n")
    if args.readme:
        write_block(Path(args.readme), table, cells)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
