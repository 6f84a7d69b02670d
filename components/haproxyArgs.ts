/**
 * The HAProxy node's tunables as option groups, for programs that build a {@link HaproxyNode}
 * themselves. Stack config stays flat (`veza-infra:<key>`); {@link HAPROXY_FIELDS} says which
 * group field each key feeds, and {@link haproxyArgsFromSettings} is the one mapping between them.
 * Every default is the one in DEFAULTS (settings.ts), reached through that mapping.
 */
import { DEFAULTS, Settings } from "./settings";

/** Where HAProxy listens. */
export interface HaproxyListeners {
  /** HTTP listener port. Defaults to 80 (seed `haproxy_listen_http`). */
  httpPort?: number;
  /** HTTPS listener port, bound only when `tlsPemPath` is set. Defaults to 443 (seed `haproxy_listen_https`). */
  httpsPort?: number;
  /**
   * Path on the Pulumi host to a PEM holding the certificate and its unencrypted key; empty means
   * HTTP only. Defaults to "" (seed `haproxy_tls_cert_path`).
   */
  tlsPemPath?: string;
  /** Port of the password-protected stats page, on the container's loopback only. Defaults to 9100 (seed 9100). */
  statsPort?: number;
}

/** Active health checks of both pools. */
export interface HaproxyHealthCheck {
  /** Check cadence in ms (100..3600000). Defaults to 500 (seed 5000, which keeps a dead server in rotation ~15 s). */
  intervalMs?: number;
  /** How long one check may take before it fails, in ms, below `intervalMs`. Defaults to 300 (seed: none). */
  timeoutMs?: number;
  /** Consecutive failed checks before a server is DOWN (1..100). Defaults to 2 (seed 3). */
  fall?: number;
  /** Consecutive good checks before a server is UP (1..100). Defaults to 2 (seed 2). */
  rise?: number;
  /** Path GET by the api_pool check. Defaults to "/api/v1/health". */
  backendApiPath?: string;
  /** Path GET by the stream_pool check. Defaults to "/health". */
  streamServerPath?: string;
}

/** The cookie that pins a client, and its WebSocket upgrades, to one backend-api. */
export interface HaproxyStickyCookie {
  /** Cookie name (RFC 6265 token). Defaults to "VEZA_SERVERID" (seed `haproxy_sticky_cookie_name`). */
  name?: string;
}

/**
 * Routing to stream_pool by whole-URI hash. The hash type is not an option: `consistent` is what
 * keeps ~1/N of the track ids moving when the fleet changes, which the stream servers' caches need.
 */
export interface HaproxyUriHash {
  /** Request path prefixes routed to stream_pool (1..1000). Defaults to ["/hls/", "/stream/"]. */
  pathPrefixes?: string[];
}

/** Upstream and reload timeouts. */
export interface HaproxyTimeouts {
  /** Upstream connect timeout in ms (50..60000); a failed connect is retried elsewhere. Defaults to 250 (seed: none). */
  connectMs?: number;
  /** Longest wait for an upstream response in ms (100..3600000). Defaults to 5000 (seed: none). */
  serverMs?: number;
  /** Idle timeout of an upgraded WebSocket tunnel, in seconds (1..86400). Defaults to 3600 (seed: none). */
  tunnelSeconds?: number;
  /** How long an old worker may keep its connections after a reload, in seconds (1..86400). Defaults to 300 (seed: none). */
  hardStopAfterSeconds?: number;
}

/** Taking servers out of rotation gently, and bringing them back gently. */
export interface HaproxyDrain {
  /** Server names kept in drain through the admin socket (runtime state, not in haproxy.cfg). Defaults to []. */
  servers?: string[];
  /** Slow-start ramp of a recovered server's weight, in seconds (0..3600; 0 is off). Defaults to 30 (seed `haproxy_graceful_drain_seconds`). */
  slowStartSeconds?: number;
}

