"""Install the embedded model so that it runs on any x86-64 machine: ``aiscientist setup-local``.

llama.cpp built with its default flags optimises for the build machine's CPU (``-march=native``):
on a CPU that advertises AMX it emits tile instructions that fault where the hypervisor or
kernel has not enabled them, and a wheel cached on one machine crashes on another. So the
build is never native:

- ``x86-64-v3`` (AVX, AVX2, BMI2, FMA, F16C; no AVX-512, no AMX) is the installed wheel: it
  runs on every x86-64 CPU of the last decade;
- ``avx512`` (the same plus AVX-512 F/CD/BW/DQ/VL) is kept beside it, as shared libraries only,
  and the server loads it (``LLAMA_CPP_LIB_PATH``) when the *kernel* reports those features in
  ``/proc/cpuinfo`` (it lists only what the OS has enabled, unlike CPUID);
- other architectures get llama.cpp's portable defaults (``GGML_NATIVE=OFF``).

Wheels are built with ``--no-cache-dir`` into ``$AISCIENTIST_CACHE/wheels/<version>-<variant>-
<flags digest>``, so a wheel is only ever reused for the same flags. After the weights are
assembled, each variant generates a few real tokens in a subprocess (``self_test``); a variant
that fails is removed, and if the baseline fails the install stops with the cause.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from aiscientist.models.local_server import (
    LIB_VARIANTS_DIR,
    LocalModelServer,
    assemble_weights,
    cache_dir,
    cpu_variant,
    generate_once,
)

LLAMA_CPP_VERSION = "0.3.36"
_OFF = ["AVX_VNNI", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_TILE", "AMX_INT8", "AMX_BF16"]
_V3 = ["SSE42", "AVX", "AVX2", "BMI2", "FMA", "F16C"]
VARIANTS: dict[str, list[str]] = {
    "x86-64-v3": [
        "-DGGML_NATIVE=OFF",
        *(f"-DGGML_{f}=ON" for f in _V3),
        "-DGGML_AVX512=OFF",
        *(f"-DGGML_{f}=OFF" for f in _OFF),
    ],
    "avx512": [
        "-DGGML_NATIVE=OFF",
        *(f"-DGGML_{f}=ON" for f in _V3),
        "-DGGML_AVX512=ON",
        *(f"-DGGML_{f}=OFF" for f in _OFF),
    ],
    "portable": ["-DGGML_NATIVE=OFF"],
}
"""CMake flags of each build; ``AVX512_FLAGS`` are what the ``avx512`` build's code needs."""

Say = Callable[[str], None]


def say_now(line: str) -> None:
    """Print a progress line at once (also when stdout is a file or a pipe)."""
    print(line, flush=True)


class InstallError(RuntimeError):
    """The embedded model could not be installed; the message says why and what to do."""


def variants_for(machine: str | None = None) -> list[str]:
    """The builds for this architecture, baseline first."""
    machine = machine or platform.machine()
    return ["x86-64-v3", "avx512"] if machine in ("x86_64", "AMD64") else ["portable"]


def wheel_dir(variant: str) -> Path:
    """Where the wheel of ``variant`` is kept: keyed by version and flags."""
    digest = hashlib.sha256(" ".join(VARIANTS[variant]).encode()).hexdigest()[:12]
    root = cache_dir().parent / "wheels"
    return root / f"llama-cpp-python-{LLAMA_CPP_VERSION}-{variant}-{digest}"


def _heartbeat(say: Say, what: str, every_s: float = 30.0) -> Callable[[], None]:
    """Print ``what ... Ns`` every ``every_s`` until the returned function is called."""
    done = threading.Event()
    start = time.monotonic()

    def beat() -> None:
        while not done.wait(every_s):
            say(f"  {what}: {time.monotonic() - start:.0f}s")

    threading.Thread(target=beat, daemon=True).start()
    return done.set


def build_wheel(variant: str, say: Say = say_now) -> Path:
    """The wheel of ``variant``, built now (minutes) unless already in the cache."""
    out = wheel_dir(variant)
    found = sorted(out.glob("llama_cpp_python-*.whl")) if out.is_dir() else []
    if found:
        say(f"llama.cpp {variant}: using the built wheel {found[0].name}")
        return found[0]
    jobs = os.cpu_count() or 1
    say(f"llama.cpp {variant}: building from source ({jobs} cores; ~4-8 min on 2 cores)")
    env = dict(os.environ)
    env.update(
        CMAKE_ARGS=" ".join(VARIANTS[variant]),
        FORCE_CMAKE="1",
        CMAKE_BUILD_PARALLEL_LEVEL=str(jobs),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    stop = _heartbeat(say, f"building {variant}")
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir"),
                *("--no-binary", "llama-cpp-python", "-w", str(tmp)),
                f"llama-cpp-python=={LLAMA_CPP_VERSION}",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            log = out.parent / f"build-{variant}.log"
            log.write_text(proc.stdout + proc.stderr)
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
            raise InstallError(
                f"building llama.cpp ({variant}) failed (exit {proc.returncode}); full log: "
                f"{log}\n{tail}\nA C++ compiler and cmake are needed (Debian: apt-get install "
                "build-essential cmake)."
            )
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        stop()
        shutil.rmtree(tmp, ignore_errors=True)
    wheel = sorted(out.glob("llama_cpp_python-*.whl"))[0]
    say(f"llama.cpp {variant}: built in {time.monotonic() - start:.0f}s")
    return wheel


def installed_variant() -> str | None:
    """The build the installed ``llama_cpp`` came from (None: not installed by us)."""
    marker = LIB_VARIANTS_DIR / "installed.json"
    try:
        return str(json.loads(marker.read_text())["variant"])
    except (OSError, ValueError, KeyError):
        return None


def install_wheel(wheel: Path, variant: str, say: Say = say_now) -> None:
    """Install ``wheel`` into this environment (replacing any other llama-cpp-python)."""
    if installed_variant() == variant and _importable():
        say(f"llama.cpp {variant}: already installed")
        return
    say(f"llama.cpp {variant}: installing {wheel.name}")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall"]
        + [str(wheel)],
        check=True,
    )
    LIB_VARIANTS_DIR.mkdir(parents=True, exist_ok=True)
    (LIB_VARIANTS_DIR / "installed.json").write_text(
        json.dumps({"variant": variant, "wheel": wheel.name}) + "\n"
    )


