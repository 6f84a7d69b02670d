/**
 * The table from each stack-config key to the component argument it feeds: which component, and
 * the argument's path in that component's rules. Stack config stays flat (`veza-infra:<key>`);
 * this is the one mapping between the two shapes, read to build the components' arguments, to
 * check settings by the components' own rules (naming the key), for the defaults, and for the
 * "feeds" column of docs/configuration.md.
 */
import type { CompleteHaproxyOptions, LeafPaths } from "../components/haproxy/haproxyArgs";
import { haproxyRules, VRRP_RULES } from "../components/haproxy/haproxyRules";
import { PLACEMENT_RULES } from "../components/incus/incusScripts";
import { LIMITS_RULES } from "../components/incus/instanceLimits";
import { ROLLOUT_RULES } from "../components/services/rollout";
import { serviceRules } from "../components/services/serviceInstance";
import { Rules } from "../components/common/rules";

/** The HAProxy option path each key feeds (HaproxyNode, and both nodes of a HaproxyPair). */
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
} as const satisfies Record<string, LeafPaths<CompleteHaproxyOptions>>;

/** The HaproxyPair's `vrrp` paths. */
export const VRRP_FIELDS = {
  virtualIp: "vrrp.virtualIp",
  vrrpSubnet: "vrrp.subnet",
  vrrpLeasedRange: "vrrp.leasedRange",
  vrrpGateway: "vrrp.gateway",
  vrrpAdvertIntervalMs: "vrrp.advertIntervalMs",
  vrrpRouterId: "vrrp.routerId",
} as const;

/** Each role's limits. */
export const LIMITS_FIELDS = {
  haproxy: { haproxyLimitsCpu: "limits.cpu", haproxyLimitsMemory: "limits.memory", haproxyRootSize: "limits.rootSize" },
  "backend-api": { backendApiLimitsCpu: "limits.cpu", backendApiLimitsMemory: "limits.memory", backendApiRootSize: "limits.rootSize" },
  "stream-server": {
    streamServerLimitsCpu: "limits.cpu",
    streamServerLimitsMemory: "limits.memory",
    streamServerRootSize: "limits.rootSize",
  },
} as const;

/** Each fleet's service options. */
export const SERVICE_FIELDS = {
  "backend-api": {
    backendApiPort: "port",
    backendApiHealthPath: "healthPath",
    backendApiBinaryPath: "binaryPath",
    backendApiStartTimeoutSeconds: "startTimeoutSeconds",
  },
  "stream-server": {
    streamServerPort: "port",
    streamServerHealthPath: "healthPath",
    streamServerBinaryPath: "binaryPath",
    streamServerStartTimeoutSeconds: "startTimeoutSeconds",
  },
} as const;

/** Each fleet's rollout options (FleetRollout's `rollout`). */
export const ROLLOUT_FIELDS = {
  "backend-api": {
    backendApiMaxUnavailable: "maxUnavailable",
    backendApiDrainTimeoutSeconds: "drainTimeoutSeconds",
    backendApiCanarySeconds: "canarySeconds",
    backendApiCanaryMaxErrors: "canaryMaxErrors",
  },
  "stream-server": {
    streamServerMaxUnavailable: "maxUnavailable",
    streamServerDrainTimeoutSeconds: "drainTimeoutSeconds",
    streamServerCanarySeconds: "canarySeconds",
    streamServerCanaryMaxErrors: "canaryMaxErrors",
  },
} as const;

/** Every component's `placement`. */
export const PLACEMENT_FIELDS = {
  incusRemote: "remote",
  incusTarget: "target",
  incusImage: "image",
  incusNetwork: "network",
  incusStoragePool: "storagePool",
} as const;

/** A group of keys feeding one component's arguments, checked by that component's rules. */
export interface Feed {
  /** The component, and where in its arguments, as the "feeds" column says it, e.g. "HaproxyNode `listeners.httpPort`". */
  feeds(path: string): string;
  /** Key → argument path. */
  fields: Readonly<Record<string, string>>;
  /** The rules the keys are checked by; `paired` when the stack runs the HAProxy pair. */
  rules(paired: boolean): Rules;
}

const by =
  (component: string, prefix = "") =>
  (path: string) =>
    `${component} \`${prefix}${path}\``;

/**
 * Every group, in the order problems are reported. A key feeding two components (a fleet's port
 * and health path feed both HAProxy and the instance) is checked by the first rule naming it,
 * and its "feeds" cell names the last.
 */
export const FEEDS: readonly Feed[] = [
  { feeds: by("HaproxyNode"), fields: HAPROXY_FIELDS, rules: (paired) => haproxyRules(paired) },
  { feeds: by("HaproxyPair"), fields: VRRP_FIELDS, rules: () => VRRP_RULES },
  ...(["backend-api", "stream-server"] as const).flatMap((service) => {
    const component = service === "backend-api" ? "BackendApiInstance" : "StreamServerInstance";
    return [
      { feeds: by(component), fields: SERVICE_FIELDS[service], rules: () => serviceRules(service) },
      { feeds: by(component), fields: LIMITS_FIELDS[service], rules: () => LIMITS_RULES },
      { feeds: by("FleetRollout", "rollout."), fields: ROLLOUT_FIELDS[service], rules: () => ROLLOUT_RULES },
    ];
  }),
  { feeds: by("HaproxyNode"), fields: LIMITS_FIELDS.haproxy, rules: () => LIMITS_RULES },
  { feeds: by("every component's", "placement."), fields: PLACEMENT_FIELDS, rules: () => PLACEMENT_RULES },
];

/** The arguments `fields` builds from flat settings: each key's value at its path. */
export function argumentsOf<T>(fields: Readonly<Record<string, string>>, settings: object): T {
  const tree: Record<string, unknown> = {};
  for (const [key, path] of Object.entries(fields)) {
    const keys = path.split(".");
    const group = keys.slice(0, -1).reduce((node, k) => (node[k] ??= {}) as Record<string, unknown>, tree);
    group[keys[keys.length - 1]] = (settings as Record<string, unknown>)[key];
  }
  return tree as T;
}

/** The default of every key a component's rule declares. */
export function componentDefaults(): Record<string, unknown> {
  return Object.fromEntries(
    FEEDS.flatMap(({ fields, rules }) => {
      const all = rules(false);
      return Object.entries(fields).map(([key, path]) => [key, all[path].default]);
    }),
  );
}
