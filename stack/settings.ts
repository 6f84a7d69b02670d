import { ClientAddressSource } from "../components/haproxy/haproxyOptions";
import { componentDefaults } from "./fields";

/**
 * The stack's tunables: one field per `veza-infra:<key>` of Pulumi.yaml, with the defaults the
 * program applies when a stack leaves a key unset. Pure: reading pulumi.Config is the caller's job.
 */

/** Every stack-config key, typed; field names are the keys without the `veza-infra:` namespace. */
export interface Settings {
  backendApiCount: number;
  streamServerCount: number;
  httpPort: number;
  httpsPort: number;
  tlsCertPath: string;
  backendApiPort: number;
  streamServerPort: number;
  backendApiHealthPath: string;
  streamServerHealthPath: string;
  streamPathPrefixes: string[];
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  healthCheckFall: number;
  healthCheckRise: number;
  gracefulDrainSeconds: number;
  stickyCookieName: string;
  connectTimeoutMs: number;
  serverTimeoutMs: number;
  tunnelTimeoutSeconds: number;
  hardStopAfterSeconds: number;
  retries: number;
  drainServers: string[];
  backendApiFallbackServers: string[];
  streamServerFallbackServers: string[];
  backendApiBinaryPath: string;
  streamServerBinaryPath: string;
  statsPort: number;
  metricsPort: number;
  metricsAllowedSources: string[];
  // Edge protection (issue 22): per-client limits and where the client's address comes from.
  rateLimitEnabled: boolean;
  rateLimitApiRequests: number;
  rateLimitPeriodSeconds: number;
  rateLimitConnections: number;
  rateLimitExemptSources: string[];
  clientAddressSource: ClientAddressSource;
  trustedProxies: string[];
  // End of edge protection.
  incusRemote: string;
  incusTarget: string;
  incusImage: string;
  incusNetwork: string;
  incusStoragePool: string;
  haproxyLimitsCpu: number;
  haproxyLimitsMemory: string;
  haproxyRootSize: string;
  backendApiLimitsCpu: number;
  backendApiLimitsMemory: string;
  backendApiRootSize: string;
  streamServerLimitsCpu: number;
  streamServerLimitsMemory: string;
  streamServerRootSize: string;
  namePrefix: string;
  policyWaivers: string[];
  haproxyCount: number;
  virtualIp: string;
  vrrpSubnet: string;
  vrrpLeasedRange: string;
  vrrpGateway: string;
  vrrpAdvertIntervalMs: number;
  vrrpRouterId: number;
  logEveryRequest: boolean;
  backendApiStartTimeoutSeconds: number;
  streamServerStartTimeoutSeconds: number;
  backendApiMaxUnavailable: number;
  backendApiDrainTimeoutSeconds: number;
  backendApiCanarySeconds: number;
  backendApiCanaryMaxErrors: number;
  streamServerMaxUnavailable: number;
  streamServerDrainTimeoutSeconds: number;
  streamServerCanarySeconds: number;
  streamServerCanaryMaxErrors: number;
}

/** Settings as read, before validation: every key present, any value. */
export type RawSettings = { [K in keyof Settings]: unknown };

/** Namespace of every stack-config key, as in `veza-infra:httpPort`. */
export const CONFIG_NAMESPACE = "veza-infra";

/** The full stack-config key of a setting, as an operator types it in `pulumi config set`. */
export function configKey(key: keyof Settings): string {
  return `${CONFIG_NAMESPACE}:${key}`;
}

/**
 * The defaults, in the one place they live; Pulumi.yaml declares the same values (a unit test
 * holds the two together) so `pulumi config` shows them too.
 */
export const DEFAULTS: Readonly<Settings> = Object.freeze({
  // What no component declares: the stack's own shape.
  backendApiCount: 2,
  streamServerCount: 2,
  namePrefix: "",
  policyWaivers: [],
  haproxyCount: 1,
  // Each component argument's default is declared once, with its rule (stack/fields.ts says which).
  ...(componentDefaults() as Omit<Settings, "backendApiCount" | "streamServerCount" | "namePrefix" | "policyWaivers" | "haproxyCount">),
});

