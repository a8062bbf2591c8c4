#!/usr/bin/env bash
# Puts the host's static busybox (Debian: busybox-static) into the build context of
# examples/images/busybox, whose Dockerfile builds a busybox image FROM scratch — no registry
# needed. Usage: scripts/busybox-context.sh [CONTEXT_DIR]
set -euo pipefail
dir=${1:-"$(dirname "$0")/../examples/images/busybox"}
bb=$(command -v busybox || true)
if [ -z "$bb" ]; then
  echo "busybox not found: apt-get install busybox-static" >&2
  exit 1
fi
if ! "$bb" --list >/dev/null 2>&1; then
  echo "$bb cannot list its applets" >&2
  exit 1
fi
# beside, then renamed: a build never reads half a binary
tmp=$(mktemp "$dir/.busybox.XXXXXX")
install -m 0755 "$bb" "$tmp"
mv -f "$tmp" "$dir/busybox"
