/**
 * The `incus` steps, as bash scripts whose text never changes with the settings: every value
 * reaches them through the command's environment (the `VEZA_*` names listed with each script)
 * and, inside a container, as quoted arguments of `sh -c`. A value is never spliced into script
 * text, so whatever validation let through can only ever be data, never code.
 */
import { Rules, text } from "../common/rules";
import { shellQuote } from "../common/shell";
import { ROLE_CONFIG_KEY } from "./placement";

/** Interpreter of every host-side step: bash, failing on any error, unset variable or broken pipe. */
export const BASH = ["/bin/bash", "-euo", "pipefail", "-c"];

/** Incus config key naming the `project/stack` that made a container, so no other stack adopts it. */
export const OWNER_KEY = "user.veza.owner";

/**
 * Where and from what an Incus container is made. Every field is required: a placement is given
 * whole, as index.ts does from the stack's settings, whose defaults are the lab's.
 */
export interface IncusPlacement {
  /** Incus remote (as in `incus remote list`); empty for the local daemon. Required; the stack's default is "". */
  remote: string;
  /**
   * Cluster member for `--target`; empty lets Incus choose. Required; the stack's default is "", with
   * which the program gives each container its own member on a cluster (clusterPlacement.ts).
   */
  target: string;
  /** Image alias or fingerprint to launch from, on the remote itself. Required; the stack's default is "veza-lab/bookworm", which the lab set-up imports. */
  image: string;
  /** Bridge network the container's eth0 attaches to. Required; the stack's default is "vezabr0". */
  network: string;
  /** Storage pool of the root disk. Required; the stack's default is "veza". */
  storagePool: string;
}

/** Incus names of remotes, cluster members and storage pools. */
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TOKEN_CHARS = "1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit";

/** The rules of {@link IncusPlacement}, by field; the defaults are the lab's (scripts/lab-host.sh). */
export const PLACEMENT_RULES: Rules = {
  remote: text((value) => value === "" || TOKEN.test(value), `must be empty or ${TOKEN_CHARS}`, ""),
  target: text((value) => value === "" || TOKEN.test(value), `must be empty or ${TOKEN_CHARS}`, ""),
  // Image aliases may have path-like segments (e.g. `veza-lab/bookworm`).
  image: text(
    /^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/,
    "must be an image alias or fingerprint: 1 to 255 letters, digits, '.', '_', '-' or '/', starting with a letter or digit",
    "veza-lab/bookworm",
  ),
  // A bridge network is a Linux interface, whose name the kernel caps at 15 characters.
  network: text(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/,
    "must be a bridge name of 1 to 15 letters, digits, '.', '_' or '-', starting with a letter or digit",
    "vezabr0",
  ),
  storagePool: text(TOKEN, `must be ${TOKEN_CHARS}`, "veza"),
};

/** How the `incus` CLI names a container on a remote: `remote:name`, or just `name` locally. */
export function incusRef(remote: string, name: string): string {
  return remote ? `${remote}:${name}` : name;
}

/**
 * The environment of {@link launchScript} and {@link DELETE_SCRIPT}; with a `role` (see
 * {@link carriesRole}), VEZA_ROLE too.
 */
export function containerEnvironment(name: string, placement: IncusPlacement, owner: string, role?: string): Record<string, string> {
  return {
    VEZA_REF: incusRef(placement.remote, name),
    // The remote's own image: from the local daemon, Incus would have to pull it over the network
    // from a daemon that, like the lab's, may not listen on one ("The source server isn't listening").
    VEZA_IMAGE: incusRef(placement.remote, placement.image),
    VEZA_STORAGE_POOL: placement.storagePool,
    VEZA_NETWORK: placement.network,
    VEZA_TARGET: placement.target,
    VEZA_OWNER: owner,
    ...(role !== undefined && carriesRole(placement) ? { VEZA_ROLE: role } : {}),
  };
}

/**
 * Whether a container launched with `placement` carries its role ({@link ROLE_CONFIG_KEY}, which
 * the placement scriptlet counts): only one with a cluster member as its target. Incus refuses a
 * target off a cluster, so a stack on one host keeps launching with the very script and
 * environment it always had.
 */
