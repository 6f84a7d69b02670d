/**
 * Validation of the stack's settings before anything is created: every problem is collected and
 * reported in one error, each line naming the `veza-infra:<key>` to fix and what it accepts.
 */
import * as fs from "fs";
import { WAIVER_FORMAT, parseWaiver } from "../policy/rules";
import { CLIENT_ADDRESS_SOURCES, PEERS_PORT } from "../components/haproxy/haproxyOptions";
import { LAB_STATIC_RANGE, LAB_SUBNET, virtualIpConflict } from "../components/incus/labNetwork";
import { CONFIG_NAMESPACE, DEFAULTS, RawSettings, Settings, configKey, containerName, fleetNames, haproxyNames } from "./settings";

/** Thrown by {@link validateSettings}; the message lists every problem, one per line. */
export class SettingsError extends Error {
  /** One line per problem, each starting with the `veza-infra:<key>` it is about. */
  public readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(
      `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "SettingsError";
    this.problems = problems;
  }
}

/** What a path names, links followed; "missing" also when a part of it is not a directory. */
export type FileKind = "file" | "directory" | "other" | "missing";

/** The file checks validation needs; injected so tests need no real files. */
export interface FileAccess {
  kind(path: string): FileKind;
  /** The file's text; may throw when it cannot be read. */
  readText(path: string): string;
}

/** {@link FileAccess} over the Pulumi host's file system. */
export const LOCAL_FILES: FileAccess = {
  kind: (path) => {
    try {
      const stat = fs.statSync(path, { throwIfNoEntry: false });
      if (!stat) return "missing";
      return stat.isFile() ? "file" : stat.isDirectory() ? "directory" : "other";
    } catch {
      // ENOTDIR (a file used as a directory) and EACCES: nothing usable is there either.
      return "missing";
    }
  },
  readText: (path) => fs.readFileSync(path, "utf8"),
};

type IntegerKey = { [K in keyof Settings]: Settings[K] extends number ? K : never }[keyof Settings];

const PORT: readonly [number, number] = [1, 65535];
const MAX_INTERVAL_MS = 3_600_000;

/**
 * Allowed range of every integer key. The health-check timeout is further bounded by the
 * interval (see below): a check still running when the next one is due would overlap it.
 */
const INTEGER_RANGES: Record<IntegerKey, readonly [number, number]> = {
  backendApiCount: [0, 32],
  streamServerCount: [0, 32],
  httpPort: PORT,
  httpsPort: PORT,
  backendApiPort: PORT,
  streamServerPort: PORT,
  statsPort: PORT,
  metricsPort: PORT,
  healthCheckIntervalMs: [100, MAX_INTERVAL_MS],
  healthCheckTimeoutMs: [50, MAX_INTERVAL_MS - 1],
  healthCheckFall: [1, 100],
  healthCheckRise: [1, 100],
  gracefulDrainSeconds: [0, 3600],
  connectTimeoutMs: [50, 60_000],
  serverTimeoutMs: [100, MAX_INTERVAL_MS],
  tunnelTimeoutSeconds: [1, 86_400],
  hardStopAfterSeconds: [1, 86_400],
  retries: [0, 10],
  haproxyCount: [1, 2],
  vrrpAdvertIntervalMs: [100, 1000],
  vrrpRouterId: [1, 255],
  // 0 is no limit; a count above the host's CPUs is refused below when the host is known.
  haproxyLimitsCpu: [0, 256],
  backendApiLimitsCpu: [0, 256],
  streamServerLimitsCpu: [0, 256],
  backendApiStartTimeoutSeconds: [1, 3600],
  streamServerStartTimeoutSeconds: [1, 3600],
  // Below the fleet's size too (see validateSettings): a rollout never restarts a whole fleet.
  backendApiMaxUnavailable: [1, 31],
  backendApiDrainTimeoutSeconds: [0, 3600],
  backendApiCanarySeconds: [0, 3600],
  backendApiCanaryMaxErrors: [0, 1_000_000],
  streamServerMaxUnavailable: [1, 31],
  streamServerDrainTimeoutSeconds: [0, 3600],
  streamServerCanarySeconds: [0, 3600],
  streamServerCanaryMaxErrors: [0, 1_000_000],
  // Edge protection (issue 22). A period beyond an hour would keep a throttled client out for as
  // long (Retry-After is the period); the counts are bounded only so a typo cannot overflow.
  rateLimitApiRequests: [1, 1_000_000],
  rateLimitPeriodSeconds: [1, 3600],
  rateLimitConnections: [1, 100_000],
};

/**
 * A size Incus reads (`limits.memory`, a disk's `size`), narrowed to whole MiB or GiB: Incus also
 * takes MB, GB, bytes and percentages, but one unit family keeps every value comparable at a glance.
 */
const SIZE = /^([1-9]\d{0,6})(MiB|GiB)$/;
/**
 * Floors that catch a slipped unit rather than size anything: the services use 30-45MiB of
 * memory (measured in the lab), and the lab image ~370MiB of disk, which Incus counts in the quota.
 */
const MIN_MEMORY_MIB = 64;
const MIN_ROOT_MIB = 1024;
const LIMITS = [
  { cpu: "haproxyLimitsCpu", memory: "haproxyLimitsMemory", rootSize: "haproxyRootSize" },
  { cpu: "backendApiLimitsCpu", memory: "backendApiLimitsMemory", rootSize: "backendApiRootSize" },
  { cpu: "streamServerLimitsCpu", memory: "streamServerLimitsMemory", rootSize: "streamServerRootSize" },
] as const;

/** MiB of a {@link SIZE}, or undefined when it is not one. */
function mebibytes(size: string): number | undefined {
  const match = SIZE.exec(size);
  return match ? Number(match[1]) * (match[2] === "GiB" ? 1024 : 1) : undefined;
}

/** VRRPv3 carries the advertisement interval in centiseconds; keepalived would round anything finer. */
const VRRP_INTERVAL_STEP_MS = 10;

const VIRTUAL_IP_RULE = `an IPv4 address from ${LAB_STATIC_RANGE}, the part of the lab subnet ${LAB_SUBNET} no container is leased`;

/*
 * Every string is held to an allowlist, never a denylist: its values end up in haproxy.cfg and
 * in shell scripts, and only characters that mean nothing in either are let through.
 */

/**
 * A URL path as HAProxy sends it (health checks) or matches it (path_beg): RFC 3986 unreserved
 * characters and the sub-delims that mean nothing to haproxy.cfg or a shell. No `%` at all: a
 * percent-encoding would bring back, once decoded, the very characters kept out.
 */
const URL_PATH = /^\/[A-Za-z0-9\-._~/:@+,=]{0,255}$/;
const URL_PATH_RULE = "must be a URL path: '/' then letters, digits and -._~/:@+,= only (no %), at most 256 characters";
/** Beyond this a prefix list is a mistake, not a routing table; HAProxy itself would take more. */
const MAX_STREAM_PREFIXES = 1000;

/** An RFC 6265 cookie name (an RFC 2616 token), narrowed to the token characters no tool treats specially. */
const COOKIE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A file on the Pulumi host, pushed by `incus file push <path>`: plain characters, and never read as an option. */
const FILE_PATH = /^[A-Za-z0-9._/+@][A-Za-z0-9._/+@-]{0,4095}$/;
const FILE_PATH_RULE = "a path of 1 to 4096 letters, digits and ._/+-@, not starting with '-'";

/** Incus names of remotes, cluster members and storage pools. */
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TOKEN_CHARS = "1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit";
/** Image aliases may have path-like segments (e.g. `veza-lab/bookworm`). */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/;
/** A bridge network is a Linux interface, whose name the kernel caps at 15 characters. */
const NETWORK = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;

export const INCUS_NAME_RULE = "letters, digits and hyphens, starting with a letter, at most 63 characters, not ending with a hyphen";
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** An IPv4 network in CIDR notation with no host bits set, e.g. `10.77.0.0/24` or `192.0.2.7/32`. */
const IPV4_CIDR = /^([\d.]+)\/(3[0-2]|[12]?\d)$/;
/**
 * Each list of networks is one `src` ACL on one config line, which HAProxy 2.6 reads to 64 words;
 * an allowlist longer than this belongs in a firewall, not in haproxy.cfg.
 */
const MAX_SOURCES = 32;
const CIDR_RULE = "must be an IPv4 network in CIDR notation with no host bits set, e.g. 10.77.0.0/24 or 192.0.2.7/32";
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** What JSON leaves raw but a terminal may act on: DEL, C1 controls (CSI among them), line and bidi controls. */
const TERMINAL_CONTROLS = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Longer strings are cut in messages, which must stay readable whatever was typed. */
const SHOWN_CHARS = 64;

/** JSON text with the characters a terminal could act on escaped too, so a message prints as plain text. */
function escaped(json: string): string {
  return json.replace(TERMINAL_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** How a rejected value is shown: as JSON, so strings keep their quotes and lists their brackets. */
function shown(value: unknown): string {
  if (typeof value === "string" && value.length > SHOWN_CHARS) {
    return `${escaped(JSON.stringify(value.slice(0, SHOWN_CHARS))).slice(0, -1)}..." (${value.length} characters)`;
  }
  return escaped(JSON.stringify(value) ?? String(value));
}