/** One backend pool's static parts; the servers themselves are the node's to resolve. */
export interface HaproxyPool {
  /** Port of the pool's servers. Defaults to 8080 for backendApi, 8082 for streamServer (seed `haproxy_backend_api_port`, `haproxy_stream_server_port`). */
  port?: number;
  /** Static `host:port` servers, used only when the pool has no server. Defaults to []. */
  fallbacks?: string[];
}

/** The two pools: api_pool (round-robin + cookie) and stream_pool (consistent URI hash). */
export interface HaproxyPools<P = HaproxyPool> {
  /** backend-api servers, behind api_pool and api_ws. */
  backendApi?: P;
  /** stream-server servers, behind stream_pool. */
  streamServer?: P;
}

/** HAProxy's Prometheus exporter. */
export interface HaproxyMetrics {
  /** Port of `GET /metrics`, on every address of the container. Defaults to 9101. */
  port?: number;
  /** IPv4 networks (CIDR) allowed to scrape; everyone else gets 403. Defaults to ["10.77.0.0/24"], the lab subnet. */
  allowedSources?: string[];
}

/** What HAProxy writes to the node's journal. */
export interface HaproxyLogging {
  /**
   * Log every HTTP request (httplog). Off, only errors and abnormal sessions are logged (5xx,
   * retries, redispatches, timeouts, aborts) besides server state changes: each log line goes
   * through /dev/log into journald, which took the LB to 0.73x its requests per second (bench
   * scenario 7). Turn it on to trace traffic, then off again. Defaults to false.
   */
  everyRequest?: boolean;
}

/**
 * Every HAProxy option group; each field left out takes its default. The fields are plain values,
 * not Inputs: they shape haproxy.cfg, are known before any resource exists, and so can be checked
 * when the component is built. Only the pools' servers are Inputs (see HaproxyNodeArgs).
 */
export interface HaproxyOptions<P = HaproxyPool> {
  /** HTTP, HTTPS (with its PEM) and stats listeners. */
  listeners?: HaproxyListeners;
  /** Active health checks. */
  healthCheck?: HaproxyHealthCheck;
  /** The api_pool pinning cookie. */
  stickyCookie?: HaproxyStickyCookie;
  /** stream_pool routing. */
  uriHash?: HaproxyUriHash;
  /** Connect, server, tunnel and hard-stop timeouts. */
  timeouts?: HaproxyTimeouts;
  /** Times a failed upstream attempt is retried, each time on another server (0..10). Defaults to 3. */
  retries?: number;
  /** Drained servers and slow start. */
  drain?: HaproxyDrain;
  /** Server ports and fallbacks of the two pools. */
  pools?: HaproxyPools<P>;
  /** The Prometheus exporter. */
  metrics?: HaproxyMetrics;
  /** The request log. */
  logging?: HaproxyLogging;
}

/** Every field required, down the groups; lists stay lists. */
type Complete<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends readonly unknown[]
    ? NonNullable<T[K]>
    : NonNullable<T[K]> extends object
      ? Complete<NonNullable<T[K]>>
      : NonNullable<T[K]>;
};

/** {@link HaproxyOptions} with every default filled in: what haproxy.cfg is rendered from. */
export type HaproxyConfigArgs = Complete<HaproxyOptions>;

/** The settings the HAProxy node needs; a full {@link Settings} fits. */
export type HaproxySettings = Pick<
  Settings,
  | "httpPort"
  | "httpsPort"
  | "tlsCertPath"
  | "statsPort"
  | "healthCheckIntervalMs"
  | "healthCheckTimeoutMs"
  | "healthCheckFall"
  | "healthCheckRise"
  | "backendApiHealthPath"
  | "streamServerHealthPath"
  | "stickyCookieName"
  | "streamPathPrefixes"
  | "connectTimeoutMs"
  | "serverTimeoutMs"
  | "tunnelTimeoutSeconds"
  | "hardStopAfterSeconds"
  | "retries"
  | "drainServers"
  | "gracefulDrainSeconds"
  | "backendApiPort"
  | "backendApiFallbackServers"
  | "streamServerPort"
  | "streamServerFallbackServers"
  | "metricsPort"
  | "metricsAllowedSources"
  | "logEveryRequest"
>;

