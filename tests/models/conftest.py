"""Fixtures of the model tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai_fake import FakeOpenAIServer


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer()
    try:
        yield server
    finally:
        server.stop()