/** Edit distance (insertions, deletions, substitutions) between two strings. */
function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The setting a mistyped key most likely meant: nearest ignoring case within 3 edits, else one of the same letters. */
function closestSetting(typed: string): keyof Settings | undefined {
  const settings = Object.keys(DEFAULTS) as (keyof Settings)[];
  const letters = (text: string) => [...text.toLowerCase()].sort().join("");
  // A stable sort: on a tie the setting declared first wins, so the suggestion never varies.
  const [nearest] = settings
    .map((key) => ({ key, distance: levenshtein(typed.toLowerCase(), key.toLowerCase()) }))
    .sort((a, b) => a.distance - b.distance);
  if (nearest.distance <= 3) return nearest.key;
  return settings.find((key) => letters(key) === letters(typed));
}

/**
 * One problem per key of the project's namespace that is not a setting, e.g. from every key of
 * `pulumi.runtime.allConfig()`: a mistyped key would otherwise be ignored and its default used
 * without a word. Keys of other namespaces (providers, other projects) are not ours to judge.
 */
export function unknownKeyProblems(keys: readonly string[]): string[] {
  const namespace = `${CONFIG_NAMESPACE}:`;
  return keys
    .filter((key) => key.startsWith(namespace) && !Object.hasOwn(DEFAULTS, key.slice(namespace.length)))
    .map((key) => {
      const guess = closestSetting(key.slice(namespace.length));
      const hint = guess ? `did you mean ${configKey(guess)}?` : `the settings are the ${namespace} keys of Pulumi.yaml`;
      return `${escaped(JSON.stringify(key).slice(1, -1))} is not a setting of this project; ${hint}`;
    });
}