/** Dotted paths to every leaf of `T`, e.g. `pools.backendApi.port`. */
type Leaves<T> = {
  [K in keyof T & string]: T[K] extends readonly unknown[] ? K : T[K] extends object ? `${K}.${Leaves<T[K]>}` : K;
}[keyof T & string];

/**
 * The group field each HAProxy setting feeds. A table rather than code, so the mapping, its
 * inverse (to validate a component's own arguments with the program's rules) and the README's
 * column cannot disagree.
 */
export const HAPROXY_FIELDS = {
  httpPort: "listeners.httpPort",
  httpsPort: "listeners.httpsPort",
  tlsCertPath: "listeners.tlsPemPath",
  statsPort: "listeners.statsPort",
  healthCheckIntervalMs: "healthCheck.intervalMs",
  healthCheckTimeoutMs: "healthCheck.timeoutMs",
  healthCheckFall: "healthCheck.fall",
  healthCheckRise: "healthCheck.rise",
  backendApiHealthPath: "healthCheck.backendApiPath",
  streamServerHealthPath: "healthCheck.streamServerPath",
  stickyCookieName: "stickyCookie.name",
  streamPathPrefixes: "uriHash.pathPrefixes",
  connectTimeoutMs: "timeouts.connectMs",
  serverTimeoutMs: "timeouts.serverMs",
  tunnelTimeoutSeconds: "timeouts.tunnelSeconds",
  hardStopAfterSeconds: "timeouts.hardStopAfterSeconds",
  retries: "retries",
  drainServers: "drain.servers",
  gracefulDrainSeconds: "drain.slowStartSeconds",
  backendApiPort: "pools.backendApi.port",
  backendApiFallbackServers: "pools.backendApi.fallbacks",
  streamServerPort: "pools.streamServer.port",
  streamServerFallbackServers: "pools.streamServer.fallbacks",
  metricsPort: "metrics.port",
  metricsAllowedSources: "metrics.allowedSources",
  logEveryRequest: "logging.everyRequest",
} as const satisfies { [K in keyof HaproxySettings]: Leaves<HaproxyConfigArgs> };

type Tree = { [key: string]: unknown };
const isGroup = (value: unknown): value is Tree => typeof value === "object" && value !== null && !Array.isArray(value);

function leaf(tree: Tree, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (isGroup(node) ? node[key] : undefined), tree);
}

/** Maps validated settings to the option groups, every field filled: the only place the two shapes meet. */
export function haproxyArgsFromSettings(settings: HaproxySettings): HaproxyConfigArgs {
  const tree: Tree = {};
  for (const [key, path] of Object.entries(HAPROXY_FIELDS)) {
    const keys = path.split(".");
    const group = keys.slice(0, -1).reduce((node, k) => (node[k] ??= {}) as Tree, tree);
    group[keys[keys.length - 1]] = settings[key as keyof HaproxySettings];
  }
  return tree as unknown as HaproxyConfigArgs;
}

/** The settings a complete set of groups stands for: {@link haproxyArgsFromSettings} backwards. */
export function settingsFromHaproxyArgs(args: HaproxyConfigArgs): HaproxySettings {
  return Object.fromEntries(
    Object.entries(HAPROXY_FIELDS).map(([key, path]) => [key, leaf(args as unknown as Tree, path)]),
  ) as HaproxySettings;
}

/** `defaults` with every field `given` sets; only the defaults' fields are read, so extra ones (pool servers) are left out. */
function withDefaults(defaults: Tree, given: unknown): Tree {
  const supplied = isGroup(given) ? given : {};
  return Object.fromEntries(
    Object.entries(defaults).map(([key, value]) => [key, isGroup(value) ? withDefaults(value, supplied[key]) : (supplied[key] ?? value)]),
  );
}

/** The option groups as given, every field left out taking its default from DEFAULTS. */
export function completeHaproxyArgs(options: HaproxyOptions<unknown>): HaproxyConfigArgs {
  return withDefaults(haproxyArgsFromSettings(DEFAULTS) as unknown as Tree, options) as unknown as HaproxyConfigArgs;
}
