/**
 * The scripts that put HAProxy's files live on a node (bash on the Pulumi host, sh inside the
 * container): constant text, every value through the environment or quoted arguments. Run for
 * real against fakes in tests/unit/swapScripts.test.ts; goldens and shellcheck in scripts.test.ts.
 */
import * as path from "path";
import { ADMIN_SOCKET, STATS_PASSWORD_ENV, TLS_PEM_PATH } from "./haproxyConfig";
import { FILES_ROOT, INSTALL_NEXT, WRITE_FILE } from "../incus/incusScripts";
import { recordSha256 } from "../incus/liveState";
import { shellQuote } from "../common/shell";

/** Environment file the stats password reaches HAProxy through, so it never stands in haproxy.cfg or in state. */
const SECRETS_ENV = "/etc/haproxy/veza-secrets.env";
const SECRETS_DROPIN = "/etc/systemd/system/haproxy.service.d/veza-secrets.conf";
const HARDENING_DROPIN = "/etc/systemd/system/haproxy.service.d/veza-hardening.conf";
/** The live haproxy.cfg; its sha256 is recorded beside it when it goes live (liveState.ts). */
export const LIVE_CONFIG = "/etc/haproxy/haproxy.cfg";
const LIVE = LIVE_CONFIG;
const CANDIDATE = `${LIVE}.next`;

/**
 * Inside the container: installs the secrets file, its drop-in and the hardening drop-in written
 * beside them, enables the unit (the lab image leaves it disabled: only this container runs
 * HAProxy) and restarts HAProxy only when one of them changed or it is not running. A reload
 * keeps the master's environment and sandbox, so these changes take a restart: it happens when
 * the container is new, before any traffic, and when the password or the hardening changes.
 */
export const SETUP_IN_CONTAINER = `set -e
${INSTALL_NEXT}
install_next ${SECRETS_ENV}
install_next ${SECRETS_DROPIN}
install_next ${HARDENING_DROPIN}
systemctl enable --quiet --no-reload haproxy
[ "$(systemctl show -p NeedDaemonReload --value haproxy)" = no ] || systemctl daemon-reload
if $changed || ! systemctl is-active --quiet haproxy; then systemctl restart haproxy; fi`;

const SECRETS_DROPIN_TEXT = `[Service]\nEnvironmentFile=${SECRETS_ENV}\n`;

/** The files the set-up step installs whose content is known before anything runs, by path: what the preview compares with what is live. */
export function setupFiles(hardening: string): Record<string, string> {
  return { [SECRETS_DROPIN]: SECRETS_DROPIN_TEXT, [HARDENING_DROPIN]: hardening };
}

/**
 * The stats password (from VEZA_STATS_PASSWORD) as an environment file of haproxy.service, so
 * it stands neither in haproxy.cfg nor in any script; then {@link SETUP_IN_CONTAINER}.
 */
export const SETUP_SCRIPT = `write() { incus exec "$VEZA_REF" -- sh -c ${shellQuote(WRITE_FILE)} sh "$1.next" "$2"; }
printf '%s=%s\\n' ${STATS_PASSWORD_ENV} "$VEZA_STATS_PASSWORD" | write ${SECRETS_ENV} 0600
printf '%s' ${shellQuote(SECRETS_DROPIN_TEXT)} | write ${SECRETS_DROPIN} 0644
printf '%s' "$VEZA_HARDENING" | write ${HARDENING_DROPIN} 0644
incus exec "$VEZA_REF" -- sh -c ${shellQuote(SETUP_IN_CONTAINER)}`;

/**
 * Inside the container, staging: a new PEM (pushed beside the live one) is swapped in, the
 * candidate config is checked with it, and the copy of the live file a failed reload falls back
 * to is made now, so that the swap itself needs no free space. On rejection or a failed copy the
 * node is as it was ({@link UNSTAGE}) and HAProxy's own message is printed. A first PEM ever is
 * marked `.fresh` so that undoing it removes it rather than leaving it at the live path.
 */
export const CHECK_CANDIDATE = `set -eu
${FILES_ROOT}
pem="$root"${TLS_PEM_PATH}
candidate="$root"${CANDIDATE}
live="$root"${LIVE}
undo() { if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; elif [ -e "$pem.fresh" ]; then rm -f "$pem"; fi; rm -f "$pem.fresh" "$pem.next" "$candidate" "$live.previous"; }
# shellcheck source=/dev/null
set -a; . "$root"${SECRETS_ENV}; set +a
if [ -e "$pem.next" ]; then
  if [ -e "$pem" ]; then cp -p "$pem" "$pem.previous" || { undo; exit 1; }; else : > "$pem.fresh"; fi
  mv "$pem.next" "$pem"
fi
if ! haproxy -c -f "$candidate" 2>&1; then undo; exit 1; fi
if ! cp -p "$live" "$live.previous"; then echo "no room for the copy of the live configuration" >&2; undo; exit 1; fi`;

/**
 * Inside the container: undoes {@link CHECK_CANDIDATE} on a node whose staged config will not go
 * live because another node of the rollout could not stage it.
 */
export const UNSTAGE = `set -eu
${FILES_ROOT}
pem="$root"${TLS_PEM_PATH}
live="$root"${LIVE}
if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; elif [ -e "$pem.fresh" ]; then rm -f "$pem"; fi
rm -f "$pem.fresh" "$root"${CANDIDATE} "$live.previous"`;

/**
 * Inside the container: carry runtime state over (only when the live config names the same
 * state file, see haproxyConfig.ts), swap the checked candidate in, reload (master-worker: the new
 * worker takes over the listeners, nothing is refused), and wait for the new worker. When none
 * comes up, the previous file goes back: what is on disk stays what is serving.
 */
