"""The File-as-Bus: regions, atomic writes, path escapes, append-only logs, the live map."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aiscientist.errors import PathEscapeError, RegionPermissionError
from aiscientist.workspace import REGIONS, WorkspaceMap, WorkspaceView, owners
from aiscientist.workspace.atomic import atomic_write_bytes


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    root = tmp_path / "run"
    for d in ("task", "paper_analysis", "agent/experiments", "submission", "journal", "tree"):
        (root / d).mkdir(parents=True)
    (root / "task" / "description.md").write_text("# Task\n")
    return root


ROLE_HOME = {
    "comprehension": "paper_analysis/summary.md",
    "prioritization": "agent/prioritized_tasks.md",
    "implementation": "submission/train.py",
    "experimentation": "agent/experiments/e1/spec.json",
    "orchestrator": "agent/plan.md",
    "tree": "tree/events.jsonl",
}


@pytest.mark.parametrize("role", sorted(ROLE_HOME))
def test_each_role_writes_its_region_and_nothing_else(run_dir: Path, role: str) -> None:
    view = WorkspaceView(run_dir, role)
    view.write_text(ROLE_HOME[role], "mine")
    assert (run_dir / ROLE_HOME[role]).read_text() == "mine"
    for path in ROLE_HOME.values():
        if role in owners(path):
            continue
        with pytest.raises(RegionPermissionError, match=repr(role)):
            view.write_text(path, "not mine")
        assert not (run_dir / path).exists() or (run_dir / path).read_text() != "not mine"


def test_nobody_but_runtime_writes_task_and_journal(run_dir: Path) -> None:
    for role in {r for roles in REGIONS.values() for r in roles} - {"runtime"}:
        view = WorkspaceView(run_dir, role)
        for path in ("task/description.md", "journal/events.jsonl", "run.json"):
            with pytest.raises(RegionPermissionError):
                view.write_text(path, "x")
    assert (run_dir / "task" / "description.md").read_text() == "# Task\n"


@pytest.mark.parametrize(
    "bad", ["../outside.txt", "/etc/passwd", "submission/../../x", "submission/link/x"]
)
def test_paths_that_escape_are_rejected(run_dir: Path, tmp_path: Path, bad: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (run_dir / "submission" / "link").symlink_to(outside)
    view = WorkspaceView(run_dir, "implementation")
    with pytest.raises(PathEscapeError):
        view.write_text(bad, "escape")
    with pytest.raises(PathEscapeError):
        view.read_text(bad)
    assert list(outside.iterdir()) == []


def test_reading_anywhere_is_allowed(run_dir: Path) -> None:
    assert WorkspaceView(run_dir, "experimentation").read_text("task/description.md") == "# Task\n"


def test_concurrent_writers_to_distinct_regions(run_dir: Path) -> None:
    errors: list[BaseException] = []

    def writer(role: str, path: str) -> None:
        view = WorkspaceView(run_dir, role)
        try:
            for i in range(200):
                view.write_text(path, f"{role}-{i}")
                view.append_text(path + ".log", f"{role} {i}")
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    pairs = [
        ("comprehension", "paper_analysis/a.md"),
        ("implementation", "submission/b.py"),
        ("experimentation", "agent/experiments/x/c.json"),
        ("helper", "agent/helper/d.md"),
    ]
    threads = [threading.Thread(target=writer, args=p) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for role, path in pairs:
        assert (run_dir / path).read_text() == f"{role}-199"
        lines = (run_dir / (path + ".log")).read_text().splitlines()
        assert lines == [f"{role} {i}" for i in range(200)]


WRITER = """
import sys
from pathlib import Path
from aiscientist.workspace.atomic import atomic_write_bytes
target = Path(sys.argv[1])
i = 0
while True:
    i += 1
    atomic_write_bytes(target, (str(i % 10) * 2_000_000).encode())
"""


def test_killed_writer_leaves_old_or_new_file_never_torn(tmp_path: Path) -> None:
    target = tmp_path / "big.txt"
    atomic_write_bytes(target, b"0" * 2_000_000)
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        time.sleep(0.4)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = target.read_bytes()
        assert len(data) == 2_000_000
        assert len(set(data)) == 1, "a torn file mixes two versions"


def test_map_is_updated_after_each_write(run_dir: Path) -> None:
    wmap = WorkspaceMap(run_dir)
    view = WorkspaceView(run_dir, "implementation", on_write=lambda p, r, s: wmap.update(p, s))
    view.write_text("submission/train.py", "print('hi')\n", summary="training script")
    entry = wmap.entries["submission/train.py"]
    assert (
        entry.summary == "training script" and entry.size == 12 and "implementation" in entry.owner
    )
    first_digest = entry.sha256
    view.write_text("submission/train.py", "print('hello')\n")
    assert wmap.entries["submission/train.py"].sha256 != first_digest
    wmap.save()
    saved = {e["path"]: e for e in json.loads((run_dir / "map.json").read_text())}
    assert saved["submission/train.py"]["sha256"] == wmap.entries["submission/train.py"].sha256
    assert "submission/train.py" in (run_dir / "MAP.md").read_text()


def test_map_refresh_rehashes_only_changed_files(run_dir: Path) -> None:
    for i in range(50):
        (run_dir / "submission" / f"f{i}.txt").write_text(str(i))
    wmap = WorkspaceMap(run_dir)
    wmap.refresh()
    wmap.save()
    assert wmap.stats.hashed == 51  # 50 files + task/description.md
    reopened = WorkspaceMap(run_dir)
    (run_dir / "submission" / "f3.txt").write_text("changed!")
    (run_dir / "submission" / "f4.txt").unlink()
    reopened.refresh()
    assert reopened.stats.hashed == 1 and reopened.stats.removed == 1
    assert "submission/f4.txt" not in reopened.entries


def test_session_logs_get_one_section_per_session(run_dir: Path) -> None:
    view = WorkspaceView(run_dir, "implementation")
    view.begin_section("agent/impl_log.md", "session one")
    view.append_text("agent/impl_log.md", "did a thing")
    view.begin_section("agent/impl_log.md", "session two")
    text = (run_dir / "agent" / "impl_log.md").read_text()
    assert text.count("\n## session") == 2 and text.index("did a thing") < text.index("two")


def test_a_region_directory_itself_belongs_to_its_region(run_dir: Path) -> None:
    view = WorkspaceView(run_dir, "implementation")
    assert view.writable_path("submission") == (run_dir / "submission").resolve()
    with pytest.raises(RegionPermissionError):
        WorkspaceView(run_dir, "comprehension").writable_path("submission")
