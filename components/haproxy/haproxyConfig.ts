/**
 * haproxy.cfg for the edge: rendered from the option groups (declared in haproxyOptions.ts,
 * completed in haproxyArgs.ts) and the fleets' addresses through templates/haproxy.cfg.mustache.
 * Every decision is computed here; the template only lays it out.
 */
import * as crypto from "crypto";
import { CompleteHaproxyOptions } from "./haproxyArgs";
import { PEERS_PORT } from "./haproxyOptions";
import { renderTemplate } from "../common/templates";
import { isIPv4, isIncusName, parseHostPort } from "../common/checks";

/** One upstream container as the fleet reports it. */
export interface Upstream {
  /** Logical name such as `backend-api-1`, without the stack's prefix: the HAProxy server name. */
  name: string;
  /** IPv4 address of the container. */
  address: string;
}

/** The two fleets behind the load balancer; an empty fleet falls back to its static servers. */
export interface Fleets {
  backendApi: Upstream[];
  streamServer: Upstream[];
}

/** Where the PEM (certificate then key) must be installed in the HAProxy container. */
export const TLS_PEM_PATH = "/etc/haproxy/certs/veza.pem";
/** The runtime API socket (admin level), for drain/ready and `show servers state`. */
export const ADMIN_SOCKET = "/run/haproxy/admin.sock";
/** Prefix of the file `show servers state` is written to before a reload, for state to carry over. */
export const SERVER_STATE_FILE = "/var/lib/haproxy/server-state";
/** Path on the stats listener that HAProxy answers 200 to by itself, for keepalived's check. */
export const ALIVE_URI = "/alive";
/** Environment variable of haproxy.service that holds the stats password (user `admin`). */
export const STATS_PASSWORD_ENV = "VEZA_STATS_PASSWORD";
/** Backend names, as used in `set server <backend>/<server> ...`. */
export const API_POOL = "api_pool";
/** WebSocket upgrades: api_pool's servers, tracking their health. */
export const API_WS = "api_ws";
export const STREAM_POOL = "stream_pool";

/**
 * 256 is HAProxy's maximum weight; consistent hashing gives a server 16 ring points per unit of
 * weight, and measured on 2.6 the default weight 1 (16 points) left shares of 6 servers between
 * 12% and 21% where 256 (4096 points) keeps them within sampling noise of 1/6.
 */
const STREAM_WEIGHT = 256;
/**
 * Spacing of the checks that confirm a transition (a suspected failure, a recovering server):
 * a dead server leaves rotation one fastinter plus one check after its first failed connection;
 * faster would add little, and the few checks of a transition must not load a struggling server.
 * The shortest allowed healthCheckIntervalMs is the same 100 ms.
 */
const FAST_INTERVAL_MS = 100;
/**
 * HAProxy 2.6 reads at most 64 words on a config line, so the stream prefixes are spread over
 * repeated `acl` lines of one name (which HAProxy ORs), each well within that limit.
 */
const PREFIXES_PER_ACL_LINE = 32;
/** HAProxy keys a server's ring points on `id x 4096` in 32 bits, so only `id mod 2^20` counts. */
const HASH_ID_SPACE = 2 ** 20;

/*
 * Edge protection (issue 22): the count tables of the per-client limits and the pair's peers.
 * The tables are table-only backends, so the Prometheus exporter shows their fill as
 * haproxy_sticktable_used{name=...} (monitoring/alerts.yml reads LIMIT_THROTTLED's).
 */
/** API requests per client address over the period; shared by the pair. */
export const LIMIT_API_REQUESTS = "limit_api_requests";
/** Open connections per client address; never shared (see HaproxyRateLimits.connections). */
export const LIMIT_CONNECTIONS = "limit_connections";
/** Addresses refused within the last period: how many clients are throttled now. */
export const LIMIT_THROTTLED = "limit_throttled";
/** The pair's peers section. */
export const PEERS_SECTION = "veza_edge";
/**
 * Rows of each table: an IPv4 row with its counter is about 100 bytes, so the three tables stay
 * within ~30 MB of the HAProxy container's 256 MiB even full; past it the oldest idle row goes.
 */
const TABLE_ROWS = "100k";

/**
 * Stable HAProxy server id of a stream server: FNV-1a (32-bit) of its name, folded into the
 * 2^20 ids whose ring points differ, plus one because ids start at 1. The same name always gets
 * the same id, whatever else is in the fleet, so its ring points never move.
 */
export function serverHashId(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, "utf8")) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return (hash % HASH_ID_SPACE) + 1;
}

/** One server line of a pool. */
interface ServerLine {
  name: string;
  address: string;
  port: number;
  /** A static fallback; may be a DNS name, which must not keep HAProxy from starting. */
  fallback: boolean;
}

