#!/usr/bin/env bash
# Every test: type-check, lint (code and GitHub workflows), unit tests (with the real `haproxy -c`),
# a real `pulumi preview` of the lab stack with the policy pack, then the lab tier against real
# Incus containers. Outside CI the lab tier is skipped, loudly, when this machine cannot run
# Incus; under CI=true it always runs.
set -euo pipefail
cd "$(dirname "$0")/.."

lab_tier=true
if [[ "${CI:-}" != true ]] && { [[ $(id -u) != 0 ]] || ! command -v incus >/dev/null; }; then
  lab_tier=false
fi
# The lab host set-up also installs haproxy, which the unit tests run as `haproxy -c`.
if $lab_tier; then bash scripts/lab-host.sh; fi
if ! { [[ -d node_modules ]] && npm ls --silent >/dev/null 2>&1; }; then npm ci --ignore-scripts --no-audit --no-fund; fi
# The policy pack has its own dependencies (@pulumi/policy), which Pulumi loads from policy/.
if ! { [[ -d policy/node_modules ]] && npm ls --prefix policy --silent >/dev/null 2>&1; }; then npm ci --prefix policy --ignore-scripts --no-audit --no-fund; fi
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }
# One closing line over every jest run, in the plain form CI reads: "tests: N passed, N failed, N skipped".
results=$(mktemp -d)
summarize() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs"); const dir = process.argv[1]; let p = 0, f = 0, s = 0;
    for (const file of fs.readdirSync(dir)) {
      const r = JSON.parse(fs.readFileSync(dir + "/" + file, "utf8"));
      p += r.numPassedTests; f += r.numFailedTests + r.numRuntimeErrorTestSuites; s += r.numPendingTests;
    }
    console.log(`tests: ${p} passed, ${f} failed, ${s} skipped`);' "$results"
}
trap summarize EXIT

step "type-check";  npx tsc --noEmit
step "format";      npx prettier --check .
step "lint";        npx eslint .
step "shellcheck (the project's own scripts)"; shellcheck scripts/*.sh tests/*.sh
step "policy pack type-check"; (cd policy && npx tsc --noEmit)
step "alert rules (promtool)"
bash scripts/promtool.sh check rules monitoring/alerts.yml
bash scripts/promtool.sh test rules monitoring/alerts.test.yml
step "workflows (actionlint)"; bash scripts/actionlint.sh
step "unit tests";  npx jest --selectProjects unit --json --outputFile "$results/unit.json"
step "build (bin/, what Pulumi runs; incremental)"; node scripts/build.js
step "pulumi preview -s lab with the policy pack (real engine)"
select_stack lab
pulumi preview --stack lab --non-interactive --diff --policy-pack policy

if ! $lab_tier; then
  printf '\n!! SKIPPING THE LAB TIER: it needs root and Incus (run scripts/lab-host.sh), and this is not CI.\n' >&2
  exit 0
fi
step "lab tier (real Incus, real HAProxy, real engine)"
npx jest --selectProjects lab --runInBand --json --outputFile "$results/lab.json"
