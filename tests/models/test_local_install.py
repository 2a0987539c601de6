"""The portable llama.cpp build that ``aiscientist setup-local`` installs, and its self-test.

The build must not depend on the CPU of the machine that built it: the installed libraries
hold no AMX tile instruction and (the baseline) no AVX-512 register, whatever the build
machine advertised. Needs the ``local`` extra and ``aiscientist setup-local``.
"""

from __future__ import annotations

import shutil
import subprocess
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


@pytest.mark.slow
@needs_llama
def test_the_self_test_reports_a_build_that_cannot_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "lib" / "aiscientist-llama" / "broken"
    broken.mkdir(parents=True)
    (broken / "libllama.so").write_bytes(b"\x7fELF not really a library")
    monkeypatch.setattr(local_server, "LIB_VARIANTS_DIR", broken.parent)
    # the subprocess reads the variant directory from its own sys.prefix: point it there
    code = (
        "import sys; from pathlib import Path; import aiscientist.models.local_server as ls; "
        f"ls.LIB_VARIANTS_DIR = Path({str(broken.parent)!r}); "
        "from aiscientist.models import local_install as li; "
        "sys.exit(li.main(['--generate-once', '--variant', 'broken']))"
    )
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = proc.stdout.strip().splitlines()[-1]
    assert '"ok": false' in report
    assert "exited with code" in report and "log" in report, report
