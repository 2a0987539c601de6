"""Two prompt profiles: compact prompts for small local models, and the same prompts with
each role's playbook for capable ones, chosen per role by model (or set), with real sessions
of the scripted model and their transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.orchestrator import Orchestrator
from aiscientist.agents.specialists import Specialist
from aiscientist.config import load_config
from aiscientist.messages import Budget, Delegation, Result
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run

PLAYBOOKS = {
    "orchestrator": "Playbook: running the research",
    "implementation": "Playbook: writing the code",
}


def test_the_profile_follows_the_model_unless_set() -> None:
    cfg = load_config(overrides=["models.default=local", "models.orchestrator=openai/gpt-4o"])
    assert cfg.models.profile("implementation") == "compact"
    assert cfg.models.profile("orchestrator") == "full"
    forced = load_config(overrides=["models.default=local", "models.prompts=full"])
    assert forced.models.profile("implementation") == "full"


def _system(run_dir: Path, role: str, session: str) -> str:
    path = run_dir / "journal/transcripts" / role / f"{session}.jsonl"
    first = json.loads(path.read_text().splitlines()[0])
    assert first["role"] == "system"
    return str(first["content"])


@pytest.mark.parametrize("profile", ["compact", "full"])
def test_sessions_get_the_playbook_only_in_the_full_profile(tmp_path: Path, profile: str) -> None:
    script = {
        "orchestrator": [
            {
                "tool_calls": [
                    {
                        "name": "delegate",
                        "arguments": {"role": "implementation", "instruction": "write train.py"},
                    }
                ]
            },
        ],
        "implementation": [
            {"tool_calls": [{"name": "note", "arguments": {"text": "nothing to do yet"}}]},
        ],
    }
    path = tmp_path / "script.yaml"
    path.write_text(yaml.safe_dump(script))
    cfg = load_config(
        overrides=[
            f"models.default=scripted:{path}",
            "sandbox.kind=local",
            f"models.prompts={profile}",
            "limits.orchestrator_steps=2",
        ]
    )
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path / "runs")
    impl = Specialist(
        "implementation", run_dir, cfg, ScriptedModel.from_file(path, "implementation")
    )
    seen: list[Delegation] = []

    def dispatch(d: Delegation) -> Result:
        seen.append(d)
        return impl.handle(d)

    orch = Orchestrator(
        run_dir,
        cfg,
        ScriptedModel.from_file(path, "orchestrator"),
        dispatch,
        BudgetGuard(Budget()),
        lambda _run_dir: [],
    )
    orch.run()
    assert [d.role for d in seen] == ["implementation"]
    texts = {
        "orchestrator": _system(run_dir, "orchestrator", "session"),
        "implementation": _system(run_dir, "implementation", seen[0].id),
    }
    for role, marker in PLAYBOOKS.items():
        assert (marker in texts[role]) == (profile == "full"), role
        assert "You are the" in texts[role]  # the compact prompt is always there
