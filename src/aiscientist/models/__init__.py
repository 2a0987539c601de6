"""Language models: the ``Model`` protocol, the litellm backend, the embedded local server,
and the test doubles (scripted, replay) that ship in ``src/`` so whole runs need no API key.

Only ``models/litellm*.py`` imports litellm. This package must not touch the workspace layout
beyond the usage log path it is handed.
"""

from aiscientist.models.base import ChatMessage, Completion, Model, ToolCall, ToolSpec
from aiscientist.models.registry import make_model
from aiscientist.models.scripted import ScriptedModel

__all__ = [
    "ChatMessage",
    "Completion",
    "Model",
    "ScriptedModel",
    "ToolCall",
    "ToolSpec",
    "make_model",
]
