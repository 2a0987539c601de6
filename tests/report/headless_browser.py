"""Open a page in headless Chromium (Debian's ``chromium``): the DOM after its scripts ran, the
browser's console lines, and a screenshot a reviewer can open.

Chromium logs every console message (log, error, an uncaught exception, a failed fetch) as an
``INFO:CONSOLE`` line on stderr with ``--enable-logging=stderr``; a page that is right logs none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "bench-results" / "screenshots"


def chromium() -> str:
    """The Chromium binary; a failure naming ``make system`` when it is missing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "headless Chromium is not installed: run `make system` (scripts/setup_system.sh "
            "installs Debian's chromium package) and run the tests again"
        )
    return path


@dataclass(frozen=True)
class Page:
    dom: str
    """The serialised DOM after the page's scripts ran."""
    console: list[str]
    """Console lines the page logged (errors, uncaught exceptions, failed loads)."""


def _run(args: list[str], profile: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        f"--user-data-dir={profile}",
        # any attempt to reach the network fails (and is logged) instead of hanging
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def open_page(page: Path, fragment: str = "") -> Page:
    """Load ``page`` (plus ``#fragment``) and return its DOM and console lines."""
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        out = _run(["--dump-dom", url], profile)
    assert out.returncode == 0, out.stderr[-3000:]
    console = [ln for ln in out.stderr.splitlines() if re.search(r":CONSOLE[:(]", ln)]
    return Page(out.stdout, console)


def screenshot(page: Path, name: str, size: tuple[int, int] = (1280, 2600)) -> Path:
    """A PNG of ``page`` in ``bench-results/screenshots/NAME.png``; returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        out = _run(
            [
                f"--screenshot={shot}",
                f"--window-size={size[0]},{size[1]}",
                "--hide-scrollbars",
                page.resolve().as_uri(),
            ],
            profile,
        )
    assert out.returncode == 0 and shot.is_file(), out.stderr[-3000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return shot


def no_network_refs(html: str) -> list[str]:
    """Attributes or CSS that would make a browser fetch something (none in a self-contained
    page; SVG namespace declarations are names, not fetches)."""
    pattern = r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import"""
    return re.findall(pattern, html, flags=re.IGNORECASE)
