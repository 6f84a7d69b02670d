#!/usr/bin/env bash
# Runs actionlint on the repository's GitHub workflows. It is built once from the Go module proxy
# into ~/.cache/veza-infra/actionlint/<version>/ (keyed by version, like scripts/toolchain.sh).
set -euo pipefail
version=v1.7.7
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${VEZA_CACHE_DIR:-$HOME/.cache/veza-infra}/actionlint/$version
if [[ ! -x $dir/actionlint ]]; then
  command -v go >/dev/null || { echo "actionlint: Go is needed to build actionlint $version once" >&2; exit 1; }
  echo "actionlint: building $version from the Go module proxy (once)" >&2
  GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$dir.tmp" go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
  mv "$dir.tmp" "$dir"
fi
cd "$repo"
exec "$dir/actionlint" "$@"
