"""Benchmark the local model path: prompt and generation tokens/s, seconds per agent step.

Starts the embedded llama.cpp server through ``LocalModelServer`` (the build the server
would choose on this machine, or ``--variant x86-64-v3|avx512``), then measures:

- prompt tokens/s and generation tokens/s, from a streamed request (time to first token,
  then the rate of the following tokens), on a fresh prompt so no prefix cache helps;
- seconds per agent-like step through ``LiteLLMModel``: a ~1,500-token prompt with tools and
  a short forced tool call, cold (new prompt) and warm (the previous conversation plus one
  tool result, as consecutive agent steps are).

Prints a table and writes ``bench-results/local_model.json``. Needs ``aiscientist setup-local``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from aiscientist.models.base import ChatMessage, ToolSpec
from aiscientist.models.local_server import (
    MODEL_ALIAS,
    LocalEndpoint,
    LocalModelServer,
    make_local_model,
)

TOOLS = [
    ToolSpec(
        name="shell",
        description="Run a shell command in the sandbox and return its output.",
        parameters={
            "type": "object",
            "properties": {"command": {"type": "string"}, "timeout_s": {"type": "integer"}},
            "required": ["command"],
        },
    ),
    ToolSpec(
        name="write_file",
        description="Write a file in one of your regions.",
        parameters={
            "type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["path", "content"],
        },
    ),
    ToolSpec(
        name="finish",
        description="End the session with a summary.",
        parameters={
            "type": "object",
            "properties": {"summary": {"type": "string"}},
            "required": ["summary"],
        },
    ),
]

_FILLER = (
    "Row {i}: the training set has numeric features f{i} and f{j}; feature f{i} correlates "
    "with the target at {r:.2f}, and earlier experiment e{i} reached accuracy 0.{k} with a "
    "gradient boosting model using depth {d}.\n"
)


def agent_prompt(seed: int, rows: int = 24) -> list[ChatMessage]:
    """An agent-like conversation of about 1,500 tokens whose first tokens depend on seed."""
    context = "".join(
        _FILLER.format(i=i, j=i + 7, r=((i * 37 + seed) % 100) / 100, k=80 + i % 19, d=3 + i % 5)
        for i in range(rows)
    )
    return [
        ChatMessage(
            role="system",
            content=f"[session {seed}] You are the implementation specialist. Work in small "
            "steps; every reply must be one tool call.",
        ),
        ChatMessage(role="user", content="Task notes:\n" + context),
        ChatMessage(
            role="user", content="Check which files exist in the submission directory first."
        ),
    ]


def stream_rates(base_url: str, seed: int, max_tokens: int = 48) -> tuple[int, float, float]:
    """Prompt tokens, prompt tokens/s and generation tokens/s from one streamed request."""
    messages = [{"role": m.role, "content": m.content} for m in agent_prompt(seed)]
    messages.append({"role": "user", "content": "Now write a long paragraph about the data."})
    body = {
        "model": MODEL_ALIAS,
        "messages": messages,
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    req = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    start = time.monotonic()
    first = last = 0.0
    chunks = 0
    prompt_tokens = 0
    with urllib.request.urlopen(req, timeout=900) as resp:
        for raw in resp:
            line = raw.decode().strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            data = json.loads(line[5:])
            if data.get("usage"):
                prompt_tokens = data["usage"].get("prompt_tokens", prompt_tokens)
            choices = data.get("choices") or []
            if choices and choices[0].get("delta", {}).get("content"):
                now = time.monotonic()
                first = first or now
                last = now
                chunks += 1
    if not prompt_tokens:  # servers that omit usage in streams: count it the slow way
        prompt_tokens = int(len(json.dumps(messages)) / 3.6)
    prompt_rate = prompt_tokens / (first - start)
    gen_rate = (chunks - 1) / (last - first) if chunks > 1 and last > first else 0.0
    return prompt_tokens, prompt_rate, gen_rate


def agent_steps(base_url: str, repeats: int) -> dict[str, object]:
    """Seconds per cold and warm agent step through LiteLLMModel with a forced tool call."""
    model = make_local_model(role="bench", endpoint=LocalEndpoint(base_url, "sk-local"))
    cold, prompt_tokens, completion_tokens, parsed = [], [], [], 0
    messages: list[ChatMessage] = []
    for seed in range(repeats):
        messages = agent_prompt(1000 + seed)
        t = time.monotonic()
        reply = model.complete(messages, tools=TOOLS, tool_choice="shell")
        cold.append(time.monotonic() - t)
        prompt_tokens.append(reply.usage.prompt_tokens)
        completion_tokens.append(reply.usage.completion_tokens)
        parsed += bool(reply.tool_calls) and "command" in reply.tool_calls[0].arguments
    call = reply.tool_calls[0] if reply.tool_calls else None
    warm_messages = [
        *messages,
        ChatMessage(role="assistant", tool_calls=(call,) if call else ()),
        ChatMessage(
            role="tool",
            content="reproduce.sh\ntrain.py\nREADME.md",
            tool_call_id=call.id if call else "",
            name="shell",
        ),
    ]
    t = time.monotonic()
    warm_reply = model.complete(warm_messages, tools=TOOLS, tool_choice="write_file")
    warm = time.monotonic() - t
    return {
        "cold_step_s": cold,
        "cold_step_mean_s": statistics.mean(cold),
        "warm_step_s": warm,
        "warm_prompt_tokens": warm_reply.usage.prompt_tokens,
        "step_prompt_tokens": prompt_tokens,
        "step_completion_tokens": completion_tokens,
        "tool_calls_parsed": f"{parsed}/{repeats}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="cold agent steps to time")
    parser.add_argument("--rate-runs", type=int, default=1, help="streamed rate requests")
    parser.add_argument("--variant", default=None, help="llama.cpp build (default: chosen)")
    parser.add_argument("--out", default="bench-results/local_model.json")
    args = parser.parse_args()

    t = time.monotonic()
    server = LocalModelServer(variant=args.variant).start()
    base_url = server.base_url
    startup_s = time.monotonic() - t
    try:
        rates = [stream_rates(base_url, seed) for seed in range(args.rate_runs)]
        steps = agent_steps(base_url, args.repeats)
    finally:
        server.stop()
    result: dict[str, object] = {
        "model": MODEL_ALIAS,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "llama_cpp_build": server.variant or "x86-64-v3 (installed wheel)",
        "load_average_1m": os.getloadavg()[0],
        "server_startup_s": round(startup_s, 2),
        "prompt_tokens": rates[-1][0],
        "prompt_tokens_per_s": statistics.mean(r[1] for r in rates),
        "generation_tokens_per_s": statistics.mean(r[2] for r in rates),
        **steps,
    }
    rows = [
        ("server start (s)", result["server_startup_s"]),
        ("prompt tokens/s", result["prompt_tokens_per_s"]),
        ("generation tokens/s", result["generation_tokens_per_s"]),
        (
            f"cold agent step (s), ~{statistics.mean(steps['step_prompt_tokens'])} tok",
            steps["cold_step_mean_s"],
        ),  # type: ignore[arg-type]
        (f"warm agent step (s), {steps['warm_prompt_tokens']} tok", steps["warm_step_s"]),
        ("forced tool calls parsed", steps["tool_calls_parsed"]),
    ]
    print(f"local model {MODEL_ALIAS} on {result['machine']}, load {os.getloadavg()[0]:.1f}")
    print(f"| {'metric':<44} | {'value':>10} |\n|{'-' * 46}|{'-' * 12}:|")
    for name, value in rows:
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"| {name:<44} | {shown:>10} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
