"""Assembling the local model's weights from chunks: once, verified, never half-written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aiscientist.errors import FatalModelError
from aiscientist.models.local_server import assemble_weights, free_port


def _chunks(tmp_path: Path) -> tuple[list[Path], bytes]:
    parts = []
    data = b""
    for i, content in enumerate([b"GGUF" + b"a" * 5000, b"b" * 7000, b"c" * 3]):
        p = tmp_path / "chunks" / f"part{i + 1:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(content)
        parts.append(p)
        data += content
    return parts, data


def test_chunks_are_joined_in_order_and_verified_once(tmp_path: Path) -> None:
    parts, data = _chunks(tmp_path)
    dest = tmp_path / "cache" / "m.gguf"
    sha = hashlib.sha256(data).hexdigest()
    assert assemble_weights(dest, parts, len(data), sha) == dest
    assert dest.read_bytes() == data
    # Once: a second call trusts the stamp and does not read the chunks again.
    for p in parts:
        p.unlink()
    assert assemble_weights(dest, parts, len(data), sha).read_bytes() == data


def test_a_digest_mismatch_is_refused_and_leaves_no_partial_file(tmp_path: Path) -> None:
    parts, data = _chunks(tmp_path)
    dest = tmp_path / "cache" / "m.gguf"
    with pytest.raises(FatalModelError, match="expected .* bytes with sha256 '0+'"):
        assemble_weights(dest, parts, len(data), "0" * 64)
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir() if not p.name.endswith(".lock")] == []


def test_a_size_mismatch_is_refused(tmp_path: Path) -> None:
    parts, data = _chunks(tmp_path)
    dest = tmp_path / "m.gguf"
    with pytest.raises(FatalModelError, match=f"{len(data)} bytes"):
        assemble_weights(dest, parts[:2] + parts, len(data), hashlib.sha256(data).hexdigest())
    assert not dest.exists()


def test_a_file_changed_after_verification_is_assembled_again(tmp_path: Path) -> None:
    parts, data = _chunks(tmp_path)
    dest = tmp_path / "m.gguf"
    sha = hashlib.sha256(data).hexdigest()
    assemble_weights(dest, parts, len(data), sha)
    dest.write_bytes(b"corrupted")
    assert assemble_weights(dest, parts, len(data), sha).read_bytes() == data


def test_free_port_can_be_bound() -> None:
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
