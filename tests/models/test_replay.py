"""Record real calls through LiteLLMModel, then replay them with the server gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai_fake import FakeOpenAIServer

from aiscientist.errors import FatalModelError
from aiscientist.models.base import ChatMessage, ToolSpec
from aiscientist.models.litellm_model import LiteLLMModel
from aiscientist.models.registry import make_model
from aiscientist.models.replay import RecordingModel, ReplayModel, read_cassette
from aiscientist.models.usage import read_usage

TOOL = ToolSpec(
    name="read_file",
    description="Read a file.",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}},
)


def _conversation() -> list[list[ChatMessage]]:
    first = [ChatMessage(role="system", content="sys"), ChatMessage(role="user", content="go")]
    second = [*first, ChatMessage(role="user", content="and then?")]
    return [first, second]


def _record(server: FakeOpenAIServer, cassette: Path) -> list[object]:
    server.answers = [
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]},
        {"content": "second answer", "prompt_tokens": 40},
    ]
    live = LiteLLMModel("openai/fake-model", api_base=server.base_url, context_window=4096)
    recorder = RecordingModel(live, cassette, role="implementation")
    first, second = _conversation()
    return [
        recorder.complete(first, tools=[TOOL], tool_choice="read_file"),
        recorder.complete(second, json_schema={"type": "object"}),
    ]


def test_replay_answers_recorded_requests_without_the_server(
    fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.jsonl"
    recorded = _record(fake_openai, cassette)
    fake_openai.stop()
    assert len(read_cassette(cassette)) == 2

    replay = ReplayModel.from_file(cassette, role="implementation")
    first, second = _conversation()
    # Out of order on purpose: strict mode keys on the request, not the position.
    assert replay.complete(second, json_schema={"type": "object"}) == recorded[1]
    assert replay.complete(first, tools=[TOOL], tool_choice="read_file") == recorded[0]
    assert replay.context_window == 4096
    # Asked again, the same request gets the same answer.
    assert replay.complete(first, tools=[TOOL], tool_choice="read_file") == recorded[0]


def test_strict_replay_refuses_a_request_it_never_saw(
    fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.jsonl"
    _record(fake_openai, cassette)
    replay = ReplayModel.from_file(cassette)
    first, _ = _conversation()
    with pytest.raises(FatalModelError, match="no recording of request"):
        replay.complete(first)  # same messages, but without the tools: a different request


def test_ordered_replay_serves_in_order_then_stops(
    fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.jsonl"
    recorded = _record(fake_openai, cassette)
    replay = make_model(f"replay:{cassette}#ordered", role="implementation")
    anything = [ChatMessage(role="user", content="unrelated prompt")]
    assert [replay.complete(anything), replay.complete(anything)] == recorded
    with pytest.raises(FatalModelError, match="no recorded reply left"):
        replay.complete(anything)


def test_record_spec_wraps_any_model_and_usage_is_logged(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("- hello\n- content: bye\n")
    cassette = tmp_path / "rec.jsonl"
    log = tmp_path / "usage.jsonl"
    model = make_model(f"record:{cassette}=scripted:{script}", role="helper", usage_log=log)
    msgs = [ChatMessage(role="user", content="hi")]
    assert model.complete(msgs).content == "hello"
    assert [r.role for r in read_usage(log)] == ["helper"]
    assert make_model(f"replay:{cassette}", role="helper").complete(msgs).content == "hello"
