#!/usr/bin/env bash
# Every test: type-check, lint, unit tests (with the real `haproxy -c`), a real `pulumi preview`
# of the lab stack, then the lab tier against real Incus containers. Outside CI the lab tier is
# skipped, loudly, when this machine cannot run Incus; under CI=true it always runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d node_modules ]] && npm ls --silent >/dev/null 2>&1 || npm ci --ignore-scripts --no-audit --no-fund
if [[ "${CI:-}" == true ]] && ! command -v haproxy >/dev/null; then
  bash scripts/lab-host.sh
fi
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }
step "type-check";  npx tsc --noEmit
step "lint";        npx eslint .
step "unit tests";  npx jest --selectProjects unit
step "pulumi preview -s lab (real engine)"
select_stack lab
pulumi preview --stack lab --non-interactive --diff

if [[ "${CI:-}" != true ]] && { [[ $(id -u) != 0 ]] || ! command -v incus >/dev/null; }; then
  printf '\n!! SKIPPING THE LAB TIER: it needs root and Incus (run scripts/lab-host.sh), and this is not CI.\n' >&2
  exit 0
fi
step "lab tier (real Incus, real HAProxy, real engine)"
bash scripts/lab-host.sh
npx jest --selectProjects lab --runInBand