export function carriesRole(placement: IncusPlacement): boolean {
  return placement.target !== "";
}

/**
 * What Incus does with a cluster container when its member is evacuated: it stops it there. Left
 * to Incus (`auto`), it would start it again on a member of its own choosing, blind to roles (seen
 * on the cluster lab: a stream-server put beside the other one), and the program's next `up` would
 * then re-create it in place, its launch having recorded the old member. Stopped, the member is
 * listed `Evacuated`, which takes no container, and the next `up` re-creates it where the spread
 * says. Evacuating a member under one of the pair's nodes stops that node cleanly: keepalived hands
 * the virtual IP to the peer first (pairScripts.ts's KEEPALIVED_STOPS_FIRST).
 */
export const EVACUATE_CONFIG = "cluster.evacuate=stop";

/** Refuses, naming the owner, a container that another stack made. Needs VEZA_REF and VEZA_OWNER. */
const OWNER_CHECK = `owner=$(incus config get "$VEZA_REF" ${OWNER_KEY})
if [ -n "$owner" ] && [ "$owner" != "$VEZA_OWNER" ]; then`;

/**
 * First line of the in-container steps that write a file, swap it in and roll it back (haproxy.cfg's
 * check and swap, keepalived.conf's install): every file they touch is "$root/…". \`incus exec\` hands
 * the container none of the host's environment, so VEZA_ROOT is unset there and the paths are the
 * real ones; the unit tests (tests/unit/swapScripts.test.ts) set it to a temporary directory and
 * put fake haproxy, keepalived, systemctl and socat first on PATH, to run the scripts themselves.
 */
export const FILES_ROOT = `root=\${VEZA_ROOT:-}`;

/** Inside the container: prints eth0's global IPv4 address once DHCP gave it one, within 60 s. */
export const WAIT_FOR_ADDRESS = `for _ in $(seq 1 600); do
  address=$(ip -4 -o addr show dev eth0 scope global | awk '!found { sub("/.*", "", $4); print $4; found = 1 }')
  [ -n "$address" ] && { echo "$address"; exit 0; }
  sleep 0.1
done
exit 1`;

/**
 * Launches the container unless it exists (with `withRole`, its role from VEZA_ROLE in
 * {@link ROLE_CONFIG_KEY} beside its owner, and {@link EVACUATE_CONFIG}), starts it if it is stopped, waits for the DHCP address
 * on eth0, and prints that IPv4 address. An existing container is adopted only when no other
 * stack owns it (so an interrupted `pulumi up` converges, and a stack whose prefix collides with
 * another's is refused instead of taking its containers). A container this run created is deleted
 * again if the script fails, once the daemon answers: a failed create is not in the stack's state,
 * so nothing else would.
 * The address wait runs inside the container, one `incus exec` in all: polling incusd from
 * outside would have six launches at once keep the daemon busy answering them. The address comes
 * from systemd-networkd, so systemd is up and the deploy steps can use `systemctl` from then on.
 */
export function launchScript(withRole: boolean): string {
  const role = withRole ? ` --config ${ROLE_CONFIG_KEY}="$VEZA_ROLE" --config ${EVACUATE_CONFIG}` : "";
  return `created=false
# shellcheck disable=SC2317 # called by the EXIT trap
forget_failed_create() {
  status=$?
  [ "$status" != 0 ] && $created || return 0
  # What failed may be the daemon itself, restarting: wait up to 30 s for it to answer (a list
  # succeeds, empty or not) so that the container is deleted rather than left in no stack's state.
  for _ in $(seq 1 30); do
    if incus list "$VEZA_REF" -c n -f csv >/dev/null 2>&1; then
      incus delete --force "$VEZA_REF" >/dev/null 2>&1 || true
      return 0
    fi
    sleep 1
  done
}
trap forget_failed_create EXIT
if incus info "$VEZA_REF" >/dev/null 2>&1; then
  ${OWNER_CHECK}
    echo "container $VEZA_REF belongs to stack $owner, not to $VEZA_OWNER: refusing to adopt it (give this stack another veza-infra:namePrefix)" >&2
    exit 1
  fi
  [ -n "$owner" ] || incus config set "$VEZA_REF" ${OWNER_KEY} "$VEZA_OWNER"
else
  created=true
  incus launch "$VEZA_IMAGE" "$VEZA_REF" --storage "$VEZA_STORAGE_POOL" --network "$VEZA_NETWORK" \\
    --config ${OWNER_KEY}="$VEZA_OWNER"${role} \${VEZA_TARGET:+--target "$VEZA_TARGET"} >&2
fi
# The awk programs read to the end: an early exit would fail the pipeline (pipefail, SIGPIPE).
[ "$(incus info "$VEZA_REF" | awk '$1 == "Status:" { print $2 }')" = RUNNING ] || incus start "$VEZA_REF" >&2
# An exec right after a config change of the running container (the adoption above) can succeed
# with its output lost (seen 1 in 30 here): ask again when it printed nothing.
for _ in 1 2 3; do
  address=$(incus exec "$VEZA_REF" -- sh -c ${shellQuote(WAIT_FOR_ADDRESS)}) || { echo "container $VEZA_REF got no IPv4 address within 60 s" >&2; exit 1; }
  [ -z "$address" ] || { echo "$address"; exit 0; }
done
echo "incus exec in $VEZA_REF printed no address three times" >&2
exit 1`;
}