def unpack_libs(wheel: Path, variant: str) -> Path:
    """The shared libraries of ``wheel`` under ``LIB_VARIANTS_DIR/variant`` (loaded at run time
    through ``LLAMA_CPP_LIB_PATH``)."""
    dest = LIB_VARIANTS_DIR / variant
    tmp = LIB_VARIANTS_DIR / f".{variant}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith("llama_cpp/lib/") and not name.endswith("/"):
                (tmp / Path(name).name).write_bytes(zf.read(name))
    if not any(tmp.glob("libllama*")):
        shutil.rmtree(tmp)
        raise InstallError(f"{wheel.name} holds no llama_cpp/lib/libllama*: not a llama.cpp wheel")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def _importable() -> bool:
    proc = subprocess.run([sys.executable, "-c", "import llama_cpp"], capture_output=True)
    return proc.returncode == 0


def self_test(variant: str | None = None, timeout_s: float = 600.0) -> dict[str, object]:
    """One short real generation in a fresh subprocess, with the libraries of ``variant``
    (default: what the server would choose). Returns the subprocess's report: ``ok``, and
    tokens/s, or ``error`` with the server's exit signal and log tail."""
    cmd = [sys.executable, "-m", "aiscientist.models.local_install", "--generate-once"]
    if variant:
        cmd += ["--variant", variant]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"no generation within {timeout_s:.0f}s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if lines:
        report: dict[str, object] = json.loads(lines[-1])
        return report
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
    return {"ok": False, "error": f"the self-test exited with {proc.returncode}:\n{tail}"}


def install(say: Say = say_now) -> None:
    """Build (or reuse), install and self-test the portable llama.cpp, and assemble weights."""
    variants = variants_for()
    base, extra = variants[0], variants[1:]
    install_wheel(build_wheel(base, say), base, say)
    for v in extra:
        unpack_libs(build_wheel(v, say), v)
    say("weights: assembling and verifying (~1.1 GB)")
    stop = _heartbeat(say, "assembling weights", 20.0)
    try:
        path = assemble_weights()
    finally:
        stop()
    say(f"weights: {path}")
    report = self_test(base)
    if not report.get("ok"):
        raise InstallError(
            f"self-test of the embedded model ({base}) failed: {report.get('error')}\n"
            "What to do: run `aiscientist doctor` for details; if the server was killed by a "
            "signal (SIGILL/SIGSEGV), remove the wheel cache "
            f"({wheel_dir(base).parent}) and run `aiscientist setup-local` again."
        )
    say(f"self-test {base}: ok, {_speed(report)}")
    for v in extra:
        if cpu_variant() != v:
            say(f"self-test {v}: skipped (this machine's kernel does not report {v})")
            continue
        report = self_test(v)
        if report.get("ok"):
            say(f"self-test {v}: ok, {_speed(report)} (used on machines that report it)")
        else:
            shutil.rmtree(LIB_VARIANTS_DIR / v, ignore_errors=True)
            say(f"self-test {v}: FAILED, removed; {base} is used instead: {report.get('error')}")


def _speed(report: dict[str, object]) -> str:
    return (
        f"{report.get('prompt_tok_s', 0):.0f} tok/s prompt, "
        f"{report.get('gen_tok_s', 0):.1f} tok/s generation"
    )


def _generate_once(variant: str | None) -> int:
    """Start the server (with ``variant``'s libraries), generate once, print a JSON report."""
    report: dict[str, object]
    try:
        with LocalModelServer(n_ctx=1024, variant=variant) as server:
            try:
                report = {"ok": True, "variant": server.variant, **generate_once(server)}
            except Exception as exc:  # noqa: BLE001 - reported, with the server's fate
                time.sleep(0.5)  # let a crashing server finish dying
                died = server.death_message()
                report = {"ok": False, "error": died or f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # noqa: BLE001
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate_once:
        return _generate_once(args.variant)
    try:
        install()
    except (InstallError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
