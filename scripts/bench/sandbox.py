"""Start-up overhead per sandboxed run: bare subprocess vs LocalSandbox (plain, bubblewrap)
vs DockerSandbox. Prints a table, writes bench-results/sandbox.json.

    .venv/bin/python scripts/bench/sandbox.py [-n 20] [--image aiscientist-test:busybox]

The Docker image is the offline busybox test image (built by scripts/build_test_image.sh
when missing); it has no Python, so ``python -c pass`` is not measured there.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aiscientist.sandbox import LocalSandbox, Sandbox, docker_ready

REPO = Path(__file__).resolve().parents[2]
COMMANDS = {"true": "true", "python -c pass": "python -c pass"}


def measure(fn: Callable[[], object], n: int) -> dict[str, float]:
    fn()  # warm-up (page cache, image layers)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "mean_ms": statistics.fmean(times),
        "n": n,
    }


def sandbox_runner(sb: Sandbox, command: str, workdir: Path) -> Callable[[], object]:
    def run() -> object:
        res = sb.run(command, workdir, timeout=120)
        if res.status != "ok":
            raise RuntimeError(f"{sb.name}: {command!r} -> {res.status}: {res.reason}")
        return res

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=20, help="repetitions per cell")
    ap.add_argument("--image", default="aiscientist-test:busybox", help="Docker image")
    args = ap.parse_args()

    backends: dict[str, Sandbox | None] = {"bare subprocess": None}
    backends["LocalSandbox (no bwrap)"] = LocalSandbox(use_bwrap=False)
    if LocalSandbox().use_bwrap:
        backends["LocalSandbox (bwrap)"] = LocalSandbox(use_bwrap=True)
    ok, why = docker_ready(args.image)
    if not ok and "not present" in why:
        subprocess.run(["bash", str(REPO / "scripts/build_test_image.sh"), args.image], check=False)
        ok, why = docker_ready(args.image)
    if ok:
        from aiscientist.sandbox.docker_sandbox import DockerSandbox

        backends["DockerSandbox"] = DockerSandbox(image=args.image)
    else:
        print(f"Docker skipped: {why}", file=sys.stderr)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name, sb in backends.items():
            for label, command in COMMANDS.items():
                if name == "DockerSandbox" and command.startswith("python"):
                    continue
                if sb is None:
                    py = str(Path(sys.executable).parent / "python")
                    argv = ["bash", "-c", command.replace("python", py, 1)]

                    def fn(argv: list[str] = argv) -> object:
                        return subprocess.run(argv, cwd=workdir, capture_output=True, check=True)
                else:
                    fn = sandbox_runner(sb, command, workdir)
                stats = measure(fn, args.n)
                rows.append({"backend": name, "command": label, **stats})
                print(f"  {name:26s} {label:16s} p50 {stats['p50_ms']:8.1f} ms", file=sys.stderr)

    print("\n| backend | command | p50 ms | p95 ms | mean ms |\n|---|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | `{r['command']}` | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} "
            f"| {r['mean_ms']:.1f} |"
        )
    out = REPO / "bench-results" / "sandbox.json"
    out.parent.mkdir(exist_ok=True)
    meta = {"machine": platform.platform(), "python": sys.version.split()[0], "n": args.n}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
