/**
 * The scripts of a {@link HaproxyPair}: keepalived's config checked and installed on a node, and
 * haproxy.cfg rolled out to both nodes. Constant text, values through the environment only.
 */
import { APPLY_TO_NODE } from "./haproxyScripts";
import { FILES_ROOT, INSTALL_NEXT, WRITE_FILE } from "../incus/incusScripts";
import { KEEPALIVED_CONF_PATH } from "./keepalivedConfig";
import { recordSha256 } from "../incus/liveState";
import { shellQuote } from "../common/shell";

/** How long connections already open to the address are served after it moved: their answers are on the way. */
export const HANDOVER_DRAIN_SECONDS = 2;

/**
 * keepalived's stop on a node (the drop-in's ExecStop; "$1" keepalived's main pid, "$2" its
 * keepalived.conf), whatever stops it: the program's delete step before the node's container goes,
 * `incus stop`, an evacuation, the host's shutdown. The peer takes the address as soon as keepalived
 * exits (its priority-0 advert). A node that held the address would leave the connections open to it
 * without their replies (nothing is sent from an address no longer local) and the clients' next
 * packets would reach the peer, which resets them: the address stays on `lo` as a /32 for
 * {@link HANDOVER_DRAIN_SECONDS}, eth0 answering ARP only for its own addresses (so no client learns
 * this node's MAC for it), and what HAProxy is answering still leaves while every new connection
 * goes to the peer. The addresses are those of keepalived.conf's `virtual_ipaddress` block, as
 * keepalivedConfig.ts renders it.
 */
export const HAND_OVER_SCRIPT = `#!/bin/sh
pid=$1
vips=$(awk '/virtual_ipaddress/ { inside = 1; next } inside && /}/ { inside = 0 } inside { sub("/.*", "", $1); print $1 }' "$2")
held=
for vip in $vips; do
  if ip -4 -o addr show dev eth0 | grep -F " $vip/" >/dev/null; then held="$held $vip"; fi
done
if [ -n "$held" ]; then
  sysctl -qw net.ipv4.conf.eth0.arp_ignore=1
  for vip in $held; do ip addr add "$vip/32" dev lo; done
fi
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
if [ -n "$held" ]; then
  sleep ${HANDOVER_DRAIN_SECONDS}
  for vip in $held; do ip addr del "$vip/32" dev lo; done
fi
`;

/** Where a node keeps {@link HAND_OVER_SCRIPT}. */
export const HAND_OVER_PATH = "/usr/local/lib/veza/keepalived-hand-over";

/**
 * A systemd drop-in for keepalived.service on a node. systemd stops units in the reverse of their
 * start order, and with none between them it stops keepalived and HAProxy at once: a node shut
 * down while it held the address could refuse connections on it for a moment. Started after
 * HAProxy, keepalived stops before it, by {@link HAND_OVER_SCRIPT}, and only then does HAProxy stop.
 */
export const KEEPALIVED_STOPS_FIRST = {
  path: "/etc/systemd/system/keepalived.service.d/veza-stops-first.conf",
  text: `[Unit]
# Stop before HAProxy, so the peer holds the virtual IP before this node stops serving it.
After=haproxy.service

[Service]
ExecStop=${HAND_OVER_PATH} $MAINPID ${KEEPALIVED_CONF_PATH}
`,
};

/** The environment entries carrying the files {@link KEEPALIVED_IN_CONTAINER} installs beside keepalived.conf: constants. */
export const KEEPALIVED_FILES = { VEZA_HAND_OVER: HAND_OVER_SCRIPT, VEZA_STOPS_FIRST: KEEPALIVED_STOPS_FIRST.text };

/**
 * Inside a node: checks the keepalived.conf written beside the live one with keepalived's own
 * parser, installs it when it changed, and reloads keepalived (a reload keeps the address where
 * it is; a restart would drop it and move every connection) or starts it if it is not running.
 * First installs "$1" and "$2", {@link HAND_OVER_SCRIPT} and {@link KEEPALIVED_STOPS_FIRST}'s text.
 */
export const KEEPALIVED_IN_CONTAINER = `set -e
${FILES_ROOT}
conf="$root"${KEEPALIVED_CONF_PATH}
if ! verdict=$(keepalived -t -f "$conf.next" 2>&1); then
  rm -f "$conf.next"
  echo "keepalived rejected the new configuration; the live one stays: $verdict" >&2
  exit 1
fi
${INSTALL_NEXT}
handover="$root"${HAND_OVER_PATH}
order="$root"${KEEPALIVED_STOPS_FIRST.path}
mkdir -p "\${handover%/*}" "\${order%/*}"
printf '%s' "$1" > "$handover.next"
chmod 0755 "$handover.next"
install_next "$handover"
printf '%s' "$2" > "$order.next"
install_next "$order"
if $changed; then systemctl daemon-reload; fi
changed=false
install_next "$conf"
${recordSha256(KEEPALIVED_CONF_PATH)}
systemctl enable --quiet keepalived
if ! systemctl is-active --quiet keepalived; then systemctl start keepalived
elif $changed; then systemctl reload keepalived; fi`;

