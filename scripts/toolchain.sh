#!/usr/bin/env bash
# Provides the pinned Pulumi toolchain and prints the directory to put first on PATH:
# - the `pulumi` CLI and `pulumi-language-nodejs` at the version of @pulumi/pulumi in package.json;
# - the `command` and `random` resource plugins at the versions of @pulumi/command and @pulumi/random
#   (a package and its plugin must match), installed into Pulumi's plugin cache.
# Everything is taken the ordinary way when it can be (a `pulumi` already on PATH, `pulumi plugin
# install`), and otherwise built once with Go into ~/.cache, keyed by version: the CLI from the Go
# module proxy, the language host and the plugins from the upstream source archives that the proxy
# refuses to serve (VEZA_UPSTREAM_DIR, default ../shared/upstream beside the checkout), each checked
# against the sha256 listed in that folder's README before it is unpacked.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VEZA_CACHE_DIR:-$HOME/.cache/veza-infra}
upstream=${VEZA_UPSTREAM_DIR:-$repo/../shared/upstream}
# `pulumi plugin install` downloads from Pulumi's servers; where they are unreachable it must fail
# fast, not hang the set-up.
download_timeout=${VEZA_PLUGIN_DOWNLOAD_TIMEOUT:-20}

log() { printf 'toolchain: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# One set-up at a time per cache: two at once (a test run and `npm run lab` from another checkout)
# would build into the same temporary files, and one would move the other's away.
mkdir -p "$cache"
exec 9>"$cache/.toolchain.lock"
flock 9
package_version() { node -p "require('$repo/package.json').devDependencies['$1']"; }

pulumi_version=v$(package_version @pulumi/pulumi)
bin="$cache/pulumi/$pulumi_version/bin"

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

# The sha256 that the upstream README lists for an archive: its table row names the file in
# backticks and ends with the 64-hex-digit sum.
listed_sha256() {
  awk -v file="\`$1\`" -F'|' 'index($2, file) { gsub(/ /, "", $(NF-1)); print $(NF-1) }' "$upstream/README.md"
}

# Unpacks a checked upstream archive into the work directory $work.
unpack_upstream() {
  local archive=$1 expected actual
  [[ -f "$upstream/README.md" ]] || die "no $upstream/README.md: set VEZA_UPSTREAM_DIR to the folder of the upstream source archives"
  [[ -f "$upstream/$archive" ]] || die "missing upstream archive $upstream/$archive"
  expected=$(listed_sha256 "$archive")
  [[ $expected =~ ^[0-9a-f]{64}$ ]] || die "$upstream/README.md lists no sha256 for $archive"
  actual=$(sha256sum "$upstream/$archive" | cut -d' ' -f1)
  [[ $actual == "$expected" ]] || die "checksum mismatch for $upstream/$archive: sha256 $actual, README lists $expected"
  tar -xzf "$upstream/$archive" -C "$work"
}

go_env() {
  command -v go >/dev/null || die "Go is needed to build $1 and none is on PATH"
  export GOFLAGS=-mod=mod CGO_ENABLED=0
}

build_cli() {
  go_env "the Pulumi CLI ($pulumi_version)"
  log "building pulumi $pulumi_version from the Go module proxy (a few minutes, once)"
  (cd "$repo/toolchain/cli" && go build -trimpath \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
    -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mv "$bin/pulumi.tmp" "$bin/pulumi"
}

# The language host's own module is refused by the proxy; its source comes from the upstream
# archive, built against the pinned SDK and pkg modules (which the proxy serves) instead of the
# repository-local replaces it ships with.
build_langhost() {
  go_env "pulumi-language-nodejs $pulumi_version"
  log "building pulumi-language-nodejs $pulumi_version from $upstream"
  unpack_upstream "pulumi-language-nodejs-$pulumi_version.tar.gz"
  (cd "$work/pulumi-$pulumi_version/sdk/nodejs/cmd/pulumi-language-nodejs" \
    && go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
      -require "github.com/pulumi/pulumi/pkg/v3@$pulumi_version" -require "github.com/pulumi/pulumi/sdk/v3@$pulumi_version" \
    && go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
      -o "$bin/pulumi-language-nodejs.tmp" .)
  mv "$bin/pulumi-language-nodejs.tmp" "$bin/pulumi-language-nodejs"
}

# Builds a resource plugin from its upstream archive into $2 (a file path).
build_plugin() {
  local name=$1 out=$2 version=$3
  go_env "the $name $version plugin"
  log "building resource plugin $name $version from $upstream"
  case $name in
    command)
      unpack_upstream "pulumi-command-v$version-provider.tar.gz"
      unpack_upstream "pulumi-go-provider-v1.3.0.tar.gz"
      (cd "$work/pulumi-command-v$version/provider" \
        && go mod edit -replace "github.com/pulumi/pulumi-go-provider=$work/pulumi-go-provider-v1.3.0" \
        && go build -trimpath -ldflags "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$version" \
          -o "$out" ./cmd/pulumi-resource-command) ;;
    random)
      unpack_upstream "pulumi-random-v$version-provider.tar.gz"
      # main.go embeds the schema that generate.go writes.
      (cd "$work/pulumi-random-v$version/provider/cmd/pulumi-resource-random" && VERSION=$version go run ./generate.go >&2)
      (cd "$work/pulumi-random-v$version/provider" \
        && go build -trimpath -ldflags "-X github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version=$version" \
          -o "$out" ./cmd/pulumi-resource-random) ;;
    *) die "no recipe to build resource plugin $name" ;;
  esac
}

# Where `pulumi plugin install` puts a plugin; a `.partial` marker beside it means an install broke off.
plugin_installed() {
  local dir=${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-$1-v$2
  [[ -x $dir/pulumi-resource-$1 && ! -e $dir.partial ]]
}

ensure_plugin() {
  local name=$1 version=$2 built
  plugin_installed "$name" "$version" && return 0
  if timeout "$download_timeout" "$bin/pulumi" plugin install resource "$name" "$version" >/dev/null 2>&1; then
    log "installed resource plugin $name $version with pulumi plugin install"
    return 0
  fi
  built="$cache/plugins/$name-$version/pulumi-resource-$name"
  if [[ ! -x $built ]]; then
    log "pulumi plugin install resource $name $version did not work here (offline?): building it"
    mkdir -p "$(dirname "$built")"
    build_plugin "$name" "$built.tmp" "$version"
    mv "$built.tmp" "$built"
  fi
  "$bin/pulumi" plugin install resource "$name" "$version" --file "$built" >&2
  log "installed resource plugin $name $version from $built"
}

ambient=$(command -v pulumi || true)
if [[ -n $ambient && "$(pulumi version 2>/dev/null)" == "$pulumi_version" && -x "$(dirname "$ambient")/pulumi-language-nodejs" ]]; then
  bin=$(dirname "$ambient")
else
  mkdir -p "$bin"
fi

started=$SECONDS
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
[[ -x "$bin/pulumi" ]] || build_cli
[[ -x "$bin/pulumi-language-nodejs" ]] || build_langhost
ensure_plugin command "$(package_version @pulumi/command)"
ensure_plugin random "$(package_version @pulumi/random)"
(( SECONDS - started < 2 )) || log "toolchain ready in $((SECONDS - started)) s: $bin"
printf '%s\n' "$bin"
