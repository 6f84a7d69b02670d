#!/usr/bin/env bash
# Brings the lab up on this machine from nothing: toolchain, Incus lab host and image, npm
# dependencies, the program's build (bin/), then `pulumi up -s lab`. Every step is idempotent; a
# second run is fast.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/lab-host.sh
if ! { [[ -d node_modules ]] && npm ls --silent >/dev/null 2>&1; }; then npm ci --ignore-scripts --no-audit --no-fund; fi
# What Pulumi runs (pulumi-main.js): the program compiled to bin/, rebuilt only when a source changed.
node scripts/build.js
source scripts/env.sh
select_stack lab
pulumi up --stack lab --yes --non-interactive --skip-preview "$@"