/** {@link launchScript} of a container that carries no role: every container off a cluster. */
export const LAUNCH_SCRIPT = launchScript(false);

/**
 * Stops the container first so its services get SIGTERM and finish what they serve, then deletes
 * it; succeeds when the container is already gone, and leaves one another stack owns in place.
 */
export const DELETE_SCRIPT = `incus info "$VEZA_REF" >/dev/null 2>&1 || exit 0
${OWNER_CHECK}
  echo "container $VEZA_REF belongs to stack $owner: left in place" >&2
  exit 0
fi
incus stop "$VEZA_REF" --timeout 15 >&2 || true
incus delete --force "$VEZA_REF" >&2`;

/**
 * Inside a container: standard input becomes file "$1" with mode "$2", written beside it and
 * moved into place, so a reader never sees half a file. Its directory is created if missing. A
 * write that fails (a full disk) removes its half-written temporary, so it holds no space.
 * Under {@link FILES_ROOT} like the steps that swap what it writes.
 */
export const WRITE_FILE = `${FILES_ROOT}; f="$root$1"; umask 077; mkdir -p "\${f%/*}" || exit 1
if ! { cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"; }; then rm -f "$f.tmp"; exit 1; fi`;

/**
 * Inside a container, a shell function: `install_next FILE` moves FILE.next over FILE when they
 * differ and then sets `changed=true`; an identical FILE.next is dropped. Re-running a step on
 * an unchanged container therefore restarts nothing.
 */
export const INSTALL_NEXT = `changed=false
install_next() {
  if cmp -s "$1.next" "$1"; then rm -f "$1.next"; else mv "$1.next" "$1"; changed=true; fi
}`;

/** A step's command, interpreter and the environment entries that carry its scripts ({@link labelledStep}). */
export interface LabelledStep {
  create: string;
  delete?: string;
  interpreter: string[];
  environment: Record<string, string>;
}

/**
 * A step whose failure reads as its own message. The command provider starts every error with
 * `running "<command>"`: the whole script, escaped onto one line, when the script is the command.
 * Here each command is a short constant label (bash's $0) and the scripts travel in the
 * environment (VEZA_SCRIPT, and VEZA_DELETE_SCRIPT for the label VEZA_DELETE_LABEL), so an error
 * is `running "<label>"` and then only what the script printed. The texts stay constant: still no
 * value is ever spliced into them.
 */
export function labelledStep(create: [label: string, script: string], remove?: [label: string, script: string]): LabelledStep {
  return {
    create: create[0],
    ...(remove ? { delete: remove[0] } : {}),
    interpreter: [...BASH, 'if [ "$0" = "${VEZA_DELETE_LABEL:-}" ]; then eval "$VEZA_DELETE_SCRIPT"; else eval "$VEZA_SCRIPT"; fi'],
    environment: {
      VEZA_SCRIPT: create[1],
      ...(remove ? { VEZA_DELETE_LABEL: remove[0], VEZA_DELETE_SCRIPT: remove[1] } : {}),
    },
  };
}
