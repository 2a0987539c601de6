"""Session transcripts: every message of an agent session, and resuming a session from one.

A session appends each message to ``journal/transcripts/<role>/<session>.jsonl`` as it is
added to the conversation. A session cut short (the driver or its actor killed) is resumed
from its transcript with any model: the agent is handed the replies the transcript holds
(``recorded_replies``) and serves them, in order, instead of asking the model (they are not
billed again), so every tool call is made again against the workspace (the experiment pool
and the journal answer repeated calls with what they already did); when the recorded replies
run out the model carries on in the same conversation. What the model said is never asked
again, so a resumed session is the session that was cut short, whatever the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from aiscientist.errors import ModelFormatError
from aiscientist.models.base import ChatMessage, Completion
from aiscientist.workspace import WorkspaceView

PRELOADED = "preload_"
"""Id prefix of the tool calls an agent makes for its model before the first step."""
STEERED = "steered_"
"""Id prefix of a call the steering made for the model (every argument fixed); it is recorded
and replayed on resume like a reply."""
FORMAT_ERROR = "ERROR: "
"""How the agent shows a model a reply its tool protocol could not read."""

Replay = Completion | ModelFormatError
"""A recorded reply: what the model said, or a reply its protocol could not read."""

_decoder = msgspec.json.Decoder(ChatMessage)


def transcript_path(role: str, session: str) -> str:
    return f"journal/transcripts/{role}/{session}.jsonl"


def transcript_sink(view: WorkspaceView, role: str, session: str) -> Callable[[ChatMessage], None]:
    """Append every message of a session to its transcript."""
    path = transcript_path(role, session)

    def sink(message: ChatMessage) -> None:
        # a transcript is flushed per message, not fsynced: it survives a killed process
        view.append_record(path, msgspec.json.encode(message), sync=False)

    return sink


def read_transcript(path: Path) -> list[ChatMessage]:
    """The messages of a transcript (a torn last line, left by a crash, is skipped)."""
    if not path.is_file():
        return []
    out: list[ChatMessage] = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(_decoder.decode(line))
        except msgspec.DecodeError:
            continue
    return out


def recorded_replies(view: WorkspaceView, role: str, session: str) -> list[Replay]:
    """The model's replies in the session's transcript, in order (none for a new session)."""
    messages = read_transcript(view.root / transcript_path(role, session))
    replies: list[Replay] = []
    for i, m in enumerate(messages):
        if m.role != "assistant":
            continue
        if m.tool_calls and all(c.id.startswith(PRELOADED) for c in m.tool_calls):
            continue  # made for the model before its first step: made again on resume
        reply = Completion(content=m.content, tool_calls=m.tool_calls, finish_reason="replayed")
        nxt = messages[i + 1] if i + 1 < len(messages) else None
        if (
            not m.tool_calls
            and nxt is not None
            and nxt.role == "user"
            and nxt.content.startswith(FORMAT_ERROR)
        ):
            replies.append(ModelFormatError(nxt.content.removeprefix(FORMAT_ERROR), reply))
        else:
            replies.append(reply)
    return replies
