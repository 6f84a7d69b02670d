/**
 * Validation of the stack's settings before anything is created: every problem is collected and
 * reported in one error, each line naming the `veza-infra:<key>` to fix and what it accepts.
 */
import * as fs from "fs";
import { HAPROXY_NAME, RawSettings, Settings, configKey, containerName, fleetNames } from "./settings";

/** Thrown by {@link validateSettings}; the message lists every problem, one per line. */
export class SettingsError extends Error {
  /** One line per problem, each starting with the `veza-infra:<key>` it is about. */
  public readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(`invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "SettingsError";
    this.problems = problems;
  }
}

/** The file checks validation needs; injected so tests need no real files. */
export interface FileAccess {
  /** True when `path` is an existing regular file (or a link to one). */
  isFile(path: string): boolean;
  /** The file's text; may throw when it cannot be read. */
  readText(path: string): string;
}

/** {@link FileAccess} over the Pulumi host's file system. */
export const LOCAL_FILES: FileAccess = {
  isFile: (path) => fs.statSync(path, { throwIfNoEntry: false })?.isFile() ?? false,
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
  healthCheckIntervalMs: [100, MAX_INTERVAL_MS],
  healthCheckTimeoutMs: [50, MAX_INTERVAL_MS - 1],
  healthCheckFall: [1, 100],
  healthCheckRise: [1, 100],
  gracefulDrainSeconds: [0, 3600],
  connectTimeoutMs: [50, 60_000],
  serverTimeoutMs: [100, MAX_INTERVAL_MS],
  tunnelTimeoutSeconds: [1, 86_400],
  retries: [0, 10],
};

/**
 * Characters a path may not hold: whitespace and quotes would split or end the word in
 * haproxy.cfg and in shell commands, `#` starts a comment there and `\` escapes.
 */
const PATH = /^\/[^\s"'`\\#]*$/;
const PATH_RULE = "must be a path starting with / and free of whitespace, quotes, backslashes and #";

/** RFC 6265 cookie-name: an RFC 2616 token (no separators, controls or spaces). */
const COOKIE_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Incus names of remotes, cluster members and storage pools. */
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TOKEN_CHARS = "1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit";
/** Image aliases may have path-like segments (e.g. `veza-lab/bookworm`). */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/;
/** A bridge network is a Linux interface, whose name the kernel caps at 15 characters. */
const NETWORK = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;

const INCUS_NAME_RULE = "letters, digits and hyphens, starting with a letter, at most 63 characters, not ending with a hyphen";
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** How a rejected value is shown: as JSON, so strings keep their quotes and lists their brackets. */
function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** True when `name` is a valid Incus instance name (a hostname label that starts with a letter). */
export function isIncusName(name: string): boolean {
  return /^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name);
}

/** True for an IPv4 dotted quad such as `10.77.0.11`. */
export function isIPv4(address: string): boolean {
  return IPV4.test(address);
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

/** `a..b` summary of a fleet's names for messages, e.g. `backend-api-1..backend-api-3`. */
function nameRange(names: string[], kind: string): string {
  return names.length === 0 ? `no ${kind} (count 0)` : `${names[0]}..${names[names.length - 1]}`;
}

/**
 * Checks every setting and returns them typed, or throws one {@link SettingsError} listing every
 * problem found. Files named by the settings (TLS PEM, binaries) are looked up through `files`.
 */
export function validateSettings(raw: RawSettings | Settings, files: FileAccess = LOCAL_FILES): Settings {
  const problems: string[] = [];
  const problem = (key: keyof Settings, text: string) => problems.push(`${configKey(key)} ${text}`);
  const inRange = (value: unknown, [min, max]: readonly [number, number]) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
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
    if (value !== undefined && !PATH.test(value)) problem(key, `${PATH_RULE} (got ${shown(value)})`);
  }
  const prefixes = list("streamPathPrefixes");
  if (prefixes?.length === 0) problem("streamPathPrefixes", "must list at least one path prefix, or nothing would reach stream_pool (got [])");
  prefixes?.forEach((prefix, i) => {
    if (!PATH.test(prefix)) problems.push(`${configKey("streamPathPrefixes")}[${i}] ${PATH_RULE} (got ${shown(prefix)})`);
  });

  const cookie = text("stickyCookieName");
  if (cookie !== undefined && !COOKIE_TOKEN.test(cookie)) {
    problem("stickyCookieName", `must be an RFC 6265 cookie name: letters, digits and !#$%&'*+-.^_\`|~ only (got ${shown(cookie)})`);
  }

  const optionalToken = (key: "incusRemote" | "incusTarget") => {
    const value = text(key);
    if (value && !TOKEN.test(value)) problem(key, `must be empty or ${TOKEN_CHARS} (got ${shown(value)})`);
  };
  optionalToken("incusRemote");
  optionalToken("incusTarget");
  const image = text("incusImage");
  if (image !== undefined && !IMAGE.test(image)) {
    problem("incusImage", `must be an image alias or fingerprint: 1 to 255 letters, digits, '.', '_', '-' or '/', starting with a letter or digit (got ${shown(image)})`);
  }
  const network = text("incusNetwork");
  if (network !== undefined && !NETWORK.test(network)) {
    problem("incusNetwork", `must be a bridge name of 1 to 15 letters, digits, '.', '_' or '-', starting with a letter or digit (got ${shown(network)})`);
  }
  const pool = text("incusStoragePool");
  if (pool !== undefined && !TOKEN.test(pool)) problem("incusStoragePool", `must be ${TOKEN_CHARS} (got ${shown(pool)})`);

  const counts = {
    backendApiCount: isInteger("backendApiCount") ? (raw.backendApiCount as number) : 0,
    streamServerCount: isInteger("streamServerCount") ? (raw.streamServerCount as number) : 0,
  };
  const names = fleetNames(counts);
  const prefix = text("namePrefix");
  if (prefix !== undefined) {
    const bad = [HAPROXY_NAME, ...names.backendApi, ...names.streamServer]
      .map((name) => containerName(prefix, name))
      .find((name) => !isIncusName(name));
    if (bad !== undefined) problem("namePrefix", `gives the container name ${shown(bad)}, but Incus names must be ${INCUS_NAME_RULE} (got ${shown(prefix)})`);
  }

  const fleets = [
    { count: "backendApiCount", fallback: "backendApiFallbackServers" },
    { count: "streamServerCount", fallback: "streamServerFallbackServers" },
  ] as const;
  for (const { count, fallback } of fleets) {
    const servers = list(fallback);
    servers?.forEach((server, i) => {
      if (!parseHostPort(server)) {
        problems.push(`${configKey(fallback)}[${i}] must be host:port with an IPv4 address or DNS name and a port from 1 to 65535 (got ${shown(server)})`);
      }
    });
    if (servers?.length === 0 && raw[count] === 0) {
      problem(fallback, `must list at least one host:port when ${configKey(count)} is 0, or the pool would have no server (got [])`);
    }
  }

  const drain = list("drainServers");
  const known = new Set([...names.backendApi, ...names.streamServer]);
  drain?.forEach((server, i) => {
    if (!known.has(server)) {
      problems.push(
        `${configKey("drainServers")}[${i}] must name a server of this stack: ${nameRange(names.backendApi, "backend-api")}, ` +
          `${nameRange(names.streamServer, "stream-server")} (got ${shown(server)})`,
      );
    }
  });

  const tlsCertPath = text("tlsCertPath");
  if (tlsCertPath) {
    const pemProblem = (() => {
      if (!files.isFile(tlsCertPath)) return "no such file";
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
    if (pemProblem) problem("tlsCertPath", `must be empty or name a PEM file holding the certificate and its unencrypted private key (got ${shown(tlsCertPath)}: ${pemProblem})`);
  }
  for (const key of ["backendApiBinaryPath", "streamServerBinaryPath"] as const) {
    const value = text(key);
    if (value && !files.isFile(value)) problem(key, `must be empty or name an existing file on the Pulumi host (got ${shown(value)}: no such file)`);
  }

  const listeners = (
    [
      ["httpPort", true],
      ["httpsPort", Boolean(tlsCertPath)],
      ["statsPort", true],
    ] as const
  ).filter(([key, bound]) => bound && isInteger(key));
  listeners.forEach(([key], i) => {
    const earlier = listeners.slice(0, i).find(([other]) => raw[other] === raw[key]);
    if (earlier) problem(key, `must differ from ${configKey(earlier[0])}: both would listen on port ${shown(raw[key])}`);
  });

  if (problems.length > 0) throw new SettingsError(problems);
  return raw as Settings;
}
