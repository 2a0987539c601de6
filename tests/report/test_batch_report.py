"""``aiscientist report BATCH.json`` (or a batch directory): a table of runs linked to each
run's report, checked in headless Chromium; and the same over a real scripted batch."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from headless_browser import REPO, open_page, screenshot
from report_fixtures import BuiltRun, build_run, copy_run

from aiscientist.errors import UserError
from aiscientist.report.batch import write_batch_report

FAST_TEAM = REPO / "tests" / "runtime" / "data" / "fast-team.yaml"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    ray_tmp = tempfile.mkdtemp(prefix="rb", dir="/tmp")  # short: Ray's socket paths
    env["RAY_TMPDIR"] = ray_tmp
    try:
        return subprocess.run(
            [sys.executable, "-m", "aiscientist.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env=env,
        )
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltRun:
    return build_run(tmp_path_factory.mktemp("runs"))


def _links(dom: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)">report</a>', dom)


def test_batch_summary_becomes_a_table_linked_to_each_run_report(
    built: BuiltRun, tmp_path: Path
) -> None:
    run_dir = copy_run(built, tmp_path)
    summary = tmp_path / "batch-20270101-000000.json"
    summary.write_text(
        json.dumps(
            [
                {
                    "name": "cancer",
                    "task": "tabular-cancer",
                    "run_dir": str(run_dir),
                    "status": "finished",
                    "score": 0.9649,
                    "minutes": 18.3,
                    "note": "",
                },
                {
                    "name": "missing",
                    "task": "no-such-task",
                    "run_dir": "",
                    "status": "failed",
                    "score": None,
                    "minutes": 0.0,
                    "note": "TaskError: no-such-task",
                },
            ]
        )
    )
    out = cli("report", str(summary))
    assert out.returncode == 0, out.stdout + out.stderr
    page = tmp_path / "batch-20270101-000000.html"
    assert f"REPORT={page}" in out.stdout
    assert (run_dir / "report.html").is_file(), "the run's own report was not rendered"
    shown = open_page(page)
    assert shown.console == [] and 'data-ready="1"' in shown.dom
    rows = re.findall(r"<tr><td>(.*?)</td>", shown.dom)
    assert rows == ["cancer", "missing"]
    cancer_row = shown.dom[shown.dom.index("<tr><td>cancer") :].split("</tr>")[0]
    for cell in (
        "hierarchical",
        "scripted:team.yaml",
        "0.9649",
        "above median",
        "$0.0120 / 22000 tok",
        "18.3 min",
    ):
        assert cell in cancer_row, cell
    assert "TaskError: no-such-task" in shown.dom
    assert [(page.parent / h).resolve() for h in _links(shown.dom)] == [
        (run_dir / "report.html").resolve()
    ]
    assert 'id="plot-batch"' in shown.dom and "<svg" in shown.dom
    screenshot(page, "report-batch", size=(1280, 700))


def test_a_directory_of_runs_without_a_summary_is_a_batch_too(
    built: BuiltRun, tmp_path: Path
) -> None:
    copy_run(built, tmp_path)
    page = write_batch_report(tmp_path)
    assert page == tmp_path / "batch.html"
    text = page.read_text()
    assert "tabular-cancer" in text and "finished" in text and "0.9649" in text


def test_a_file_that_is_no_batch_summary_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "batch-x.json"
    bad.write_text('{"not": "a list"}')
    with pytest.raises(UserError, match="is not a batch summary"):
        write_batch_report(bad)


@pytest.mark.slow
def test_a_scripted_batch_renders_its_page_and_its_run_report(tmp_path: Path) -> None:
    spec = tmp_path / "batch.yaml"
    spec.write_text(
        json.dumps(
            {
                "concurrency": 1,
                "workspace": str(tmp_path / "runs"),
                "set": ["sandbox.kind=local"],
                "tasks": [
                    {"task": "tabular-cancer", "name": "cancer", "model": f"scripted:{FAST_TEAM}"}
                ],
            }
        )
    )
    ran = cli("batch", str(spec), timeout=600)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    out = cli("report", str(tmp_path / "runs"))
    assert out.returncode == 0, out.stdout + out.stderr
    page = Path(out.stdout.split("REPORT=", 1)[1].strip())
    assert page.parent == tmp_path / "runs" and page.name.startswith("batch-")
    shown = open_page(page)
    assert shown.console == []
    (link,) = _links(shown.dom)
    run_report = (page.parent / link).resolve()
    assert run_report.name == "report.html"
    screenshot(page, "report-scripted-batch", size=(1280, 600))
    run = open_page(run_report)
    assert run.console == [] and 'data-ready="1"' in run.dom
    assert 'id="plot-score"' in run.dom and 'id="plot-timeline"' in run.dom
    assert 'id="plot-leaderboard"' in run.dom and 'id="plot-spend"' in run.dom
    assert run.dom.count('class="node') >= 1 and 'id="detail" class="detail" data-node=' in run.dom
    screenshot(run_report, "report-scripted-run", size=(1280, 3600))
