"""The quality bench's record (``scripts/bench/quality.py``): one JSON line per cell, a torn
last line ignored (that cell runs again), a rerun's line superseding the earlier one in the
table, and wins counted on the task's own direction."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _quality() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quality", REPO / "scripts/bench/quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(mode: str, score: float, commit: str) -> dict[str, object]:
    return {
        "task": "friedman-regression",  # RMSE: lower is better
        "mode": mode,
        "seed": 0,
        "minutes": 12.0,
        "model": "local",
        "valid": True,
        "score": score,
        "commit": commit,
    }


def test_a_rerun_supersedes_the_cell_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    q = _quality()
    out = tmp_path / "quality.jsonl"
    lines = [
        json.dumps(_cell("aide", 1.30, "a")),
        json.dumps(_cell("decentralized", 1.40, "a")),  # loses to aide
        json.dumps(_cell("decentralized", 1.26, "b")),  # rerun at new code: wins
        '{"task": "friedman-regression", "mode": "hier',  # torn by a crash
    ]
    out.write_text("\n".join(lines))
    cells = q.read_cells(out)
    assert sorted((c["mode"], c["commit"]) for c in cells) == [
        ("aide", "a"),
        ("decentralized", "b"),
    ]
    table = q.summarize(cells, "aide")
    assert "- decentralized at 12 min: 1 / 0 / 0" in table
    assert "1.4" not in table
