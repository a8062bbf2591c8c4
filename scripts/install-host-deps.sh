#!/usr/bin/env bash
# Installs the host packages berth's embedded runtime needs; with --tests, also those its
# tests need. Debian/Ubuntu: installs them with apt-get (as root). Elsewhere: says what to
# install. Usage: scripts/install-host-deps.sh [--tests]
set -euo pipefail

# runc (OCI runtime), conmon (shim), busybox-static (the example and test images),
# attr (setfattr: overlay opaque-directory markers), iproute2 (bridges, veths, netns),
# util-linux, iptables (berth's own chains: published ports, masquerade, isolation) and
# conntrack (flushes stale UDP flows when a UDP port mapping changes), tini (its static
# /usr/bin/tini-static is the init of containers with init: true).
packages=(runc conmon busybox-static iproute2 util-linux attr iptables conntrack tini)
# Commands that prove each package is present, in the same order.
commands=(runc conmon busybox ip nsenter setfattr iptables conntrack tini-static)
if [ "${1:-}" = "--tests" ]; then
  # docker.io: the image interop test runs a private dockerd (its own state dir, no iptables).
  # docker-registry: the registry tests start their own (127.0.0.1 only, their own config);
  # openssl makes the token-auth test's certificate.
  # tmux: the terminal tests (exec -it, attach, run -it) type into a real terminal.
  packages+=(docker.io docker-registry openssl tmux)
  commands+=(dockerd docker-registry openssl tmux)
fi

missing=()
for i in "${!packages[@]}"; do
  command -v "${commands[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "berth needs these host packages, which this script installs only on Debian/Ubuntu:" >&2
  echo "  ${missing[*]}" >&2
  echo "Install them with your distribution's package manager (e.g. dnf install runc conmon busybox)." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "installing ${missing[*]} needs root: run 'sudo $0'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
