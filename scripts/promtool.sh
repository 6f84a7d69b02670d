#!/usr/bin/env bash
# Runs promtool (Prometheus' rule checker) with the given arguments, from the repository root.
# A promtool on PATH is used as it is; otherwise the one of Debian's `prometheus` package is
# unpacked once into ~/.cache/veza-infra/promtool/<version>/ with `apt-get download`: installing
# the package would also start a Prometheus server on this host, which nothing here needs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
if command -v promtool >/dev/null; then exec promtool "$@"; fi
version=$(apt-cache policy prometheus | awk '/Candidate:/ { print $2 }')
[[ -n $version && $version != "(none)" ]] || { echo "promtool: no prometheus package known to apt (run apt-get update)" >&2; exit 1; }
dir=${VEZA_CACHE_DIR:-$HOME/.cache/veza-infra}/promtool/$version
if [[ ! -x $dir/promtool ]]; then
  echo "promtool: unpacking it from Debian's prometheus $version (once)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # apt downloads as its own user _apt, which must be able to write there.
  chmod 1777 "$work"
  (cd "$work" && apt-get download "prometheus=$version" >/dev/null)
  dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool
  mkdir -p "$dir"
  mv "$work/usr/bin/promtool" "$dir/promtool"
  rm -rf "$work"
  trap - EXIT
fi
exec "$dir/promtool" "$@"
