"""Capped output capture and the mapping from how a process ended to an ``ExecStatus``."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from aiscientist.sandbox.base import ExecStatus

# Printed by bash, python and libc when fork/clone fails with EAGAIN: the process limit
# was hit. Seeing one, we stop the whole sandbox (a fork bomb never ends on its own).
FORK_FAILURE_MARKERS: tuple[bytes, ...] = (
    b"fork: Resource temporarily unavailable",
    b"fork: retry: Resource temporarily unavailable",
    b"BlockingIOError: [Errno 11] Resource temporarily unavailable",
    b"can't fork",
    b"Cannot fork",
)
OOM_MARKERS: tuple[str, ...] = (
    "MemoryError",
    "Cannot allocate memory",
    "std::bad_alloc",
    "out of memory",
    "Unable to allocate",
    "memory exhausted",
)


class OutputCapture:
    """Copies a stream to a log file: the first 3/4 of ``cap`` bytes, then the last 1/4."""

    def __init__(self, log_path: Path | None, cap: int) -> None:
        self.cap = max(cap, 1024)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.seen = 0
        """Bytes fed so far (kept or dropped)."""
        self.killed_for: str = ""
        self._file: IO[bytes] | None = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(log_path, "wb")  # closed in close()
        self._scan = b""

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def feed(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        head_cap = self.cap * 3 // 4
        room = head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            if self._file is not None:
                self._file.write(chunk[:room])
                self._file.flush()
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            tail_cap = self.cap - head_cap
            if len(self.tail) > tail_cap:
                self.dropped += len(self.tail) - tail_cap
                del self.tail[: len(self.tail) - tail_cap]

    def pump(self, chunks: Iterable[bytes], on_fork_failure: Callable[[], None]) -> None:
        """Consume ``chunks`` to the end; call ``on_fork_failure`` once if the limit is hit."""
        for chunk in chunks:
            if not chunk:
                continue
            self.feed(chunk)
            if not self.killed_for:
                window = self._scan + chunk
                if any(m in window for m in FORK_FAILURE_MARKERS):
                    self.killed_for = "process limit reached (fork failed with EAGAIN)"
                    on_fork_failure()
                self._scan = window[-256:]

    def _bytes(self) -> bytes:
        if not self.tail:
            return bytes(self.head)
        marker = f"\n[... {self.dropped} bytes of output dropped ...]\n".encode()
        return bytes(self.head) + (marker if self.dropped else b"") + bytes(self.tail)

    def text(self) -> str:
        return self._bytes().decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._file is None:
            return
        if self.tail:
            if self.dropped:
                self._file.write(f"\n[... {self.dropped} bytes of output dropped ...]\n".encode())
            self._file.write(bytes(self.tail))
        self._file.close()
        self._file = None


def classify(
    returncode: int | None,
    *,
    timed_out: bool,
    timeout: float,
    text: str,
    killed_for: str = "",
    oom_killed: bool = False,
) -> tuple[ExecStatus, str]:
    """Map how a process ended to a status and a one-line reason."""
    if timed_out:
        return "timeout", f"wall-clock timeout after {timeout:g} s"
    if killed_for:
        return "killed", killed_for
    if oom_killed:
        return "oom", "killed by the memory limit (OOM)"
    if returncode == 0:
        return "ok", ""
    tail = text[-4000:]
    if returncode is not None and returncode < 0:
        sig = -returncode
        if sig == signal.SIGXCPU:
            return "timeout", "CPU-time limit reached (SIGXCPU)"
        if sig == signal.SIGXFSZ:
            return "killed", "file-size limit reached (SIGXFSZ)"
        if any(m in tail for m in OOM_MARKERS):
            return "oom", f"memory limit reached, then killed by signal {sig}"
        return "killed", f"killed by signal {_signame(sig)}"
    if returncode == 137 and any(m in tail for m in OOM_MARKERS):
        return "oom", "memory limit reached (exit 137)"
    if returncode is not None and returncode > 128 and returncode - 128 == signal.SIGXCPU:
        return "timeout", "CPU-time limit reached (SIGXCPU)"
    if any(m in tail for m in OOM_MARKERS):
        return "oom", f"memory limit reached (exit {returncode}): {_last_line(tail)}"
    return "failed", f"exit code {returncode}: {_last_line(tail)}"


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "(no output)"
