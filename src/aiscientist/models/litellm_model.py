"""``LiteLLMModel``: any litellm model string behind the ``Model`` protocol.

The only module that imports litellm, and only when a model is first built, so
``import aiscientist`` stays fast. It converts our messages and tools to the OpenAI format,
retries transient failures with exponential backoff (rate limit, 5xx, timeout, connection)
and never retries fatal ones (auth, bad request, unknown model), and reports usage and cost
of every call (litellm's price table; zero for models it has no price for, such as local
servers), appending one line per call to a usage log when given one.

Spec strings: ``openai/gpt-4o``, ``anthropic/claude-...``, ``ollama/qwen2.5``, or any of them
followed by ``@`` and an OpenAI-compatible base URL, for vLLM, llama.cpp or a proxy::

    openai/qwen2.5-coder@http://127.0.0.1:8080/v1

Tool calls whose arguments are not a JSON object do not raise: they come back as a
``ToolCall`` whose arguments are ``{INVALID_ARGUMENTS_KEY: "<raw text>"}``, so the agent
loop can answer the model with an error and let it try again.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from aiscientist.errors import (
    ConfigError,
    FatalModelError,
    ModelServerDiedError,
    TransientModelError,
)
from aiscientist.messages import Usage
from aiscientist.models.base import ChatMessage, Completion, ToolCall, ToolChoice, ToolSpec
from aiscientist.models.usage import append_usage, record_for

INVALID_ARGUMENTS_KEY = "__invalid_json__"
"""Key of the only argument of a tool call whose arguments were not a JSON object."""

DEFAULT_CONTEXT_WINDOW = 8192
"""Context assumed for models litellm does not know (small on purpose: safe, not optimal)."""


def _litellm() -> ModuleType:
    # Never fetch the price table from the network at import: runs work offline.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``model@http://base`` into the litellm model string and the base URL."""
    model, sep, base = spec.rpartition("@")
    if sep and base.startswith(("http://", "https://")):
        if not model:
            raise ConfigError(f"model spec {spec!r} has a base URL but no model name")
        return model, base
    return spec, None


def to_openai_messages(
    messages: list[ChatMessage], empty_content: str | None = None
) -> list[dict[str, Any]]:
    """Our messages in the OpenAI chat format.

    An assistant turn with tool calls and no text gets ``empty_content`` as its content:
    ``None`` for hosted APIs, ``""`` for self-hosted servers, whose chat templates (llama.cpp's
    among them) fail on a message without content.
    """
    out: list[dict[str, Any]] = []
    for m in messages:
        msg: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            msg["content"] = m.content or empty_content
            msg["tool_calls"] = [
                {
                    "id": tc.id or f"call_{i}",
                    "type": "function",
                    "function": {"name": tc.name, "arguments": _encode_arguments(tc)},
                }
                for i, tc in enumerate(m.tool_calls)
            ]
        if m.role == "tool":
            msg["tool_call_id"] = m.tool_call_id
            if m.name:
                msg["name"] = m.name
        out.append(msg)
    return out


def _encode_arguments(tc: ToolCall) -> str:
    raw = tc.arguments.get(INVALID_ARGUMENTS_KEY)
    if len(tc.arguments) == 1 and isinstance(raw, str):
        return raw  # hand the model back exactly what it wrote
    return json.dumps(tc.arguments)


