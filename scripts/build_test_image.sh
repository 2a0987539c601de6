#!/usr/bin/env bash
# Build the tiny image the Docker sandbox tests run in, with no registry: a rootfs holding a
# static busybox (sh, coreutils, nc, ip, ...) and a `bash` that execs it, loaded with
# `docker import`. Usage: scripts/build_test_image.sh [IMAGE]   (default aiscientist-test:busybox)
set -euo pipefail
IMAGE="${1:-aiscientist-test:busybox}"
BUSYBOX="$(command -v busybox || true)"
if [ -z "$BUSYBOX" ] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q static; then
  for c in /bin/busybox /usr/bin/busybox; do
    [ -x "$c" ] && BUSYBOX="$c"
  done
fi
if [ -z "$BUSYBOX" ]; then
  echo "build_test_image: busybox not found; apt-get install busybox-static" >&2
  exit 1
fi
ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,etc,tmp,dev,proc,sys,root,work}
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ -e "$ROOT/bin/$applet" ] || ln -s busybox "$ROOT/bin/$applet"
done
printf '#!/bin/sh\nexec /bin/sh "$@"\n' > "$ROOT/bin/bash"
chmod +x "$ROOT/bin/bash"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ROOT/etc/group"
tar -C "$ROOT" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
echo "build_test_image: built $IMAGE"
