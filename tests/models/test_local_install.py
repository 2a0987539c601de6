"""The portable llama.cpp build that ``aiscientist setup-local`` installs, and its self-test.

The build must not depend on the CPU of the machine that built it: the installed libraries
hold no AMX tile instruction and (the baseline) no AVX-512 register, whatever the build
machine advertised. Needs the ``local`` extra and ``aiscientist setup-local``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiscientist.models import local_install, local_server

try:
    import llama_cpp

    LIB = Path(llama_cpp.__file__).parent / "lib"
except ImportError:
    LIB = None
needs_llama = pytest.mark.skipif(LIB is None, reason="llama_cpp missing: aiscientist setup-local")
needs_objdump = pytest.mark.skipif(shutil.which("objdump") is None, reason="no objdump")

AMX = ("ldtilecfg", "tileloadd", "tdpbssd", "tdpbf16ps", "tilerelease")


def _disassembly(lib_dir: Path) -> str:
    out = []
    for lib in sorted(lib_dir.glob("libggml-cpu.so*")) or sorted(lib_dir.glob("libggml*.so*")):
        if lib.is_symlink():
            continue
        proc = subprocess.run(
            ["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        out.append(proc.stdout)
    assert out, f"no ggml library under {lib_dir}"
    return "\n".join(out)


def test_each_variant_has_its_own_wheel_directory() -> None:
    dirs = {local_install.wheel_dir(v) for v in local_install.VARIANTS}
    assert len(dirs) == len(local_install.VARIANTS)
    for flags in local_install.VARIANTS.values():
        assert "-DGGML_NATIVE=OFF" in flags
        assert not any(f.startswith("-DGGML_AMX") and f.endswith("=ON") for f in flags)
    assert local_install.variants_for("x86_64") == ["x86-64-v3", "avx512"]
    assert local_install.variants_for("aarch64") == ["portable"]


@pytest.mark.slow
@needs_llama
@needs_objdump
def test_the_installed_build_holds_no_amx_and_no_avx512() -> None:
    assert LIB is not None
    text = _disassembly(LIB)
    assert "vfmadd" in text or "vpmaddubsw" in text, "expected AVX2/FMA code in the baseline"
    found = [op for op in AMX if f"\t{op}" in text or f" {op} " in text]
    assert not found, f"AMX instructions in the installed llama.cpp: {found}"
    assert "%zmm" not in text, "AVX-512 code in the baseline build"


@pytest.mark.slow
@needs_llama
@needs_objdump
def test_the_avx512_build_holds_avx512_and_no_amx() -> None:
    lib = local_server.LIB_VARIANTS_DIR / "avx512"
    if not lib.is_dir():
        pytest.skip("no avx512 build installed (not x86-64, or its self-test failed)")
    text = _disassembly(lib)
    assert "%zmm" in text
    assert not [op for op in AMX if f"\t{op}" in text or f" {op} " in text]


@pytest.fixture
def broken_build() -> Iterator[str]:
    """A llama.cpp "build" that cannot load, installed beside the real ones for one test."""
    name = f"broken-{uuid.uuid4().hex[:6]}"
    d = local_server.LIB_VARIANTS_DIR / name
    d.mkdir(parents=True)
    (d / "libllama.so").write_bytes(b"\x7fELF not really a library")
    try:
        yield name
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.slow
@needs_llama
def test_the_self_test_reports_a_build_that_cannot_serve(broken_build: str) -> None:
    report = local_install.self_test(broken_build, timeout_s=300)
    assert report["ok"] is False
    error = str(report["error"])
    assert "exited with code" in error and "log" in error, error


def _doctor(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiscientist.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200", **env},
    )


@pytest.mark.slow
@needs_llama
def test_doctor_generates_once_and_reports_the_speed() -> None:
    out = _doctor()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "sha256 verified" in out.stdout and "tok/s generation" in out.stdout


@pytest.mark.slow
@needs_llama
def test_doctor_fails_naming_the_fix_when_the_model_cannot_generate(broken_build: str) -> None:
    out = _doctor(**{local_server.CPU_ENV: broken_build})
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAILED" in out.stdout and "aiscientist setup-local" in out.stdout
