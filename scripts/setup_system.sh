#!/usr/bin/env bash
# Install and start what the sandbox tests need: bubblewrap, and a Docker engine.
# Idempotent; never fails the build for an optional backend (the tests report what is missing).
set -u
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v git >/dev/null 2>&1 || need+=(git)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# a static busybox: the network tests' probe, and the rootfs of the sandbox benchmark's image
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
# builds the Docker sandbox's executor image from Debian's packages (no registry needed)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup_system: installing ${need[*]}"
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
    || echo "setup_system: could not install ${need[*]} (tests will report the missing backend)"
fi
if command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
  echo "setup_system: starting dockerd"
  ($SUDO nohup dockerd >/tmp/aiscientist-dockerd.log 2>&1 &)
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 && echo "setup_system: dockerd is up" \
    || echo "setup_system: dockerd did not start (see /tmp/aiscientist-dockerd.log)"
fi
# The image experiments run in under sandbox.kind=docker (and auto): built once per machine,
# kept by its tag (a few minutes the first time).
if docker info >/dev/null 2>&1; then
  bash "$(dirname "$0")/build_executor_image.sh" \
    || echo "setup_system: could not build the executor image (Docker tests will say why)"
fi
exit 0
