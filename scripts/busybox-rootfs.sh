#!/usr/bin/env bash
# Writes a minimal busybox root filesystem as a tarball, from the host's static busybox
# (Debian: busybox-static), for `berth image import` — no registry needed.
# Usage: scripts/busybox-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: $0 OUT.tar}
bb=$(command -v busybox || true)
if [ -z "$bb" ]; then
  echo "busybox not found: apt-get install busybox-static" >&2
  exit 1
fi
if ! "$bb" --list >/dev/null 2>&1; then
  echo "$bb cannot list its applets" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/bin "$tmp"/etc "$tmp"/root "$tmp"/home/app "$tmp"/www "$tmp"/proc "$tmp"/sys "$tmp"/dev "$tmp"/run "$tmp"/var/log
install -m 0755 "$bb" "$tmp/bin/busybox"
while read -r applet; do
  [ "$applet" = busybox ] || ln -s busybox "$tmp/bin/$applet"
done < <("$bb" --list)
mkdir -m 1777 "$tmp/tmp"
cat > "$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$tmp/etc/group" <<'GROUP'
root:x:0:
app:x:1000:
nogroup:x:65534:
GROUP
chown 1000:1000 "$tmp/home/app" 2>/dev/null || true
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime='2024-01-01 00:00:00' -C "$tmp" -cf "$out" .
