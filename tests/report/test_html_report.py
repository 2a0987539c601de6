"""``aiscientist report RUN_DIR``: one self-contained report.html, checked in headless Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from headless_browser import REPO, no_network_refs, open_page, screenshot
from report_fixtures import BuiltRun, build_run, copy_run

from aiscientist.errors import UserError
from aiscientist.messages import RunManifest, TaskRef
from aiscientist.report.data import load_run, model_label
from aiscientist.report.html import write_report
from aiscientist.workspace.rundir import write_manifest


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiscientist.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltRun:
    return build_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def report(built: BuiltRun) -> Path:
    out = cli("report", str(built.run_dir))
    assert out.returncode == 0, out.stdout + out.stderr
    page = built.run_dir / "report.html"
    assert f"REPORT={page}" in out.stdout
    return page


def test_report_is_one_self_contained_file_with_every_section(report: Path) -> None:
    page = report.read_text()
    assert no_network_refs(page) == []
    assert "<link" not in page and "<script src" not in page
    for section in ("summary", "score", "experiments", "tree", "lessons", "spend", "delegations"):
        assert f'<section id="{section}">' in page, section
    for plot in ("leaderboard", "score", "timeline", "spend"):
        assert f'id="plot-{plot}"' in page, plot
    # the leaderboard position of the graded score, and the medal verdict
    assert re.search(r"this run: 0\.9649 \(#\d+ of 313\)", page)
    assert "above median" in page
    # reported and verified differ for one experiment: both are drawn
    assert "reported by the code" in page and "champion 0.95" in page
    # text from the run is escaped, never markup
    assert "Gradient boosting &lt;b&gt;beats&lt;/b&gt; the sample" in page
    assert "<b>beats</b>" not in page
    # a failed experiment is a point too (it has no score), and its log's end is on the page
    assert "failed (no score)" in page
    assert re.search(r"<details><summary><code>exp-\w+</code> failed \(hyp-broken\)", page)
    assert "Traceback (most recent call last):\nMemoryError" in page
    # the task's brief, and the journal's stages and decisions
    assert "<details><summary>description.md</summary><pre>" in page
    assert "stage created (created)" in page and "hyp-better at 0.95 (seed 2)" in page
    # delegations and spend by role and model
    assert "step 3: do the experimentation work" in page and ">pending<" in page
    assert "openai/gpt-4o-mini" in page and "$0.0120" in page


def test_report_renders_in_chromium_without_console_errors(built: BuiltRun, report: Path) -> None:
    shown = open_page(report)
    assert shown.console == []
    assert 'data-ready="1"' in shown.dom, "the page's script did not run to the end"
    assert shown.dom.count("<svg") >= 4
    assert shown.dom.count('class="node') == 5  # every hypothesis is a node of the tree
    # on load the panel shows the champion, with its code diff against its parent's code
    detail = shown.dom[shown.dom.index('id="detail"') :]
    assert 'data-node="hyp-better"' in detail[:200]
    assert f"Code diff against {built.experiments['root']} (parent hyp-root)" in detail
    assert '<span class="add">+depth = 6\n</span>' in detail
    assert "<span class=\"del\">-print('val_score 0.93')\n</span>" in detail
    shot = screenshot(report, "report-run", size=(1280, 4200))
    assert shot.stat().st_size > 50_000


def test_a_node_named_in_the_url_shows_its_critique_evidence_diff_and_log(
    built: BuiltRun, report: Path
) -> None:
    shown = open_page(report, fragment="node=hyp-broken")
    assert shown.console == []
    detail = shown.dom[shown.dom.index('id="detail"') :]
    assert 'data-node="hyp-broken"' in detail[:200]
    assert 'class="node selected" data-id="hyp-broken"' in shown.dom
    assert "note: crashed: out of memory" in detail
    assert "orchestrator: accept" in detail
    assert f"{built.experiments['broken']} failed" in detail
    assert '<span class="add">+depth = 60  # too deep\n</span>' in detail
    assert "Traceback (most recent call last):\nMemoryError" in detail


def test_the_console_check_sees_a_broken_page(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><body><script>null.x();</script></body>")
    assert any("Uncaught TypeError" in ln for ln in open_page(page).console)
    fetching = tmp_path / "fetching.html"
    fetching.write_text('<!doctype html><body><img src="https://example.invalid/x.png"></body>')
    assert no_network_refs(fetching.read_text())


def test_scores_prefer_verified_and_fall_back_to_the_reported_val_score(built: BuiltRun) -> None:
    data = load_run(built.run_dir)
    by_id = {e.exp_id: e for e in data.experiments}
    better = by_id[built.experiments["better"]]
    assert better.reported == 0.99 and better.status == "ok"
    assert better.verified == 0.95 and better.score == 0.95
    running = by_id[built.experiments["pending"]]
    assert running.status == "running" and running.score is None
    assert running.node_id.startswith("ffee0011")
    assert [e.exp_id for e in data.experiments][0] == built.experiments["root"]
    assert data.leaderboard is not None and len(data.leaderboard) == 312
    assert [d.result is None for d in data.delegations] == [False, False, False, True]
    # the champion line follows the tree's gate: the baseline, then the deeper trees
    assert [metric for _, metric in data.champions] == [0.93, 0.95]


def test_a_live_run_without_grade_tree_or_experiments_still_renders(tmp_path: Path) -> None:
    run_dir = tmp_path / "live"
    run_dir.mkdir()
    write_manifest(
        run_dir,
        RunManifest(
            run_id="live",
            task=TaskRef(kind="improve", name="gone", source=str(tmp_path / "gone")),
            config={},
            status="running",
            stage="comprehension",
            created_at=1.0,
        ),
    )
    (run_dir / "journal").mkdir()
    (run_dir / "journal" / "events.jsonl").write_text('{"type":"stage","stage":"x"')  # torn
    page = write_report(run_dir).read_text()
    assert "No hypotheses yet." in page and "The task has no leaderboard." in page
    assert "No scored experiment yet." in page
    shown = open_page(run_dir / "report.html")
    assert shown.console == [] and 'data-ready="1"' in shown.dom


def test_a_directory_without_run_json_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a run directory"):
        write_report(tmp_path)
    out = cli("report", str(tmp_path))
    assert out.returncode == 1
    assert "no batch-*.json and no run directories" in " ".join(out.stderr.split())


def test_rendering_writes_only_report_html(built: BuiltRun, tmp_path: Path) -> None:
    run_dir = copy_run(built, tmp_path)
    (run_dir / "report.html").unlink(missing_ok=True)
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}
    write_report(run_dir)
    after = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}
    assert set(after) - set(before) == {run_dir / "report.html"}
    assert all(after[p] == t for p, t in before.items())
    manifest = msgspec.json.decode((run_dir / "run.json").read_bytes(), type=RunManifest)
    assert manifest.status == "finished"


def test_models_are_named_without_server_address_or_script_path() -> None:
    assert model_label("openai/qwen2.5@http://127.0.0.1:46269/v1") == "openai/qwen2.5"
    assert model_label("scripted:/a/b/team.yaml#implementation") == "scripted:team.yaml"
    assert model_label("anthropic/claude-sonnet-4") == "anthropic/claude-sonnet-4"


def test_a_replicate_run_shows_the_judge_and_its_scored_rubric(tmp_path: Path) -> None:
    from aiscientist.grading.judge import RubricGrade, ScoredNode
    from aiscientist.messages import Usage
    from aiscientist.tasks.loader import BUNDLED_DIR
    from aiscientist.workspace.atomic import atomic_write_bytes

    run_dir = tmp_path / "rff"
    run_dir.mkdir()
    write_manifest(
        run_dir,
        RunManifest(
            run_id="rff",
            task=TaskRef(kind="replicate", name="rff-ridge", source=str(BUNDLED_DIR / "rff-ridge")),
            config={"mode": "hierarchical"},
            status="finished",
            stage="done",
            created_at=1.0,
            score=0.5,
            reproduce_verdict="passed: reproduce.sh ran clean in 12 s",
        ),
    )
    leaves = (
        ScoredNode(
            id="a",
            requirements="Features are random Fourier features",
            weight=2,
            score=1.0,
            task_category="Code Development",
            reason="train.py <draws> them",
        ),
        ScoredNode(
            id="b",
            requirements="Ridge is solved in closed form",
            weight=1,
            score=0.0,
            task_category="Code Development",
            reason="uses SGD instead",
        ),
        ScoredNode(
            id="c",
            requirements="The error table is reproduced",
            weight=1,
            score=0.0,
            task_category="Result Analysis",
            judged=False,
            error="no reproduce.log",
        ),
    )
    grade = RubricGrade(
        task="rff-ridge",
        score=0.5,
        code_only=False,
        judge_model="scripted:judge.yaml",
        leaves_total=3,
        leaves_judged=2,
        leaves_failed=1,
        by_category={"Code Development": 0.5, "Result Analysis": 0.0},
        usage=Usage(),
        tree=ScoredNode(
            id="root", requirements="Replicate RFF ridge", weight=1, score=0.5, sub_tasks=leaves
        ),
    )
    atomic_write_bytes(run_dir / "grade.json", msgspec.json.encode(grade))
    page = write_report(run_dir).read_text()
    assert "2 of 3 leaves judged (1 failed)" in page
    assert "Code Development 50%, Result Analysis 0%" in page
    assert "passed: reproduce.sh ran clean in 12 s" in page
    assert "judge: train.py &lt;draws&gt; them" in page and "error: no reproduce.log" in page
    assert "The task has no leaderboard." not in page
    shown = open_page(run_dir / "report.html")
    assert shown.console == [] and 'data-ready="1"' in shown.dom
    assert shown.dom.count('class="badge"') >= 4  # the root and its three leaves
