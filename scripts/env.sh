# shellcheck shell=bash
# Sourced by the project's scripts: the pinned Pulumi toolchain first on PATH, a local file backend
# outside git, the lab's secrets passphrase (override by exporting PULUMI_CONFIG_PASSPHRASE or
# PULUMI_CONFIG_PASSPHRASE_FILE), and no update checks.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
toolchain_dirs=$(bash "$repo/scripts/toolchain.sh")
for dir in $toolchain_dirs; do PATH="$dir:$PATH"; done
export PATH
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://${XDG_STATE_HOME:-$HOME/.local/state}/veza-infra/pulumi}
mkdir -p "${PULUMI_BACKEND_URL#file://}"
if [[ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-veza-lab}
fi
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true

# Selects the stack, creating it on first use. A stack made by the releases that ran every step
# through a dynamic provider is first moved onto @pulumi/command and @pulumi/random, once, without
# touching its containers (scripts/migrateState.ts says what it does as it does it).
select_stack() {
  (cd "$repo" && { pulumi stack select "$1" 2>/dev/null || pulumi stack init "$1" --non-interactive; })
  # grep reads to the end: -q would stop at the first match and fail the export (pipefail, SIGPIPE).
  if (cd "$repo" && pulumi stack export --stack "$1" | grep '"type": "pulumi-nodejs:dynamic' >/dev/null); then
    (cd "$repo" && npx ts-node --transpile-only scripts/migrateState.ts "$1")
  fi
}
