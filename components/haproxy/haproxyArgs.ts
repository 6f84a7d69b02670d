/**
 * The HAProxy node's option groups (declared, each field with its meaning and default, beside
 * {@link HaproxyNode} in haproxyNode.ts) completed and mapped to stack config. Stack config stays flat (`veza-infra:<key>`); {@link HAPROXY_FIELDS} says which
 * group field each key feeds, and {@link haproxyArgsFromSettings} is the one mapping between them.
 * Every default is the one in DEFAULTS (settings.ts), reached through that mapping.
 */
import type { HaproxyOptions } from "./haproxyOptions";
import { DEFAULTS, Settings } from "../../stack/settings";

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
  | "rateLimitEnabled"
  | "rateLimitApiRequests"
  | "rateLimitPeriodSeconds"
  | "rateLimitConnections"
  | "rateLimitExemptSources"
  | "clientAddressSource"
  | "trustedProxies"
>;

/** Dotted paths to every leaf of `T`, e.g. `pools.backendApi.port`. */
type Leaves<T> = {
  [K in keyof T & string]: T[K] extends readonly unknown[] ? K : T[K] extends object ? `${K}.${Leaves<T[K]>}` : K;
}[keyof T & string];

/**
 * The group field each HAProxy setting feeds. A table rather than code, so the mapping, its
 * inverse (to validate a component's own arguments with the program's rules) and the "feeds"
 * column of docs/configuration.md cannot disagree.
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
  rateLimitEnabled: "rateLimits.enabled",
  rateLimitApiRequests: "rateLimits.apiRequests",
  rateLimitPeriodSeconds: "rateLimits.periodSeconds",
  rateLimitConnections: "rateLimits.connections",
  rateLimitExemptSources: "rateLimits.exemptSources",
  clientAddressSource: "clientAddress.source",
  trustedProxies: "clientAddress.trustedProxies",
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