/** The servers of one pool: the fleet, or when it is empty the static fallbacks `fallback-1`... */
function poolServers(
  pool: string,
  fleet: Upstream[],
  port: number,
  fallbackPath: "pools.backendApi.fallbacks" | "pools.streamServer.fallbacks",
  fallbacks: string[],
): ServerLine[] {
  const problems = fleet.flatMap((u) => [
    ...(isIncusName(u.name) ? [] : [`server name ${JSON.stringify(u.name)} is not letters, digits and hyphens`]),
    ...(isIPv4(u.address) ? [] : [`${u.name} has address ${JSON.stringify(u.address)}, not an IPv4 address`]),
  ]);
  const names = fleet.map((u) => u.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) problems.push(`server name ${duplicate} appears twice`);
  if (problems.length > 0) throw new Error(`${pool}: ${problems.join("; ")}`);
  if (fleet.length > 0) return fleet.map((u) => ({ name: u.name, address: u.address, port, fallback: false }));

  if (fallbacks.length === 0) throw new Error(`${pool} would have no server: its fleet is empty and ${fallbackPath} lists none`);
  return fallbacks.map((server, i) => {
    const parsed = parseHostPort(server);
    if (!parsed) throw new Error(`${fallbackPath}[${i}] is not host:port (got ${JSON.stringify(server)}); validate the settings first`);
    return { name: `fallback-${i + 1}`, address: parsed.host, port: parsed.port, fallback: true };
  });
}

/** Adds each server's {@link serverHashId}, refusing two servers whose ring points would coincide. */
function withHashIds(servers: ServerLine[]): (ServerLine & { id: number })[] {
  const byId = new Map<number, string>();
  return servers.map((server) => {
    const id = serverHashId(server.name);
    const other = byId.get(id);
    if (other) throw new Error(`${STREAM_POOL}: ${other} and ${server.name} hash to the same server id ${id}; rename one of them`);
    byId.set(id, server.name);
    return { ...server, id };
  });
}

/** The servers of both pools, the fleets or their fallbacks, as HAProxy names them. */
function pools(args: CompleteHaproxyOptions, fleets: Fleets) {
  const { backendApi, streamServer } = args.pools;
  return {
    api: poolServers(API_POOL, fleets.backendApi, backendApi.port, "pools.backendApi.fallbacks", backendApi.fallbacks),
    stream: withHashIds(
      poolServers(STREAM_POOL, fleets.streamServer, streamServer.port, "pools.streamServer.fallbacks", streamServer.fallbacks),
    ),
  };
}

/**
 * Every server HAProxy will have, with its backend, e.g. to set each one drain or ready through
 * the admin socket after a reload.
 */
export function serverNames(args: CompleteHaproxyOptions, fleets: Fleets): { backend: string; server: string }[] {
  const { api, stream } = pools(args, fleets);
  return [
    ...api.map((s) => ({ backend: API_POOL, server: s.name })),
    ...api.map((s) => ({ backend: API_WS, server: s.name })),
    ...stream.map((s) => ({ backend: STREAM_POOL, server: s.name })),
  ];
}

/**
 * The server-state file is named after the servers' ports: HAProxy 2.6 lets a state file's port
 * override the config's (haproxy/haproxy#1412), so a port change must start from a file of another
 * name, and the reload step carries state over only when the live config names the same file.
 * Scaling a fleet keeps the name: only fallback servers have ports of their own.
 */
function serverStateFile(servers: ServerLine[]): string {
  const ports = [...new Set(servers.map((s) => (s.fallback ? `${s.name}:${s.port}` : `${s.port}`)))].sort();
  return `${SERVER_STATE_FILE}-${configHash(ports.join(",")).slice(0, 12)}`;
}

/**
 * The edge protection parts of haproxy.cfg: the limits' conditions and tables, where the client's
 * address comes from, and (`peers`, the pair's two nodes, by container name, which is each node's
 * host name and so HAProxy's own name for itself) the peers section sharing the request counts.
 */
