"""Prompt templates live as files in ``agents/prompts/``; this renders them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

PROMPTS = Path(__file__).parent / "prompts"


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def _template(name: str) -> str:
    return (PROMPTS / f"{name}.md").read_text()


def render(name: str, **values: str) -> str:
    """Fill ``prompts/<name>.md``; unknown placeholders are left as they are."""
    return _template(name).format_map(_Keep(values))


def with_playbook(system: str, role: str, profile: str) -> str:
    """``system`` followed by ``prompts/playbooks/<role>.md`` when ``profile`` is ``full``
    (capable models get the domain practice; compact prompts stay sized for small ones)."""
    path = PROMPTS / "playbooks" / f"{role}.md"
    if profile != "full" or not path.is_file():
        return system
    return system.rstrip() + "\n" + path.read_text()
