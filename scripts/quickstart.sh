#!/usr/bin/env bash
# berth's quick start on a fresh Debian/Ubuntu machine (as root): installs the host
# packages, installs and builds berth, puts the host's static busybox into the build context
# of examples/images/busybox, then runs examples/web in the foreground: berth builds a busybox
# image FROM scratch and the web image on it (a multi-stage Dockerfile with a HEALTHCHECK),
# and runs busybox httpd serving http://127.0.0.1:8080. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-host-deps.sh
if [ ! -f dist/cli/main.js ] || [ ! -d node_modules ]; then
  npm ci
fi
scripts/busybox-context.sh
echo "berth: starting examples/web — open http://127.0.0.1:8080 (Ctrl-C stops it)"
exec node dist/cli/main.js up -f examples/web "$@"
