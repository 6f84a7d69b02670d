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
 * Launches the container unless it exists (so an interrupted `pulumi up` converges), starts it if
 * it is stopped, waits for systemd and a DHCP address on eth0, and prints that IPv4 address.
 */
export function launchScript(name: string, placement: IncusPlacement): string {
  const ref = shellQuote(incusRef(placement.remote, name));
  const listing = shellQuote(placement.remote ? `${placement.remote}:` : "");
  const target = placement.target ? ` --target ${shellQuote(placement.target)}` : "";
  return `ref=${ref}
if ! incus info "$ref" >/dev/null 2>&1; then
  incus launch ${shellQuote(placement.image)} "$ref" --storage ${shellQuote(placement.storagePool)} --network ${shellQuote(placement.network)}${target} >&2
fi
column() { incus list ${listing} -c "n$1" -f csv | awk -F, -v n=${shellQuote(name)} '$1 == n { print $2 }'; }
[ "$(column s)" = RUNNING ] || incus start "$ref" >&2
for _ in $(seq 1 600); do
  address=$(column 4 | grep -oE '^([0-9]{1,3}\\.){3}[0-9]{1,3} \\(eth0\\)' | cut -d' ' -f1 || true)
  [ -n "$address" ] && break
  sleep 0.1
done
[ -n "$address" ] || { echo "container ${name} got no IPv4 address on eth0 within 60 s" >&2; exit 1; }
timeout 60 incus exec "$ref" -- systemctl is-system-running --wait >/dev/null 2>&1 || true
echo "$address"`;
}

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