/** True when `name` is a valid Incus instance name (a hostname label that starts with a letter). */
export function isIncusName(name: string): boolean {
  return /^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name);
}

/** True for an IPv4 dotted quad such as `10.77.0.11`. */
export function isIPv4(address: string): boolean {
  return IPV4.test(address);
}

/**
 * True for an IPv4 network such as `10.77.0.0/24` whose address has no bit set beyond the prefix:
 * `10.77.0.5/24` is refused rather than read as 10.77.0.0/24, since it is most likely a typo for
 * one host (`/32`) or one network, and the two differ by 255 allowed clients.
 */
export function isIPv4Cidr(cidr: string): boolean {
  const match = IPV4_CIDR.exec(cidr);
  if (!match || !isIPv4(match[1])) return false;
  const address = match[1].split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const hostBits = 2 ** (32 - Number(match[2]));
  return address % hostBits === 0;
}

/** True for an IPv4 dotted quad or a DNS host name; all-numeric names must be valid IPv4. */
export function isHost(host: string): boolean {
  if (/^[\d.]+$/.test(host)) return isIPv4(host);
  return host.length <= 253 && host.split(".").every((label) => DNS_LABEL.test(label));
}

/** Splits a `host:port` upstream; undefined when it is not one with a valid host and port. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^([^:]+):(\d{1,5})$/.exec(value);
  if (!match || !isHost(match[1])) return undefined;
  const port = Number(match[2]);
  return port >= PORT[0] && port <= PORT[1] ? { host: match[1], port } : undefined;
}

/** Why a path given for a file is not one, or undefined when it is a regular file. */
function notAFile(files: FileAccess, path: string): string | undefined {
  return { file: undefined, directory: "is a directory", other: "not a regular file", missing: "no such file" }[files.kind(path)];
}

