"""Choose a model backend by name.

=================================  ==========================================================
spec                               backend
=================================  ==========================================================
``scripted:PATH``                  ``ScriptedModel`` replaying a script of replies
``replay:PATH``                    ``ReplayModel`` answering recorded requests (strict)
``replay:PATH#ordered``            ``ReplayModel`` serving the role's recorded replies in order
``record:CASSETTE=SPEC``           the model named by ``SPEC``, each call recorded to CASSETTE
``local``                          the embedded llama.cpp server: the one ``local`` finds (a
                                   Ray run's model server actor), else one per process
``provider/model[@BASE_URL]``      any litellm model string (``openai/gpt-4o``, ``ollama/...``)
=================================  ==========================================================

With ``usage_log`` every call of the model is appended to that JSON-lines file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiscientist.errors import ConfigError
from aiscientist.models.base import Model
from aiscientist.models.scripted import ScriptedModel
from aiscientist.models.usage import UsageLoggingModel

if TYPE_CHECKING:
    from aiscientist.models.local_server import LocalEndpoint

LocalSource = Callable[[], "tuple[LocalEndpoint, Callable[[], str | None]]"]
"""Finds a running local model server: its endpoint and a probe (None while it lives)."""


def make_model(
    spec: str,
    role: str = "default",
    usage_log: str | Path | None = None,
    local: LocalSource | None = None,
    served: int = 0,
) -> Model:
    """Build the model named by ``spec`` for ``role``; ``local`` finds the server of ``local``
    (default: a server of this process's own); ``served``: calls this role's model already
    answered in the run (a resumed run: a scripted model continues its script after them)."""
    if not spec:
        raise ConfigError("empty model name; use e.g. 'local', 'scripted:PATH' or 'openai/gpt-4o'")
    if spec.startswith("record:"):
        cassette, sep, inner_spec = spec.removeprefix("record:").partition("=")
        if not sep or not cassette or not inner_spec:
            raise ConfigError(
                f"model {spec!r}: write 'record:CASSETTE=SPEC', e.g. 'record:c=local'"
            )
        from aiscientist.models.replay import RecordingModel

        inner = make_model(inner_spec, role, usage_log, local, served)
        return RecordingModel(inner, cassette, role=role)
    model: Model
    if spec.startswith("scripted:"):
        model = ScriptedModel.from_file(spec.removeprefix("scripted:"), role=role, start=served)
    elif spec.startswith("replay:"):
        from aiscientist.models.replay import ReplayModel

        path, _, mode = spec.removeprefix("replay:").partition("#")
        if mode not in ("", "strict", "ordered"):
            raise ConfigError(f"model {spec!r}: replay mode must be 'strict' or 'ordered'")
        model = ReplayModel.from_file(
            path, mode="ordered" if mode == "ordered" else "strict", role=role
        )
    elif spec == "local":
        from aiscientist.models.local_server import make_local_model

        endpoint, probe = local() if local is not None else (None, None)
        return make_local_model(role, usage_log, endpoint, probe)
    else:
        from aiscientist.models.litellm_model import make_litellm_model

        return make_litellm_model(spec, role=role, usage_log=usage_log)
    if usage_log is not None:
        return UsageLoggingModel(model, usage_log, role=role)
    return model