def to_openai_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """Our tool specs in the OpenAI ``tools`` format."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def narrow_tools(
    tools: list[ToolSpec], choice: str | ToolChoice | None
) -> tuple[list[ToolSpec], str | None]:
    """The tools to offer and the plain ``tool_choice`` for ``choice``: a ``ToolChoice``
    offers only its allowed tools, with its fixed arguments as constants, and requires a call
    (forcing the tool when only one is allowed)."""
    if not isinstance(choice, ToolChoice):
        return tools, choice
    kept = []
    for t in tools:
        if t.name not in choice.allowed:
            continue
        if choice.fixed and len(choice.allowed) == 1:
            props = dict(t.parameters.get("properties", {}))
            props.update({k: {"const": v} for k, v in choice.fixed.items()})
            t = ToolSpec(t.name, t.description, {**t.parameters, "properties": props})
        kept.append(t)
    return kept, (choice.allowed[0] if len(choice.allowed) == 1 else "required")


def to_openai_tool_choice(
    tool_choice: str | None, tools: list[ToolSpec] | None
) -> str | dict[str, Any] | None:
    """``auto``/``required``/``none`` pass through; a tool name forces that tool."""
    if tool_choice is None or not tools:
        return None
    if tool_choice in ("auto", "required", "none"):
        return tool_choice
    names = [t.name for t in tools]
    if tool_choice not in names:
        raise FatalModelError(
            f"tool_choice {tool_choice!r} names no offered tool; offered: {names!r}"
        )
    return {"type": "function", "function": {"name": tool_choice}}


def parse_tool_call(index: int, call_id: str | None, name: str, arguments: str | None) -> ToolCall:
    """One OpenAI tool call as a ``ToolCall``; undecodable arguments are kept, not raised."""
    raw = arguments or ""
    try:
        decoded = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):  # bad JSON, an integer too long, nesting too deep
        decoded = None
    if not isinstance(decoded, dict):
        decoded = {INVALID_ARGUMENTS_KEY: raw}
    return ToolCall(name=name or "", arguments=decoded, id=call_id or f"call_{index}")


def classify(exc: Exception) -> type[TransientModelError] | type[FatalModelError] | None:
    """Which of our errors a litellm exception maps to; ``None`` for foreign exceptions."""
    ll = _litellm()
    transient = (
        ll.RateLimitError,
        ll.InternalServerError,
        ll.ServiceUnavailableError,
        ll.BadGatewayError,
        ll.Timeout,
        ll.APIConnectionError,
    )
    if isinstance(exc, transient):
        return TransientModelError
    import openai  # litellm's own dependency; its errors are the base of litellm's

    if isinstance(exc, openai.APIError) or type(exc).__module__.startswith("litellm"):
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and (status >= 500 or status in (408, 409, 429)):
            return TransientModelError
        return FatalModelError
    return None


class LiteLLMModel:
    """A model reached through litellm, with retries, cost and a usage log."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        role: str = "default",
        usage_log: str | Path | None = None,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        backoff_max_s: float = 60.0,
        timeout_s: float = 600.0,
        context_window: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        probe: Callable[[], str | None] | None = None,
    ) -> None:
        self.model = model
        self.api_base = api_base
        self.name = f"{model}@{api_base}" if api_base else model
        self.role = role
        self.usage_log = Path(usage_log) if usage_log is not None else None
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.probe = probe
        """For a server we run: None while it lives, else how it died (asked after a
        transient failure, so a dead server is reported at once instead of retried)."""
        # OpenAI-compatible servers accept any key, but the OpenAI client insists on one.
        self._api_key = api_key if api_key is not None else ("sk-local" if api_base else None)
        self._window = context_window
        self._ll = _litellm()

    @property
    def context_window(self) -> int:
        if self._window is None:
            self._window = self._lookup_window()
        return self._window

    def for_role(self, role: str) -> LiteLLMModel:
        return self

    def _lookup_window(self) -> int:
        try:
            info = self._ll.get_model_info(self.model)
        except Exception:  # litellm raises bare Exception for unmapped models
            return DEFAULT_CONTEXT_WINDOW
        window = info.get("max_input_tokens") or info.get("max_tokens")
        return int(window) if window else DEFAULT_CONTEXT_WINDOW

    def _request(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None,
        tool_choice: str | ToolChoice | None,
        json_schema: dict[str, Any] | None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(messages, "" if self.api_base else None),
            "timeout": self.timeout_s,
            # Retries are ours (counted, logged, classified): none below us.
            "num_retries": 0,
            "max_retries": 0,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key is not None:
            kwargs["api_key"] = self._api_key
        if tools:
            tools, plain = narrow_tools(tools, tool_choice)
            kwargs["tools"] = to_openai_tools(tools)
            choice = to_openai_tool_choice(plain, tools)
            if choice is not None:
                kwargs["tool_choice"] = choice
        if json_schema is not None:
            # json_object + schema is what llama.cpp, vLLM and Ollama constrain on; hosted
            # providers that know strict schemas get json_schema.
            if not self.api_base and self._supports_schema():
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "reply", "schema": json_schema},
                }
            else:
                kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        return kwargs

    def _supports_schema(self) -> bool:
        try:
            return bool(self._ll.supports_response_schema(model=self.model))
        except Exception:
            return False

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | ToolChoice | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        """One chat completion, retried on transient errors; see ``Model.complete``."""
        kwargs = self._request(messages, tools, tool_choice, json_schema)
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._ll.completion(**kwargs)
                break
            except Exception as exc:
                kind = classify(exc)
                if kind is None:
                    raise
                message = (
                    f"model {self.name!r} (role {self.role!r}) failed on attempt {attempt}: "
                    f"{type(exc).__name__}: {str(exc)[:500]}"
                )
                if kind is FatalModelError:
                    raise FatalModelError(
                        message + "; not retried: check the model name, API key and request"
                    ) from exc
                died = self.probe() if self.probe is not None else None
                if died:
                    raise ModelServerDiedError(
                        f"{message}; not retried: {died}\nThe run stops here; "
                        "`aiscientist resume RUN_DIR` continues it with a new server."
                    ) from exc
                if attempt > self.max_retries:
                    raise TransientModelError(
                        message + f"; gave up after {attempt} attempts: try again later"
                    ) from exc
                time.sleep(self._delay(attempt))
        completion = self._completion(response)
        if self.usage_log is not None:
            record = record_for(self.role, completion, time.monotonic() - start, attempt)
            append_usage(self.usage_log, record)
        return completion

    def _delay(self, attempt: int) -> float:
        delay = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        return float(delay * (0.5 + random.random() / 2))  # jitter: spread retrying workers

    def _completion(self, response: Any) -> Completion:
        choice = response.choices[0]
        message = choice.message
        calls = tuple(
            parse_tool_call(i, tc.id, tc.function.name, tc.function.arguments)
            for i, tc in enumerate(message.tool_calls or [])
        )
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        return Completion(
            content=message.content or "",
            tool_calls=calls,
            usage=Usage(
                prompt_tokens=prompt,
                completion_tokens=completion_tokens,
                cost_usd=self._cost(response),
                calls=1,
            ),
            model=self.name,
            finish_reason=str(choice.finish_reason or ""),
        )

    def _cost(self, response: Any) -> float:
        try:
            return float(self._ll.completion_cost(completion_response=response, model=self.model))
        except Exception:  # no price known (local and self-hosted models): free
            return 0.0


def register_free_model(model: str, context_window: int) -> None:
    """Tell litellm that ``model`` costs nothing and accepts ``context_window`` tokens."""
    provider, _, _ = model.partition("/")
    _litellm().register_model(
        {
            model: {
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "cache_creation_input_token_cost": 0.0,
                "cache_read_input_token_cost": 0.0,
                "litellm_provider": provider or "openai",
                "mode": "chat",
                "max_input_tokens": context_window,
                "max_tokens": context_window,
            }
        }
    )


def make_litellm_model(
    spec: str, role: str = "default", usage_log: str | Path | None = None
) -> LiteLLMModel:
    """Build the litellm model named by ``spec`` (``provider/model[@base_url]``) for ``role``."""
    model, api_base = parse_spec(spec)
    if "/" not in model and api_base is None:
        # litellm would guess a provider; an explicit one avoids surprises.
        known = _litellm().model_cost
        if model not in known:
            raise ConfigError(
                f"unknown model {spec!r}: use 'provider/model' (e.g. 'openai/gpt-4o', "
                "'ollama/qwen2.5'), 'local', or 'scripted:PATH'"
            )
    return LiteLLMModel(model, api_base=api_base, role=role, usage_log=usage_log)
