#!/usr/bin/env bash
# Provides the pinned Pulumi toolchain and prints the directory to put first on PATH.
# Uses a `pulumi` already on PATH when it has the pinned version; otherwise builds the CLI and
# the Node.js language host from the Go module proxy into ~/.cache, keyed by version, once.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
pulumi_version=v$(node -p "require('$repo/package.json').dependencies['@pulumi/pulumi']")
langhost_sdk_version=$(awk '$1 == "require" && $2 == "github.com/pulumi/pulumi/sdk/v3" { print $3 }' "$repo/toolchain/langhost/go.mod")
cache=${VEZA_CACHE_DIR:-$HOME/.cache/veza-infra}
bin="$cache/pulumi/$pulumi_version-langhost-$langhost_sdk_version/bin"

log() { printf 'toolchain: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
  # @pulumi/pulumi 3.248 is the newest release that supports Node.js 20; older Node.js is not supported.
  node_dir="$cache/node-20"
  if [[ ! -x "$node_dir/node_modules/.bin/node" ]]; then
    log "Node.js $(node --version) is older than 20: installing Node.js 20 from the npm registry into $node_dir"
    npm install --silent --prefix "$node_dir" node@20 >&2
  fi
  printf '%s\n' "$node_dir/node_modules/.bin"
fi

ambient=$(command -v pulumi || true)
if [[ -n "$ambient" && "$(pulumi version 2>/dev/null)" == "$pulumi_version" ]] \
  && [[ -x "$(dirname "$ambient")/pulumi-language-nodejs" ]]; then
  log "using $ambient ($pulumi_version)"
  printf '%s\n' "$(dirname "$ambient")"
  exit 0
fi

if [[ -x "$bin/pulumi" && -x "$bin/pulumi-language-nodejs" && -x "$bin/pulumi-resource-pulumi-nodejs" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi

command -v go >/dev/null || { log "Go is needed to build the Pulumi CLI ($pulumi_version) and none is on PATH"; exit 1; }
mkdir -p "$bin"
export GOFLAGS=-mod=mod CGO_ENABLED=0
started=$SECONDS
log "building pulumi $pulumi_version from the Go module proxy (a few minutes, once)"
(cd "$repo/toolchain/cli" && go build -trimpath \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
  -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
log "building pulumi-language-nodejs from github.com/pulumi/pulumi/sdk/v3@$langhost_sdk_version"
(cd "$repo/toolchain/langhost" && go build -trimpath \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$langhost_sdk_version" \
  -o "$bin/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
# The dynamic-provider launcher ships in the SDK module of the pinned version; the engine finds it beside `pulumi`.
sdk_dir=$(cd "$repo/toolchain/cli" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"
mv "$bin/pulumi.tmp" "$bin/pulumi"
log "built in $((SECONDS - started)) s into $bin"
printf '%s\n' "$bin"