/**
 * Checks every setting and returns them typed, or throws one {@link SettingsError} listing every
 * problem found. Files named by the settings (TLS PEM, binaries) are looked up through `files`.
 * `configKeys` are the full keys the stack sets (any namespace), checked by {@link unknownKeyProblems}.
 * `localCpus`, the CPUs of the Pulumi host, bounds the CPU limits when the containers run there
 * (veza-infra:incusRemote empty); a component, which may be placed anywhere, passes none.
 */
export function validateSettings(
  raw: RawSettings | Settings,
  files: FileAccess = LOCAL_FILES,
  configKeys: readonly string[] = [],
  localCpus?: number,
): Settings {
  const problems: string[] = unknownKeyProblems(configKeys);
  const problem = (key: keyof Settings, text: string) => problems.push(`${configKey(key)} ${text}`);
  const inRange = (value: unknown, [min, max]: readonly [number, number]) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
  const isInteger = (key: IntegerKey) => inRange(raw[key], INTEGER_RANGES[key]);

  const interval = isInteger("healthCheckIntervalMs") ? (raw.healthCheckIntervalMs as number) : undefined;
  for (const key of Object.keys(INTEGER_RANGES) as IntegerKey[]) {
    const belowInterval = key === "healthCheckTimeoutMs" && interval !== undefined;
    const range = belowInterval ? ([INTEGER_RANGES[key][0], interval - 1] as const) : INTEGER_RANGES[key];
    if (!inRange(raw[key], range)) {
      const bound = belowInterval ? `, below ${configKey("healthCheckIntervalMs")}` : "";
      problem(key, `must be an integer from ${range[0]} to ${range[1]}${bound} (got ${shown(raw[key])})`);
    }
  }
  if (isInteger("vrrpAdvertIntervalMs") && (raw.vrrpAdvertIntervalMs as number) % VRRP_INTERVAL_STEP_MS !== 0) {
    problem(
      "vrrpAdvertIntervalMs",
      `must be a multiple of ${VRRP_INTERVAL_STEP_MS}: VRRPv3 counts the interval in centiseconds (got ${shown(raw.vrrpAdvertIntervalMs)})`,
    );
  }

  for (const [key, count] of [
    ["backendApiMaxUnavailable", "backendApiCount"],
    ["streamServerMaxUnavailable", "streamServerCount"],
  ] as const) {
    const size = raw[count] as number;
    if (isInteger(key) && isInteger(count) && size >= 2 && (raw[key] as number) >= size) {
      problem(
        key,
        `must be below ${configKey(count)} (${size}), so that a rollout never restarts the whole fleet (got ${shown(raw[key])})`,
      );
    }
  }

  for (const key of ["logEveryRequest", "rateLimitEnabled"] as const) {
    if (typeof raw[key] !== "boolean") problem(key, `must be true or false (got ${shown(raw[key])})`);
  }

  const text = (key: keyof Settings): string | undefined => {
    const value = raw[key];
    if (typeof value === "string") return value;
    problem(key, `must be a string (got ${shown(value)})`);
    return undefined;
  };
  const list = (key: keyof Settings): string[] | undefined => {
    const value = raw[key];
    if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
    problem(key, `must be a list of strings (got ${shown(value)})`);
    return undefined;
  };

  for (const key of ["backendApiHealthPath", "streamServerHealthPath"] as const) {
    const value = text(key);
    if (value !== undefined && !URL_PATH.test(value)) problem(key, `${URL_PATH_RULE} (got ${shown(value)})`);
  }
  const prefixes = list("streamPathPrefixes");
  if (prefixes?.length === 0)
    problem("streamPathPrefixes", "must list at least one path prefix, or nothing would reach stream_pool (got [])");
  if (prefixes && prefixes.length > MAX_STREAM_PREFIXES)
    problem("streamPathPrefixes", `must list at most ${MAX_STREAM_PREFIXES} path prefixes (got ${prefixes.length})`);
  prefixes?.forEach((prefix, i) => {
    if (!URL_PATH.test(prefix)) problems.push(`${configKey("streamPathPrefixes")}[${i}] ${URL_PATH_RULE} (got ${shown(prefix)})`);
  });

  const cookie = text("stickyCookieName");
  if (cookie !== undefined && !COOKIE_NAME.test(cookie)) {
    problem("stickyCookieName", `must be an RFC 6265 cookie name of 1 to 64 letters, digits, '-', '.' or '_' (got ${shown(cookie)})`);
  }

  const optionalToken = (key: "incusRemote" | "incusTarget") => {
    const value = text(key);
    if (value && !TOKEN.test(value)) problem(key, `must be empty or ${TOKEN_CHARS} (got ${shown(value)})`);
  };
  optionalToken("incusRemote");
  optionalToken("incusTarget");
  const image = text("incusImage");
  if (image !== undefined && !IMAGE.test(image)) {
    problem(
      "incusImage",
      `must be an image alias or fingerprint: 1 to 255 letters, digits, '.', '_', '-' or '/', starting with a letter or digit (got ${shown(image)})`,
    );
  }
  const network = text("incusNetwork");
  if (network !== undefined && !NETWORK.test(network)) {
    problem(
      "incusNetwork",
      `must be a bridge name of 1 to 15 letters, digits, '.', '_' or '-', starting with a letter or digit (got ${shown(network)})`,
    );
  }
  const pool = text("incusStoragePool");
  if (pool !== undefined && !TOKEN.test(pool)) problem("incusStoragePool", `must be ${TOKEN_CHARS} (got ${shown(pool)})`);

  for (const { cpu, memory, rootSize } of LIMITS) {
    if (localCpus !== undefined && raw.incusRemote === "" && isInteger(cpu) && (raw[cpu] as number) > localCpus) {
      problem(
        cpu,
        `must be an integer from 0 (no limit) to ${localCpus}, the CPUs of this host, where the containers run while ${configKey("incusRemote")} is empty (got ${shown(raw[cpu])})`,
      );
    }
    for (const [key, min, empty] of [
      [memory, MIN_MEMORY_MIB, "no limit"],
      [rootSize, MIN_ROOT_MIB, "the pool's default size"],
    ] as const) {
      const value = text(key);
      const mib = value ? mebibytes(value) : 0;
      if (value && (mib === undefined || mib < min)) {
        problem(
          key,
          `must be empty (${empty}) or a whole number of MiB or GiB, e.g. 512MiB or 2GiB, of at least ${min}MiB (got ${shown(value)})`,
        );
      }
    }
  }

  const counts = {
    backendApiCount: isInteger("backendApiCount") ? (raw.backendApiCount as number) : 0,
    streamServerCount: isInteger("streamServerCount") ? (raw.streamServerCount as number) : 0,
  };
  const names = fleetNames(counts);
  const haproxyCount = isInteger("haproxyCount") ? (raw.haproxyCount as number) : 1;
  const prefix = text("namePrefix");
  if (prefix !== undefined) {
    const bad = [...haproxyNames(haproxyCount), ...names.backendApi, ...names.streamServer]
      .map((name) => containerName(prefix, name))
      .find((name) => !isIncusName(name));
    if (bad !== undefined)
      problem("namePrefix", `gives the container name ${shown(bad)}, but Incus names must be ${INCUS_NAME_RULE} (got ${shown(prefix)})`);
  }

  const virtualIp = text("virtualIp");
  if (virtualIp !== undefined) {
    const conflict = virtualIp === "" ? undefined : isIPv4(virtualIp) ? virtualIpConflict(virtualIp) : "not an IPv4 address";
    if (conflict) {
      problem("virtualIp", `must be empty or ${VIRTUAL_IP_RULE} (got ${shown(virtualIp)}: ${conflict})`);
    } else if (virtualIp === "" && raw.haproxyCount === 2) {
      problem("virtualIp", `must be ${VIRTUAL_IP_RULE} when ${configKey("haproxyCount")} is 2: clients reach the pair there (got "")`);
    } else if (virtualIp !== "" && raw.haproxyCount === 1) {
      problem(
        "virtualIp",
        `must be empty while ${configKey("haproxyCount")} is 1: a single HAProxy is reached at its own address (got ${shown(virtualIp)})`,
      );
    }
  }

  const fleets = [
    { count: "backendApiCount", fallback: "backendApiFallbackServers" },
    { count: "streamServerCount", fallback: "streamServerFallbackServers" },
  ] as const;
  for (const { count, fallback } of fleets) {
    const servers = list(fallback);
    servers?.forEach((server, i) => {
      if (!parseHostPort(server)) {
        problems.push(
          `${configKey(fallback)}[${i}] must be host:port with an IPv4 address or DNS name and a port from 1 to 65535 (got ${shown(server)})`,
        );
      }
    });
    if (servers?.length === 0 && raw[count] === 0) {
      problem(fallback, `must list at least one host:port when ${configKey(count)} is 0, or the pool would have no server (got [])`);
    }
  }

  // An invalid count is named as the cause, not shown as the count 0 it is checked as here.
  const fleetRange = (fleet: string[], kind: string, count: keyof typeof counts) => {
    if (!isInteger(count)) return `no ${kind} while ${configKey(count)}=${shown(raw[count])} is invalid`;
    return fleet.length === 0 ? `no ${kind} (count 0)` : `${fleet[0]}..${fleet[fleet.length - 1]}`;
  };
  const drain = list("drainServers");
  const known = new Set([...names.backendApi, ...names.streamServer]);
  drain?.forEach((server, i) => {
    if (!known.has(server)) {
      problems.push(
        `${configKey("drainServers")}[${i}] must name a server of this stack: ${fleetRange(names.backendApi, "backend-api", "backendApiCount")}, ` +
          `${fleetRange(names.streamServer, "stream-server", "streamServerCount")} (got ${shown(server)})`,
      );
    }
  });

  /** A list of networks for one `src` ACL; `whyNotEmpty` says why an empty one is refused, if it is. */
  const networks = (key: "metricsAllowedSources" | "rateLimitExemptSources" | "trustedProxies", whyNotEmpty?: string) => {
    const sources = list(key);
    if (sources?.length === 0 && whyNotEmpty) problem(key, `must list at least one IPv4 network, ${whyNotEmpty} (got [])`);
    if (sources && sources.length > MAX_SOURCES) problem(key, `must list at most ${MAX_SOURCES} networks (got ${sources.length})`);
    sources?.forEach((source, i) => {
      if (!isIPv4Cidr(source)) problems.push(`${configKey(key)}[${i}] ${CIDR_RULE} (got ${shown(source)})`);
    });
    return sources;
  };
  networks("metricsAllowedSources", "or no scraper could reach /metrics");

  // Edge protection (issue 22). No exempt network at all is allowed: every client is limited.
  networks("rateLimitExemptSources");
  const given = text("clientAddressSource");
  const addressSource = CLIENT_ADDRESS_SOURCES.find((source) => source === given);
  if (given !== undefined && addressSource === undefined) {
    problem("clientAddressSource", `must be one of ${CLIENT_ADDRESS_SOURCES.map((s) => `"${s}"`).join(", ")} (got ${shown(given)})`);
  }
  const fromProxy = addressSource !== undefined && addressSource !== "connection";
  const proxies = networks(
    "trustedProxies",
    fromProxy
      ? `the only sources whose ${addressSource} address is believed, while ${configKey("clientAddressSource")} is "${addressSource}"`
      : undefined,
  );
  if (addressSource === "connection" && proxies && proxies.length > 0) {
    problem(
      "trustedProxies",
      `must be empty while ${configKey("clientAddressSource")} is "connection": no proxy's word is read for the client's address then (got ${shown(proxies)})`,
    );
  }

  list("policyWaivers")?.forEach((waiver, i) => {
    if (!parseWaiver(waiver)) problems.push(`${configKey("policyWaivers")}[${i}] must be ${WAIVER_FORMAT} (got ${shown(waiver)})`);
  });

  const filePath = (key: "tlsCertPath" | "backendApiBinaryPath" | "streamServerBinaryPath") => {
    const value = text(key);
    if (!value || FILE_PATH.test(value)) return value;
    problem(key, `must be empty or ${FILE_PATH_RULE} (got ${shown(value)})`);
    return undefined;
  };
  const tlsCertPath = filePath("tlsCertPath");
  if (tlsCertPath) {
    const pemProblem = (() => {
      const notFile = notAFile(files, tlsCertPath);
      if (notFile) return notFile;
      let pem: string;
      try {
        pem = files.readText(tlsCertPath);
      } catch (error) {
        return `unreadable: ${(error as Error).message}`;
      }
      if (!pem.includes("-----BEGIN CERTIFICATE-----")) return "no -----BEGIN CERTIFICATE----- block";
      if (/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(pem)) return undefined;
      return pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        ? "its private key is encrypted, and HAProxy cannot ask for a passphrase"
        : "no -----BEGIN PRIVATE KEY----- block (RSA and EC keys also do)";
    })();
    if (pemProblem)
      problem(
        "tlsCertPath",
        `must be empty or name a PEM file holding the certificate and its unencrypted private key (got ${shown(tlsCertPath)}: ${pemProblem})`,
      );
  }
  for (const key of ["backendApiBinaryPath", "streamServerBinaryPath"] as const) {
    const value = filePath(key);
    const notFile = value && notAFile(files, value);
    if (notFile) problem(key, `must be empty or name an existing file on the Pulumi host (got ${shown(value)}: ${notFile})`);
  }

  const listeners = (
    [
      ["httpPort", true],
      ["httpsPort", Boolean(tlsCertPath)],
      ["statsPort", true],
      ["metricsPort", true],
    ] as const
  ).filter(([key, bound]) => bound && isInteger(key));
  listeners.forEach(([key], i) => {
    const earlier = listeners.slice(0, i).find(([other]) => raw[other] === raw[key]);
    if (earlier) problem(key, `must differ from ${configKey(earlier[0])}: both would listen on port ${shown(raw[key])}`);
    // The pair's nodes share their limits' counters there (edge protection, issue 22).
    else if (raw.haproxyCount === 2 && raw.rateLimitEnabled === true && raw[key] === PEERS_PORT)
      problem(key, `must differ from ${PEERS_PORT}, where the pair's nodes share their rate-limit counters (got ${PEERS_PORT})`);
  });

  if (problems.length > 0) throw new SettingsError(problems);
  return raw as Settings;
}

/**
 * The problems of a component's own arguments, by the same rules as the stack's settings: the
 * arguments stand for the keys of `settings` (every other key is its default), and each problem
 * names the argument, `fields[key]`, instead of the stack-config key. Drain names are the
 * component's to check against its servers, so they are left out here.
 */
export function argumentProblems(
  settings: Partial<Settings>,
  fields: Partial<Record<keyof Settings, string>>,
  files: FileAccess = LOCAL_FILES,
): string[] {
  try {
    validateSettings({ ...DEFAULTS, ...settings, drainServers: [] }, files);
    return [];
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    return error.problems.map((problem) => inArgumentTerms(problem, fields));
  }
}

/** `text` with each stack-config key that `fields` maps replaced by the argument it feeds. */
export function inArgumentTerms(text: string, fields: Partial<Record<keyof Settings, string>>): string {
  return text.replace(new RegExp(`${CONFIG_NAMESPACE}:(\\w+)`, "g"), (key, name: keyof Settings) => fields[name] ?? key);
}
