"""Choose a model backend by name: ``scripted:PATH``, ``replay:PATH``, ``local``, or any
litellm model string (``openai/gpt-4o``, ``anthropic/claude-...``, ``ollama/...``)."""

from __future__ import annotations

from aiscientist.errors import ConfigError
from aiscientist.models.base import Model
from aiscientist.models.scripted import ScriptedModel


def make_model(spec: str, role: str = "default") -> Model:
    """Build the model named by ``spec`` for ``role``."""
    if not spec:
        raise ConfigError("empty model name; use e.g. 'local', 'scripted:PATH' or 'openai/gpt-4o'")
    if spec.startswith("scripted:"):
        return ScriptedModel.from_file(spec.removeprefix("scripted:"), role=role)
    if spec.startswith("replay:"):
        try:
            from aiscientist.models.replay import ReplayModel
        except ImportError as exc:  # pragma: no cover - until the replay model lands
            raise ConfigError(f"model {spec!r}: the replay model is not available") from exc
        return ReplayModel.from_file(spec.removeprefix("replay:"))  # type: ignore[no-any-return]
    try:
        from aiscientist.models.litellm_model import make_litellm_model
    except ImportError as exc:
        raise ConfigError(
            f"model {spec!r} needs the litellm backend, which is not available yet; "
            "use 'scripted:PATH' for now"
        ) from exc
    return make_litellm_model(spec, role=role)  # type: ignore[no-any-return]
