/**
 * A model of how HAProxy 2.6 picks a server of the rendered stream_pool (`balance uri whole`,
 * `hash-type consistent`), built from the config text so that it stands for what HAProxy reads.
 * Properties need thousands of placements where the real haproxy gives a few hundred a second;
 * hashLocality.test.ts holds the model to the real haproxy on every URI it sends.
 *
 * From HAProxy 2.6's sources: a server of weight w has w x 16 ring points, point i at
 * full_hash(id x 4096 + i) (lb_chash.c, chash_init_server_tree); a URI's position is
 * full_hash(sdbm(whole URI)) (backend.c, get_server_uh; the model agrees with haproxy 2.6.12 only
 * with that full_hash); the server is the one of the nearer ring point on either side of it, the
 * earlier one on a tie (chash_get_server_hash).
 */

const RING_SIZE = 2 ** 32;
/** HAProxy's BE_WEIGHT_SCALE: ring points per unit of weight. */
const POINTS_PER_WEIGHT = 16;
/** HAProxy's SRV_EWGHT_RANGE: the key space of one server id, 256 weights x 16. */
const KEYS_PER_ID = 4096;

/** A stream_pool server line as HAProxy reads it. */
export interface RingServer {
  name: string;
  id: number;
  weight: number;
}

/** The ring: every server's points, sorted by position. */
export interface Ring {
  positions: Uint32Array;
  owners: string[];
}

/** Bob Jenkins' full avalanche hash of a 32-bit integer: HAProxy's full_hash(). */
function fullHash(value: number): number {
  let a = value >>> 0;
  a = (a + 0x7ed55d16 + (a << 12)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + (a << 3)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  return Math.imul(a, 3221225473) >>> 0;
}

/** Where a URI falls on the ring: HAProxy's hash_sdbm() of it as it is on the wire (ASCII), then full_hash(). */
function uriPosition(uri: string): number {
  if (!/^[\x21-\x7e]*$/.test(uri)) throw new Error(`a URI on the wire is printable ASCII (got ${JSON.stringify(uri)})`);
  let hash = 0;
  for (let i = 0; i < uri.length; i++) hash = (Math.imul(hash, 65599) + uri.charCodeAt(i)) >>> 0;
  return fullHash(hash);
}

/** The `server` lines of the config's stream_pool: name, id and weight. */
export function streamPoolServers(config: string): RingServer[] {
  const section = config.split("\nbackend stream_pool\n")[1]?.split("\n\n")[0];
  if (section === undefined) throw new Error("the config has no stream_pool backend");
  return section
    .split("\n")
    .filter((line) => line.startsWith("    server "))
    .map((line) => {
      const words = line.trim().split(/\s+/);
      const value = (keyword: string) => Number(words[words.indexOf(keyword) + 1]);
      return { name: words[1], id: value("id"), weight: value("weight") };
    });
}

/** The ring HAProxy builds from `servers`: every ring point of each, in position order. */
export function buildRing(servers: readonly RingServer[]): Ring {
  // Each point as position x 2^16 + server index in one float (exact below 2^53), so that the
  // typed array's native sort orders a full pool's 131072 points in milliseconds.
  const points = new Float64Array(servers.reduce((sum, server) => sum + server.weight * POINTS_PER_WEIGHT, 0));
  let next = 0;
  servers.forEach((server, index) => {
    for (let i = 0; i < server.weight * POINTS_PER_WEIGHT; i++)
      points[next++] = fullHash(Math.imul(server.id, KEYS_PER_ID) + i) * 2 ** 16 + index;
  });
  points.sort();
  const positions = new Uint32Array(points.length);
  const owners = new Array<string>(points.length);
  for (let i = 0; i < points.length; i++) {
    positions[i] = Math.floor(points[i] / 2 ** 16);
    owners[i] = servers[points[i] % 2 ** 16].name;
  }
  return { positions, owners };
}

/** The server HAProxy sends `uri` to. */
export function serverFor(ring: Ring, uri: string): string {
  const hash = uriPosition(uri);
  const { positions, owners } = ring;
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (positions[middle] < hash) low = middle + 1;
    else high = middle;
  }
  const next = low === positions.length ? 0 : low;
  const previous = (next === 0 ? positions.length : next) - 1;
  const toPrevious = (hash - positions[previous] + RING_SIZE) % RING_SIZE;
  const toNext = (positions[next] - hash + RING_SIZE) % RING_SIZE;
  return toPrevious <= toNext ? owners[previous] : owners[next];
}

/**
 * Each server's share of the hash space: a point takes the half of each gap beside it that is
 * nearer to it, so a server's share is half the gaps around its points.
 */
export function ringShares(ring: Ring): Map<string, number> {
  const { positions, owners } = ring;
  const shares = new Map<string, number>();
  positions.forEach((position, i) => {
    const next = (i + 1) % positions.length;
    const gap = (positions[next] - position + RING_SIZE) % RING_SIZE;
    for (const owner of [owners[i], owners[next]]) shares.set(owner, (shares.get(owner) ?? 0) + gap / 2 / RING_SIZE);
  });
  return shares;
}
