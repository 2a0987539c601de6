#!/usr/bin/env bash
# Build the Docker sandbox's executor image with no container registry: a minimal Debian root
# filesystem made by mmdebstrap from Debian's own packages (the release and mirrors this
# machine's apt uses) with Python 3, git (agents commit in the sandbox's shell) and busybox
# (nc for the network tests), plus the ML libraries experiments import (numpy, pandas, scipy,
# scikit-learn, matplotlib: what agents/baseline.py's train.py and the bundled tasks use),
# loaded with `docker import`.
#
# The libraries are the versions of the project's own environment (.venv), installed from
# PyPI wheels, so an experiment behaves the same under the local and the Docker sandbox.
# Without a .venv they are Debian's packages (older: scikit-learn 1.2, pandas 1.5).
#
# Usage: scripts/build_executor_image.sh [--force] [IMAGE]   (default aiscientist-executor:bookworm)
# Built once per machine: an image already tagged IMAGE whose label records the same packages
# is kept (a changed .venv rebuilds it). Prints the build time and the image size.
set -euo pipefail
FORCE=0
if [ "${1:-}" = "--force" ]; then FORCE=1; shift; fi
IMAGE="${1:-aiscientist-executor:bookworm}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV_PY="$REPO/.venv/bin/python"
LIBS=(numpy pandas scipy scikit-learn matplotlib)
BASE="python3,python-is-python3,git,busybox,procps,ca-certificates"

say() { echo "build_executor_image: $*"; }

PINS=""
if [ -x "$VENV_PY" ] && "$VENV_PY" -m pip --version >/dev/null 2>&1; then
  PINS="$("$VENV_PY" -c 'import sys, importlib.metadata as m
print(" ".join(f"{p}=={m.version(p)}" for p in sys.argv[1:]))' "${LIBS[@]}")"
  PACKAGES="$BASE"
else
  PACKAGES="$BASE,python3-numpy,python3-pandas,python3-scipy,python3-sklearn"
  PACKAGES="$PACKAGES,python3-matplotlib,libopenblas0-pthread"
fi
LABEL="$PACKAGES;${PINS// /,}"

if ! docker info >/dev/null 2>&1; then
  say "no Docker engine answers; start one (scripts/setup_system.sh)" >&2
  exit 1
fi
# One build at a time per machine (two `make test`s at once): the second waits, then finds
# the first one's image current.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/aiscientist-executor-image.lock"
  flock 9
fi
have="$(docker image inspect -f '{{ index .Config.Labels "aiscientist.packages" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$FORCE" -eq 0 ] && [ "$have" = "$LABEL" ]; then
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
ROOT="$WORK/rootfs"
start=$(date +%s)
say "building $IMAGE from Debian $SUITE with mmdebstrap${PINS:+ and $PINS} (minutes, once)"
# No docs, man pages or translations, no apt lists or caches: the image only runs code.
mmdebstrap --mode="$MODE" --variant=minbase --include="$PACKAGES" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/include/*' \
  --dpkgopt='path-exclude=/usr/lib/*.a' --dpkgopt='path-exclude=/usr/lib/gcc/*' \
  --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/lib*san.so*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
  --customize-hook='mkdir -p "$1"/work && chmod 1777 "$1"/work' \
  "$SUITE" "$ROOT" "${MIRROR[@]}"

PY="$(basename "$(readlink -f "$ROOT/usr/bin/python3")")"  # python3.11
if [ -n "$PINS" ]; then
  # manylinux wheels for the image's Python, unpacked where Debian's python3 looks first
  SITE="$ROOT/usr/local/lib/$PY/dist-packages"
  # shellcheck disable=SC2086  # PINS is a list of requirements
  "$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-warn-conflicts \
    --target "$SITE" --only-binary=:all: --implementation cp \
    --python-version "${PY#python}" --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 $PINS
  rm -rf "$SITE/bin"  # console scripts naming the host's interpreter
fi
# test suites are a third of those libraries and no experiment imports them
find "$ROOT/usr/lib/python3" "$ROOT/usr/local/lib/$PY" -depth -type d -name tests \
  -exec rm -rf {} + 2>/dev/null || true
chroot "$ROOT" python3 -c "import numpy, pandas, scipy, sklearn.ensemble, matplotlib.pyplot"

tar -C "$ROOT" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' -c 'ENV PYTHONDONTWRITEBYTECODE=1' -c 'ENV MPLBACKEND=Agg' \
  -c "LABEL aiscientist.packages=$LABEL" -c "LABEL aiscientist.debian=$SUITE" \
  -c 'WORKDIR /work' -c 'CMD ["bash"]' \
  - "$IMAGE" >/dev/null
size=$(docker image inspect -f '{{ .Size }}' "$IMAGE")
say "built $IMAGE in $(($(date +%s) - start)) s, $((size / 1024 / 1024)) MiB"
