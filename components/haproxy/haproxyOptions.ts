/**
 * The HAProxy option groups, each field with its meaning, range and default: what a
 * HaproxyNode and a HaproxyPair take besides their containers. Plain values, known
 * before any resource exists, so they are checked when a component is built.
 */

/**
 * Where HAProxy takes a client's address from: the TCP connection itself, the PROXY protocol
 * header, or the last X-Forwarded-For entry; the last two only from trusted proxies.
 */
export const CLIENT_ADDRESS_SOURCES = ["connection", "proxy-protocol", "x-forwarded-for"] as const;
export type ClientAddressSource = (typeof CLIENT_ADDRESS_SOURCES)[number];

/**
 * Port of the pair's `peers` section, on each node's own address: the nodes push their stick
 * tables to each other there. Not an option: only the two nodes use it, and validation keeps the
 * listeners off it.
 */
export const PEERS_PORT = 10000;

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

/**
 * Per-client limits at the edge (edge protection, issue 22), keyed on the client's address (see
 * {@link HaproxyClientAddress}). A client over a limit gets `429 Too Many Requests` with
 * `Retry-After: <periodSeconds>`, answered by HAProxy itself: no backend spends anything on it.
 * Every request counts, refused ones too, so a client that ignores Retry-After stays refused;
 * one that waits a period starts again from zero. One address can be many people (an office or a
 * mobile carrier behind NAT), which is what the generous defaults are for. With an
 * HaproxyPair, the request counts are shared by the two nodes (a `peers` section over
 * their own addresses), so a throttled client stays throttled when the virtual IP moves; a single
 * node has no peer, and a reload starts its counts from zero. Each count table holds the 100000
 * most recent addresses (about 10 MB); beyond that the oldest idle ones are forgotten.
 */
export interface HaproxyRateLimits {
  /**
   * Whether the limits apply at all; off, nothing is tracked and nothing refused (the policy
   * pack warns outside the lab). Defaults to true.
   */
  enabled?: boolean;
  /**
   * API requests (everything but the stream prefixes, WebSocket upgrades included) one client
   * address may make per `periodSeconds` (1..1000000). HLS segments are not counted: a player
   * fetches them steadily and the stream servers' caches make them cheap. Defaults to 300, i.e.
   * bursts of 300 and 30 req/s sustained: far above one person in a browser, so a few dozen
   * behind one NAT fit, while a script hammering the API is cut within a period.
   */
  apiRequests?: number;
  /**
   * The window the requests are counted over, in seconds (1..3600), and the `Retry-After` sent.
   * Shorter forgives a burst sooner but catches a slow, steady abuser later; longer the reverse,
   * and keeps a throttled client out longer. Defaults to 10.
   */
  periodSeconds?: number;
  /**
   * Connections one client address may hold open at once, on every listener (1..100000); every
   * request on a connection opened beyond it is answered 429, while the ones before it stay
   * served. A browser holds about 6 over HTTP/1.1 plus one per WebSocket. Connections are
   * counted on the node that holds them, never shared: the other node could not count them
   * down. With a trusted X-Forwarded-For proxy, the proxy's connections are not counted (they
   * carry many clients). Defaults to 100.
   */
  connections?: number;
  /**
   * IPv4 networks (CIDR, at most 32) never limited nor tracked, e.g. monitoring or a partner's
   * egress; [] limits everyone. Defaults to ["10.77.0.0/24"], the lab subnet, so the lab's drills
   * and benches run unlimited.
   */
  exemptSources?: string[];
}

/**
 * Where the client's address comes from, for the limits, the log and the `X-Forwarded-For` the
 * backends get (its last entry is that address). Only connections from `trustedProxies` may
 * set it; anyone else is taken at their connection's address, whatever they send.
 */
export interface HaproxyClientAddress {
  /**
   * "connection": the TCP peer, as today. "proxy-protocol": a PROXY protocol header (v1 or v2),
   * which every connection from `trustedProxies` must then start with (a trusted proxy's own
   * health checks too), while everyone else connects plainly. "x-forwarded-for": the last entry
   * of that header, the one the nearest (trusted) proxy added. Defaults to "connection".
   */
  source?: ClientAddressSource;
  /** IPv4 networks (CIDR, at most 32) of the proxies in front; empty exactly when `source` is "connection". Defaults to []. */
  trustedProxies?: string[];
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
  /** Per-client request and connection limits. */
  rateLimits?: HaproxyRateLimits;
  /** Where the client's address comes from. */
  clientAddress?: HaproxyClientAddress;
}

/**
 * The pair's VRRP (keepalived, VRRPv3 unicast, nopreempt): the address clients use, the segment it
 * lives on, and how fast it moves to the other node. The segment's three fields describe the
 * network the nodes' eth0 are on; their defaults describe the one-host lab's bridge
 * (scripts/lab-host.sh), so a pair elsewhere sets the three together.
 */
export interface HaproxyVrrp {
  /**
   * The virtual IP the pair holds: a host address of `subnet`, outside `leasedRange` and not
   * `gateway` (the lab: 10.77.0.200-10.77.0.254). Required; the stack's default is "", which runs one node.
   */
  virtualIp: string;
  /**
   * The IPv4 network (CIDR, /8 to /29) the nodes' eth0 are on, where the adverts go and the
   * virtual IP is added with its prefix length. Defaults to "10.77.0.0/24", the one-host lab's bridge.
   */
  subnet?: string;
  /**
   * The addresses of `subnet` something else may hand out, as `first-last` (a DHCP server's
   * pool, addresses given by hand): the virtual IP must stay out of them, or it could be handed
   * to another host. "" when nothing is. Defaults to "10.77.0.2-10.77.0.199", the lab's DHCP range.
   */
  leasedRange?: string;
  /**
   * The router's (or host's) own address on `subnet`, which the virtual IP must not be; "" when
   * not known. Defaults to "10.77.0.1", the lab host's address on its bridge.
   */
  gateway?: string;
  /**
   * Advertisement interval in ms (100..1000, a multiple of 10: VRRPv3 counts centiseconds). The
   * survivor takes the address about 3.6 intervals after the holder falls silent. Defaults to 200.
   */
  advertIntervalMs?: number;
  /** VRRP router id (1..255), unique among the pairs on one L2 segment. Defaults to 51. */
  routerId?: number;
}
