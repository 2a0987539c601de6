"""LiteLLMModel against a real OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_fake import FakeOpenAIServer

from aiscientist.errors import ConfigError, FatalModelError, TransientModelError
from aiscientist.models.base import ChatMessage, ToolCall, ToolSpec
from aiscientist.models.litellm_model import (
    INVALID_ARGUMENTS_KEY,
    LiteLLMModel,
    make_litellm_model,
    parse_spec,
)
from aiscientist.models.registry import make_model
from aiscientist.models.usage import read_usage, total_usage

SHELL = ToolSpec(
    name="shell",
    description="Run a shell command.",
    parameters={"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
)
HELLO = [ChatMessage(role="user", content="hello")]


def _model(server: FakeOpenAIServer, **kw: object) -> LiteLLMModel:
    return LiteLLMModel(
        "openai/fake-model",
        api_base=server.base_url,
        backoff_s=0.01,
        **kw,  # type: ignore[arg-type]
    )


def test_rate_limit_and_server_errors_are_retried_until_success(
    fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    fake_openai.answers = [429, 500, 503, {"content": "finally"}]
    log = tmp_path / "journal" / "usage.jsonl"
    reply = _model(fake_openai, usage_log=log, role="orchestrator").complete(HELLO)
    assert reply.content == "finally"
    assert len(fake_openai.requests) == 4  # counted on the server: 3 failures + 1 success
    [record] = read_usage(log)
    assert record.attempts == 4
    assert record.role == "orchestrator"
    assert (record.prompt_tokens, record.completion_tokens) == (11, 7)


def test_transient_errors_give_up_after_max_retries(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.answers = [500] * 10
    with pytest.raises(TransientModelError, match="gave up after 3 attempts"):
        _model(fake_openai, max_retries=2).complete(HELLO)
    assert len(fake_openai.requests) == 3


@pytest.mark.parametrize("status", [401, 400, 404])
def test_auth_and_bad_request_errors_are_not_retried(
    fake_openai: FakeOpenAIServer, status: int
) -> None:
    fake_openai.answers = [status, {"content": "never reached"}]
    with pytest.raises(FatalModelError, match="not retried"):
        _model(fake_openai).complete(HELLO)
    assert len(fake_openai.requests) == 1


def test_connection_refused_is_transient() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = LiteLLMModel(
        "openai/x", api_base=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff_s=0.01
    )
    with pytest.raises(TransientModelError):
        model.complete(HELLO)


def test_tools_and_tool_choice_are_sent_in_openai_format(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.answers = [
        {"content": None, "tool_calls": [{"name": "shell", "arguments": {"cmd": "ls"}}]}
    ]
    history = [
        ChatMessage(role="system", content="be brief"),
        ChatMessage(role="user", content="list files"),
        ChatMessage(
            role="assistant",
            tool_calls=(ToolCall(name="shell", arguments={"cmd": "pwd"}, id="c1"),),
        ),
        ChatMessage(role="tool", content="/work", tool_call_id="c1", name="shell"),
    ]
    reply = _model(fake_openai).complete(history, tools=[SHELL], tool_choice="shell")
    assert reply.tool_calls == (ToolCall(name="shell", arguments={"cmd": "ls"}, id="call_0"),)
    assert reply.finish_reason == "tool_calls"
    sent = fake_openai.requests[0]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "shell"}}
    assert sent["tools"][0]["function"]["name"] == "shell"
    assert sent["tools"][0]["function"]["parameters"] == SHELL.parameters
    assistant = sent["messages"][2]
    assert assistant["tool_calls"][0]["id"] == "c1"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"cmd": "pwd"}
    assert sent["messages"][3]["role"] == "tool" and sent["messages"][3]["tool_call_id"] == "c1"
    assert assistant["content"] == ""  # self-hosted templates need a string, not null


def test_undecodable_tool_arguments_come_back_instead_of_crashing(
    fake_openai: FakeOpenAIServer,
) -> None:
    bad = '{"cmd": "ls'
    fake_openai.answers = [{"tool_calls": [{"name": "shell", "arguments": bad}]}]
    model = _model(fake_openai)
    reply = model.complete(HELLO, tools=[SHELL], tool_choice="auto")
    assert reply.tool_calls[0].arguments == {INVALID_ARGUMENTS_KEY: bad}
    assert fake_openai.requests[0]["tool_choice"] == "auto"
    # Sent back in the history, the model sees exactly the text it wrote.
    model.complete([*HELLO, ChatMessage(role="assistant", tool_calls=reply.tool_calls)])
    assert fake_openai.requests[1]["messages"][1]["tool_calls"][0]["function"]["arguments"] == bad


def test_json_schema_becomes_json_object_response_format(fake_openai: FakeOpenAIServer) -> None:
    schema = {"type": "object", "properties": {"score": {"type": "number"}}}
    fake_openai.answers = [{"content": '{"score": 1}'}]
    reply = _model(fake_openai).complete(HELLO, json_schema=schema)
    assert json.loads(reply.content) == {"score": 1}
    assert fake_openai.requests[0]["response_format"] == {"type": "json_object", "schema": schema}


def test_unknown_tool_choice_is_fatal_before_any_request(fake_openai: FakeOpenAIServer) -> None:
    with pytest.raises(FatalModelError, match="'nope'"):
        _model(fake_openai).complete(HELLO, tools=[SHELL], tool_choice="nope")
    assert fake_openai.requests == []


def test_unpriced_model_costs_zero_and_known_model_has_a_price(
    fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    log = tmp_path / "usage.jsonl"
    free = _model(fake_openai, usage_log=log).complete(HELLO)
    assert free.usage.cost_usd == 0.0
    fake_openai.answers = [{"content": "x", "prompt_tokens": 1000, "completion_tokens": 1000}]
    priced = LiteLLMModel("gpt-4o", api_base=fake_openai.base_url, usage_log=log).complete(HELLO)
    assert priced.usage.cost_usd > 0.0
    assert total_usage(log).calls == 2
    assert total_usage(log).cost_usd == pytest.approx(priced.usage.cost_usd)


def test_context_window_from_litellm_or_default() -> None:
    assert LiteLLMModel("gpt-4o").context_window == 128000
    assert LiteLLMModel("openai/never-heard-of-it", api_base="http://x/v1").context_window == 8192


def test_registry_builds_litellm_models_from_spec(fake_openai: FakeOpenAIServer) -> None:
    assert parse_spec("openai/q@http://h:1/v1") == ("openai/q", "http://h:1/v1")
    assert parse_spec("vertex_ai/claude@2024") == ("vertex_ai/claude@2024", None)
    model = make_model(f"openai/fake-model@{fake_openai.base_url}", role="judge")
    assert model.complete(HELLO).content == "ok"
    with pytest.raises(ConfigError, match="provider/model"):
        make_litellm_model("no-such-model-anywhere")