function edgeProtection(args: CompleteHaproxyOptions, peers: readonly Upstream[]) {
  const { rateLimits: limits, clientAddress } = args;
  const problems = peers.flatMap((peer) => [
    ...(isIncusName(peer.name) ? [] : [`peer name ${JSON.stringify(peer.name)} is not letters, digits and hyphens`]),
    ...(isIPv4(peer.address) ? [] : [`peer ${peer.name} has address ${JSON.stringify(peer.address)}, not an IPv4 address`]),
  ]);
  if (peers.length === 1) problems.push("a peers section is two nodes or none (got one)");
  if (problems.length > 0) throw new Error(`peers: ${problems.join("; ")}`);

  const trusted = clientAddress.trustedProxies.join(" ");
  const exempt = limits.exemptSources.length > 0 ? ["limit_exempt"] : [];
  // A trusted X-Forwarded-For proxy's connection carries many clients, so it is not one client's.
  const connectionExempt = clientAddress.source === "x-forwarded-for" ? [...exempt, `{ src ${trusted} }`] : exempt;
  const shared = limits.enabled && peers.length > 0;
  return {
    proxyProtocol: clientAddress.source === "proxy-protocol" && { trusted },
    forwardedFor: clientAddress.source === "x-forwarded-for" && { trusted },
    rateLimits: limits.enabled && {
      exemptSources: exempt.length > 0 && limits.exemptSources.join(" "),
      connectionUnless: connectionExempt.length > 0 ? ` unless ${connectionExempt.join(" || ")}` : "",
      requestUnless: ["is_stream", ...exempt].join(" || "),
      apiRequests: limits.apiRequests,
      periodSeconds: limits.periodSeconds,
      connections: limits.connections,
      apiTable: LIMIT_API_REQUESTS,
      connectionTable: LIMIT_CONNECTIONS,
      throttledTable: LIMIT_THROTTLED,
      rows: TABLE_ROWS,
      peersSection: shared && PEERS_SECTION,
    },
    peers: shared && {
      section: PEERS_SECTION,
      nodes: peers.map((peer) => ({ ...peer, port: PEERS_PORT })),
      notAPeer: peers.map((peer) => `!streq("\${HAPROXY_LOCALPEER}","${peer.name}")`).join(" && "),
    },
  };
}

/** A word of haproxy.cfg in double quotes, where `\`, `"` and `$` (environment expansion) are escaped. */
function quoted(word: string): string {
  return `"${word.replace(/[\\"$]/g, "\\$&")}"`;
}

/**
 * Renders haproxy.cfg from complete option groups and the fleets (an empty fleet uses its
 * fallback list); `peers` are a pair's two nodes, none for a single node. The stats password is not in the file: HAProxy reads it from {@link STATS_PASSWORD_ENV}.
 *
 * `drain.servers` is deliberately not rendered: drain is runtime state, set through the admin
 * socket after each reload and carried across reloads by the server-state file. Rendering it as
 * `weight 0` (which on 2.6 keeps cookie-pinned clients exactly as drain does) would make every
 * drain a config change and reload, and a `set server ... state ready` could not undo it.
 */
export function renderHaproxyConfig(args: CompleteHaproxyOptions, fleets: Fleets, peers: readonly Upstream[] = []): string {
  const { api, stream } = pools(args, fleets);
  const { listeners, healthCheck, timeouts, metrics } = args;
  const prefixes = args.uriHash.pathPrefixes;
  return renderTemplate("haproxy.cfg.mustache", {
    ...edgeProtection(args, peers),
    adminSocket: ADMIN_SOCKET,
    serverStateFile: serverStateFile([...api, ...stream]),
    tls: listeners.tlsPemPath !== "",
    tlsPem: TLS_PEM_PATH,
    httpPort: listeners.httpPort,
    httpsPort: listeners.httpsPort,
    statsPort: listeners.statsPort,
    aliveUri: ALIVE_URI,
    statsPasswordEnv: STATS_PASSWORD_ENV,
    statsPasswordRef: `\${${STATS_PASSWORD_ENV}}`,
    logEveryRequest: args.logging.everyRequest,
    metricsPort: metrics.port,
    metricsSources: metrics.allowedSources.join(" "),
    connectTimeoutMs: timeouts.connectMs,
    serverTimeoutMs: timeouts.serverMs,
    tunnelTimeoutSeconds: timeouts.tunnelSeconds,
    hardStopAfterSeconds: timeouts.hardStopAfterSeconds,
    healthCheckTimeoutMs: healthCheck.timeoutMs,
    retries: args.retries,
    intervalMs: healthCheck.intervalMs,
    fastIntervalMs: FAST_INTERVAL_MS,
    fall: healthCheck.fall,
    rise: healthCheck.rise,
    slowstart: args.drain.slowStartSeconds > 0 && `${args.drain.slowStartSeconds}s`,
    streamPrefixLines: Array.from({ length: Math.ceil(prefixes.length / PREFIXES_PER_ACL_LINE) }, (_, i) =>
      prefixes.slice(i * PREFIXES_PER_ACL_LINE, (i + 1) * PREFIXES_PER_ACL_LINE).join(" "),
    ),
    cookieName: quoted(args.stickyCookie.name),
    backendApiHealthPath: healthCheck.backendApiPath,
    streamServerHealthPath: healthCheck.streamServerPath,
    apiPool: API_POOL,
    apiServers: api,
    streamServers: stream,
    streamWeight: STREAM_WEIGHT,
  });
}

/** sha256 (hex) of a rendered config: changes exactly when the config does, so it triggers reloads. */
export function configHash(config: string): string {
  return crypto.createHash("sha256").update(config).digest("hex");
}