export const SWAP_AND_RELOAD = `set -eu
${FILES_ROOT}
live="$root"${LIVE}
socket="$root"${ADMIN_SOCKET}
state_file() { awk '$1 == "server-state-file" { print $2 }' "$1" 2>/dev/null; }
worker() { echo "show info" | socat stdio "$socket" 2>/dev/null | awk -F': ' '$1 == "Pid" { print $2 }'; }
state=$(state_file "$live.next")
# A stopped HAProxy leaves its socket file behind: no state to carry over then, and the restart
# below brings it back.
if [ -S "$socket" ] && [ "$state" = "$(state_file "$live")" ]; then
  echo "show servers state" | socat stdio "$socket" > "$root$state" 2>/dev/null || rm -f "$root$state"
else
  rm -f "$root$state"
fi
before=$(worker || true)
pem="$root"${TLS_PEM_PATH}
# The copy staging made ({@link CHECK_CANDIDATE}): the swap is a rename and needs no free space.
mv "$live.next" "$live"
if systemctl is-active --quiet haproxy; then systemctl reload haproxy; else systemctl enable --quiet haproxy; systemctl restart haproxy; fi
for _ in $(seq 1 100); do
  after=$(worker || true)
  if [ -n "$after" ] && [ "$after" != "$before" ]; then
    rm -f "$pem.previous" "$pem.fresh"
    ${recordSha256(LIVE)}
    exit 0
  fi
  sleep 0.1
done
mv "$live.previous" "$live"
if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; elif [ -e "$pem.fresh" ]; then rm -f "$pem" "$pem.fresh"; fi
journalctl -u haproxy -n 15 --no-pager -o cat >&2 || true
echo "HAProxy started no worker with the new configuration within 10 s; the previous file is back in place" >&2
exit 1`;

/**
 * Inside the container: sends the admin commands "$1" to the runtime API. Right after a reload the
 * socket can refuse a connection for a moment (seen once when a reload followed a start closely),
 * so it is asked again for up to 2 s.
 */
export const SET_SERVER_STATES = `${FILES_ROOT}
for _ in 1 2 3 4 5 6 7 8 9 10; do
  printf '%s\\n' "$1" | socat stdio "$root"${ADMIN_SOCKET} >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "HAProxy's admin socket refused the server states for 2 s" >&2
exit 1`;

/**
 * Bash functions that apply the rendered haproxy.cfg (VEZA_CONFIG) to nodes without ever breaking
 * one, in two phases so that a rollout over several nodes is never half-applied:
 *   `stage_on REF`   the candidate is written beside the live file, with the PEM named by
 *                    VEZA_TLS_PEM if any, and checked there by the container's own `haproxy -c`
 *                    ({@link CHECK_CANDIDATE}); on any failure it says why, leaves the node as it
 *                    was and returns 1 (a full disk, a rejected config, a PEM HAProxy refuses);
 *   `unstage_on REF` undoes a stage ({@link UNSTAGE}) when another node could not stage;
 *   `swap_on REF`    the staged candidate replaces the live file with a hitless reload, then the
 *                    servers' runtime states (VEZA_SERVER_STATES: one line of admin commands, drain
 *                    or ready) are set through the admin socket.
 */
export const APPLY_TO_NODE = `stage_on() {
  local ref=$1 verdict
  if ! printf '%s' "$VEZA_CONFIG" | incus exec "$ref" -- sh -c ${shellQuote(WRITE_FILE)} sh ${CANDIDATE} 0644; then
    printf 'Could not write the new configuration in %s (above: why, e.g. a full disk); the live one keeps serving.\\n' "$ref" >&2
    return 1
  fi
  if [ -n "$VEZA_TLS_PEM" ] && ! {
    incus exec "$ref" -- install -d -m 0750 -g haproxy ${path.posix.dirname(TLS_PEM_PATH)} &&
      incus file push --quiet --mode 0640 "$VEZA_TLS_PEM" "$ref${TLS_PEM_PATH}.next" >&2 &&
      incus exec "$ref" -- chgrp haproxy ${TLS_PEM_PATH}.next
  }; then
    printf 'Could not push the PEM to %s (above: why); the live configuration keeps serving.\\n' "$ref" >&2
    incus exec "$ref" -- rm -f ${CANDIDATE} ${TLS_PEM_PATH}.next || true
    return 1
  fi
  if ! verdict=$(incus exec "$ref" -- sh -c ${shellQuote(CHECK_CANDIDATE)} 2>&1); then
    printf 'HAProxy in %s rejected the new configuration; the live one keeps serving.\\n%s\\n' "$ref" "$verdict" >&2
    return 1
  fi
}
unstage_on() { incus exec "$1" -- sh -c ${shellQuote(UNSTAGE)}; }
swap_on() {
  incus exec "$1" -- sh -c ${shellQuote(SWAP_AND_RELOAD)}
  # One line of \`;\`-separated commands: the admin socket runs them all, one \`incus exec\` in all.
  [ -z "$VEZA_SERVER_STATES" ] || incus exec "$1" -- sh -c ${shellQuote(SET_SERVER_STATES)} sh "$VEZA_SERVER_STATES"
}`;

/** Applies the config to the node VEZA_REF ({@link APPLY_TO_NODE}) and prints the config's sha256. */
export const APPLY_CONFIG_SCRIPT = `${APPLY_TO_NODE}
stage_on "$VEZA_REF" || exit 1
swap_on "$VEZA_REF"
printf '%s\\n' "$VEZA_CONFIG_SHA256"`;
