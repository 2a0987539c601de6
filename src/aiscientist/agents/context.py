"""Context compaction: an agent's conversation kept within its prompt budget.

Once the conversation nears the budget, it keeps the system and task messages, a digest of
old turns (the calls made and the start of what they returned), and as many recent turns as
fit in a third of the budget (long tool outputs in them truncated to fit). A conversation never
starts its recent part on a tool result whose call was digested.
"""

from __future__ import annotations

import json

from aiscientist.agents.tools import truncate
from aiscientist.models.base import ChatMessage, estimate_tokens


def compact(messages: list[ChatMessage], limit: int, keep_recent: int) -> list[ChatMessage]:
    """``messages`` as they fit in ``limit`` tokens (the same list when they already do)."""
    if estimate_tokens(messages) <= limit:
        return messages
    head, body = messages[:2], messages[2:]
    keep_budget = limit // 3
    recent: list[ChatMessage] = []
    used = 0
    for m in reversed(body[-keep_recent:]):
        cost = estimate_tokens([m])
        if recent and used + cost > keep_budget:
            break
        if cost > keep_budget // 2:
            m = ChatMessage(
                m.role,
                truncate(m.content, keep_budget * 2),
                m.tool_calls,
                m.tool_call_id,
                m.name,
            )
            cost = estimate_tokens([m])
        recent.insert(0, m)
        used += cost
    old = body[: len(body) - len(recent)]
    while recent and recent[0].role == "tool":  # never start on an orphan tool result
        old.append(recent.pop(0))
    digest = []
    for m in old:
        if m.role == "assistant" and m.tool_calls:
            names = ", ".join(
                f"{c.name}({truncate(json.dumps(c.arguments), 120)})" for c in m.tool_calls
            )
            digest.append(f"- called {names}")
        elif m.role == "tool":
            digest.append(f"  -> {truncate(m.content, 160)}")
        elif m.role == "user" and m.content.startswith("Summary of earlier"):
            digest.append(truncate(m.content, 1500))
    kept: list[str] = []
    chars = 0
    for line in reversed(digest):  # newest first, within a quarter of the budget
        chars += len(line) + 1
        if chars > limit:
            break
        kept.insert(0, line)
    summary = ChatMessage(
        "user",
        "Summary of earlier steps (older turns were compacted):\n" + "\n".join(kept),
    )
    return [*head, summary, *recent]