/**
 * The seed's defaults table (Ansible role `haproxy`), kept for the record. Ours differ only in
 * the health-check cadence: at 5000 ms x fall 3 a dead server stays in rotation for ~15 s, and
 * every request pinned to it in that window pays a failed attempt; 500 ms x fall 2 finds it in
 * ~1 s, and the passive check (observe, see haproxyConfig.ts) usually sooner.
 */
export const SEED_DEFAULTS = Object.freeze({
  httpPort: 80,
  httpsPort: 443,
  tlsCertPath: "",
  backendApiPort: 8080,
  streamServerPort: 8082,
  healthCheckIntervalMs: 5000,
  healthCheckFall: 3,
  healthCheckRise: 2,
  gracefulDrainSeconds: 30,
  stickyCookieName: "VEZA_SERVERID",
  statsPort: 9100,
} satisfies Partial<Settings>);

/**
 * Pulumi hands every config value over as a string (`pulumi.Config.get`), while a stack file read
 * with a YAML parser yields numbers, booleans and lists; both are accepted. A string is turned into
 * a number, boolean or list only when it reads as one exactly, so anything else reaches validation, and its
 * message, as it was written: `9223372036854775807` would become 9223372036854776000.
 */
function coerce(defaultValue: unknown, value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (typeof defaultValue === "boolean" && (value === "true" || value === "false")) return value === "true";
  if (typeof defaultValue === "number" && /^\s*-?\d+\s*$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  if (Array.isArray(defaultValue)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

/**
 * Reads every key through `get` (e.g. `(k) => config.get(k)` over `new pulumi.Config()`), fills
 * the defaults for unset keys and returns the raw values for {@link validateSettings}; nothing is
 * validated here, so one validation pass can report every problem at once.
 */
export function settingsFromConfig(get: (key: string) => unknown): RawSettings {
  const entries = (Object.keys(DEFAULTS) as (keyof Settings)[]).map((key) => {
    const value = get(key);
    const fallback = DEFAULTS[key];
    // A copy, so a caller that edits its settings cannot edit the shared defaults.
    if (value === undefined || value === null) return [key, Array.isArray(fallback) ? [...fallback] : fallback];
    return [key, coerce(fallback, value)];
  });
  return Object.fromEntries(entries) as RawSettings;
}

/** How a stack refused someone else's containers (ownership.ts) gets out: its own prefix. */
export const NAME_PREFIX_WAY_OUT = `Give this stack a ${configKey("namePrefix")} no other stack uses, e.g. pulumi config set ${configKey("namePrefix")} <prefix>-`;

/** Name of the HAProxy container before the stack's prefix. */
export const HAPROXY_NAME = "haproxy";

/**
 * Logical names of the HAProxy nodes: `haproxy`, then `haproxy-2` for the pair. The first keeps
 * the single node's name, so a stack that turns the pair on keeps its serving container and adds
 * one, instead of replacing the load balancer it has.
 */
export function haproxyNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? HAPROXY_NAME : `${HAPROXY_NAME}-${i + 1}`));
}

/**
 * Logical names of the upstream containers for the configured counts: `backend-api-1`.. and
 * `stream-server-1`... They are also the HAProxy server names and sticky-cookie values, so they
 * never carry the stack's namePrefix; only the Incus container name does ({@link containerName}).
 */
export function fleetNames(counts: Pick<Settings, "backendApiCount" | "streamServerCount">): {
  backendApi: string[];
  streamServer: string[];
} {
  const names = (base: string, count: number) => Array.from({ length: count }, (_, i) => `${base}-${i + 1}`);
  return { backendApi: names("backend-api", counts.backendApiCount), streamServer: names("stream-server", counts.streamServerCount) };
}

/** The Incus container name of a logical name, e.g. `lab-backend-api-1`. */
export function containerName(namePrefix: string, logicalName: string): string {
  return namePrefix + logicalName;
}