/** Inside a node: whether its live keepalived.conf names the address "$1" (its unicast peer). */
const KNOWS_ADDRESS = `${FILES_ROOT}; grep -Fqw -e "$1" "$root"${KEEPALIVED_CONF_PATH}`;

/** How long a node waits for its peer to learn its address: the peer's own step reloads within seconds. */
export const PEER_WAIT_SECONDS = 60;

/**
 * Writes VEZA_KEEPALIVED_CONF into the node VEZA_REF, then {@link KEEPALIVED_IN_CONTAINER} with
 * VEZA_HAND_OVER and VEZA_STOPS_FIRST ({@link KEEPALIVED_FILES}). A node
 * whose keepalived is about to start (new, or replacing one that moved to another member, with a
 * new address) first waits until its peer VEZA_PEER_REF, if its keepalived runs, names the node's
 * VEZA_ADDRESS in its live keepalived.conf: the peer advertises only to the addresses it knows, and
 * a node that hears no advert takes the address too once its master-down interval (under a
 * second) passes, two holders answering for it. The peer's own step reloads it with the new
 * address; if it never does, this step fails and keepalived stays stopped here, the address
 * where it was.
 */
export const KEEPALIVED_SCRIPT = `printf '%s' "$VEZA_KEEPALIVED_CONF" | incus exec "$VEZA_REF" -- sh -c ${shellQuote(WRITE_FILE)} sh ${KEEPALIVED_CONF_PATH}.next 0644
if ! incus exec "$VEZA_REF" -- systemctl is-active --quiet keepalived; then
  waited=0
  until ! incus exec "$VEZA_PEER_REF" -- systemctl is-active --quiet keepalived 2>/dev/null ||
    incus exec "$VEZA_PEER_REF" -- sh -c ${shellQuote(KNOWS_ADDRESS)} sh "$VEZA_ADDRESS"; do
    if [ "$waited" -ge ${PEER_WAIT_SECONDS * 2} ]; then
      echo "$VEZA_PEER_REF still does not name $VEZA_ADDRESS in its keepalived.conf after ${PEER_WAIT_SECONDS} s: keepalived stays stopped on $VEZA_REF rather than take the address beside it" >&2
      exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
fi
incus exec "$VEZA_REF" -- sh -c ${shellQuote(KEEPALIVED_IN_CONTAINER)} sh "$VEZA_HAND_OVER" "$VEZA_STOPS_FIRST"`;

/**
 * Before a node's container goes (it moves to another member or is replaced: its keepalived step
 * is deleted first), and when the pair goes (haproxyCount back to 1) on a node that stays:
 * keepalived stops, which hands the address over ({@link HAND_OVER_SCRIPT}) before anything else
 * of the node stops. A node not running (gone, or stopped by an evacuation) holds no address.
 */
export const KEEPALIVED_DELETE_SCRIPT = `status=$(incus info "$VEZA_REF" 2>/dev/null | awk '$1 == "Status:" { print $2 }') || true
[ "$status" = RUNNING ] || exit 0
incus exec "$VEZA_REF" -- systemctl disable --now --quiet keepalived`;

/**
 * Rolls haproxy.cfg out to both nodes (VEZA_REFS, space-separated, in priority order), one after
 * the other, the node not holding VEZA_VIRTUAL_IP first: the holder, which serves every client,
 * is touched only once the same config has gone live on the other node. Both nodes stage it (and
 * HAProxy checks it) before either swaps, so a config refused, or not writable, on either node
 * goes live on neither. Prints the config's sha256.
 */
export const ROLLOUT_SCRIPT = `${APPLY_TO_NODE}
read -r -a refs <<< "$VEZA_REFS"
holder=
for ref in "\${refs[@]}"; do
  # grep reads to the end: -q would stop early and fail the pipeline (pipefail, SIGPIPE).
  if incus exec "$ref" -- ip -4 -o addr show dev eth0 2>/dev/null | grep -F " $VEZA_VIRTUAL_IP/" >/dev/null; then holder=$ref; fi
done
order=()
for ref in "\${refs[@]}"; do [ "$ref" = "$holder" ] || order+=("$ref"); done
[ -z "$holder" ] || order+=("$holder")
# Every node stages (and HAProxy checks) before any swaps: a node that cannot take the config
# (a rejection, a full disk) leaves every node on the live one.
staged=()
for ref in "\${order[@]}"; do
  if ! stage_on "$ref"; then
    for back in "\${staged[@]}"; do unstage_on "$back" || true; done
    exit 1
  fi
  staged+=("$ref")
done
for ref in "\${order[@]}"; do swap_on "$ref"; done
printf '%s\\n' "$VEZA_CONFIG_SHA256"`;
