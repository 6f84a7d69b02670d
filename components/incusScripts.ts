import { shellQuote } from "./shell";

/** Where and from what an Incus container is made; every field is validated before it gets here. */
export interface IncusPlacement {
  /** Incus remote (as in `incus remote list`); empty for the local daemon. */
  remote: string;
  /** Cluster member for `--target`; empty lets Incus choose. */
  target: string;
  /** Image alias or fingerprint to launch from. */
  image: string;
  /** Bridge network the container's eth0 attaches to. */
  network: string;
  /** Storage pool of the root disk. */
  storagePool: string;
}

/** How the `incus` CLI names a container on a remote: `remote:name`, or just `name` locally. */
export function incusRef(remote: string, name: string): string {
  return remote ? `${remote}:${name}` : name;
}

/**
 * Launches the container unless it exists (so an interrupted `pulumi up` converges; one this run
 * created is deleted again if the script fails), starts it if it is stopped, waits for the DHCP
 * address on eth0, and prints that IPv4 address. The wait runs inside the container, one
 * `incus exec` in all: polling incusd from outside would have six launches at once keep the daemon
 * busy answering them. The address comes from systemd-networkd, so systemd is up and the deploy
 * steps can use `systemctl` from then on.
 */
export function launchScript(name: string, placement: IncusPlacement): string {
  const ref = shellQuote(incusRef(placement.remote, name));
  const target = placement.target ? ` --target ${shellQuote(placement.target)}` : "";
  return `ref=${ref}
# A container this run created goes again if a later step fails: a failed create is not in the
# stack's state, so nothing else would ever delete it.
created=false
trap 'status=$?; if [ "$status" != 0 ] && $created; then incus delete --force "$ref" >/dev/null 2>&1 || true; fi' EXIT
if ! incus info "$ref" >/dev/null 2>&1; then
  created=true
  incus launch ${shellQuote(placement.image)} "$ref" --storage ${shellQuote(placement.storagePool)} --network ${shellQuote(placement.network)}${target} >&2
fi
# The awk programs read to the end: an early exit would fail the pipeline (pipefail, SIGPIPE).
[ "$(incus info "$ref" | awk '$1 == "Status:" { print $2 }')" = RUNNING ] || incus start "$ref" >&2
incus exec "$ref" -- sh -c ${shellQuote(WAIT_FOR_ADDRESS)} || { echo "container ${name} got no IPv4 address within 60 s" >&2; exit 1; }`;
}

/** Inside the container: prints eth0's global IPv4 address once DHCP gave it one, within 60 s. */
const WAIT_FOR_ADDRESS = `for _ in $(seq 1 600); do
  address=$(ip -4 -o addr show dev eth0 scope global | awk '!found { sub("/.*", "", $4); print $4; found = 1 }')
  [ -n "$address" ] && { echo "$address"; exit 0; }
  sleep 0.1
done
exit 1`;

/**
 * Stops the container first so its services get SIGTERM and finish what they serve, then deletes
 * it; succeeds when the container is already gone.
 */
export function deleteScript(name: string, remote: string): string {
  const ref = shellQuote(incusRef(remote, name));
  return `ref=${ref}
if incus info "$ref" >/dev/null 2>&1; then
  incus stop "$ref" --timeout 15 >&2 || true
  incus delete --force "$ref" >&2
fi`;
}

/** Writes `content` to `path` inside the container (creating its directory) with the given mode, through stdin, atomically. */
export function writeFileCommand(ref: string, path: string, content: string, mode: string): string {
  return `printf '%s' ${shellQuote(content)} | incus exec ${shellQuote(ref)} -- sh -c 'umask 077; mkdir -p "\${1%/*}" && cat > "$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"' _ ${shellQuote(path)} ${shellQuote(mode)}`;
}
