#!/usr/bin/env bash
# Build the Docker sandbox's executor image with no container registry: a minimal Debian root
# filesystem made by mmdebstrap from Debian's own packages (the release and mirrors this
# machine's apt uses), holding Python 3 with numpy, pandas, scipy and scikit-learn (what the
# bundled tasks' experiments and agents/baseline.py's train.py import), git (agents commit in
# the sandbox's shell) and busybox (nc for the network tests), loaded with `docker import`.
#
# Usage: scripts/build_executor_image.sh [--force] [IMAGE]   (default aiscientist-executor:bookworm)
# Built once per machine: an image already tagged IMAGE whose package label matches the list
# below is kept. Prints the build time and the image size.
set -euo pipefail
FORCE=0
if [ "${1:-}" = "--force" ]; then FORCE=1; shift; fi
IMAGE="${1:-aiscientist-executor:bookworm}"
PACKAGES="python3,python-is-python3,python3-numpy,python3-pandas,python3-scipy,python3-sklearn,libopenblas0-pthread,git,busybox,procps,ca-certificates"

say() { echo "build_executor_image: $*"; }

if ! docker info >/dev/null 2>&1; then
  say "no Docker engine answers; start one (scripts/setup_system.sh)" >&2
  exit 1
fi
have="$(docker image inspect -f '{{ index .Config.Labels "aiscientist.packages" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$FORCE" -eq 0 ] && [ "$have" = "$PACKAGES" ]; then
  say "$IMAGE is present (scripts/build_executor_image.sh --force rebuilds it)"
  exit 0
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  say "mmdebstrap not found; apt-get install mmdebstrap" >&2
  exit 1
fi

# The host's Debian release and mirrors when it is Debian (so a snapshot or local mirror the
# machine is configured with is used); bookworm from deb.debian.org otherwise.
SUITE=bookworm
MIRROR=()
if [ -r /etc/os-release ] && . /etc/os-release && [ "${ID:-}" = debian ] \
  && [ -n "${VERSION_CODENAME:-}" ]; then
  SUITE="$VERSION_CODENAME"
  [ -r /etc/apt/sources.list.d/debian.sources ] && MIRROR=(/etc/apt/sources.list.d/debian.sources)
fi
MODE=auto
[ "$(id -u)" -eq 0 ] && MODE=root

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
say "building $IMAGE from Debian $SUITE with mmdebstrap (a few minutes the first time)"
# No docs, man pages or translations; no apt lists or caches; no compiler internals, C
# headers, sanitizer or static libraries, test suites (python3-scipy depends on pythran, which
# pulls in g++ and the boost headers): the image only runs code.
mmdebstrap --mode="$MODE" --variant=minbase --include="$PACKAGES" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/include/*' \
  --dpkgopt='path-exclude=/usr/lib/*.a' --dpkgopt='path-exclude=/usr/lib/gcc/*' \
  --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/lib*san.so*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
  --customize-hook='mkdir -p "$1"/work && chmod 1777 "$1"/work' \
  --customize-hook='find "$1"/usr/lib/python3/dist-packages -depth -type d -name tests -exec rm -rf {} +' \
  --customize-hook='chroot "$1" python3 -c "import numpy, pandas, scipy, sklearn.ensemble, sklearn.model_selection"' \
  "$SUITE" "$WORK/rootfs.tar" "${MIRROR[@]}"
docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' -c 'ENV PYTHONDONTWRITEBYTECODE=1' \
  -c "LABEL aiscientist.packages=$PACKAGES" -c "LABEL aiscientist.debian=$SUITE" \
  -c 'WORKDIR /work' -c 'CMD ["bash"]' \
  "$WORK/rootfs.tar" "$IMAGE" >/dev/null
size=$(docker image inspect -f '{{ .Size }}' "$IMAGE")
say "built $IMAGE in $(($(date +%s) - start)) s, $((size / 1024 / 1024)) MiB"
