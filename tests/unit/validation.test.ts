import { DEFAULTS, RawSettings, Settings, settingsFromConfig } from "../../stack/settings";
import { SettingsError, unknownKeyProblems, validateSettings } from "../../stack/validation";
import { FileAccess, LOCAL_FILES } from "../../components/common/rules";
import {
  AddressRange,
  addressRange,
  isHost,
  isIPv4Cidr,
  parseHostPort,
  parseIPv4Cidr,
  parseIPv4Range,
  rangeText,
} from "../../components/common/checks";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

/** An in-memory file system for the file checks. */
const FILES: Record<string, string> = {
  "/certs/good.pem": CERT + KEY,
  "/certs/rsa.pem": CERT + KEY.replace(/PRIVATE KEY/g, "RSA PRIVATE KEY"),
  "/certs/cert-only.pem": CERT,
  "/certs/encrypted.pem": CERT + KEY.replace(/PRIVATE KEY/g, "ENCRYPTED PRIVATE KEY"),
  "/bin/backend-api": "\x7fELF",
};
/** Directories of the in-memory file system. */
const DIRECTORIES = new Set(["/certs", "/bin"]);
const files: FileAccess = {
  kind: (path) => (path in FILES ? "file" : DIRECTORIES.has(path) ? "directory" : "missing"),
  readText: (path) => {
    if (!(path in FILES)) throw new Error(`ENOENT: ${path}`);
    return FILES[path];
  },
};

const raw = (overrides: Partial<Record<keyof RawSettings, unknown>> = {}): RawSettings => ({
  ...settingsFromConfig(() => undefined),
  ...overrides,
});

function problemsOf(overrides: Partial<Record<keyof RawSettings, unknown>>): readonly string[] {
  try {
    validateSettings(raw(overrides), files);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

const URL_PATH_RULE = "must be a URL path: '/' then letters, digits and -._~/:@+,= only (no %), at most 256 characters";
const FILE_PATH_RULE = "a path of 1 to 4096 letters, digits and ._/+-@, not starting with '-'";
const VIRTUAL_IP_RULE =
  "an IPv4 address from 10.77.0.200-10.77.0.254: a host address of veza-infra:vrrpSubnet 10.77.0.0/24, outside veza-infra:vrrpLeasedRange 10.77.0.2-10.77.0.199, not veza-infra:vrrpGateway 10.77.0.1";
/** A real cluster's segment: a /16 whose DHCP server leases its first 1024 addresses, routed at its top. */
const CLUSTER_SEGMENT = { vrrpSubnet: "10.20.0.0/16", vrrpLeasedRange: "10.20.0.2-10.20.3.255", vrrpGateway: "10.20.255.254" };
const CLUSTER_VIRTUAL_IP_RULE =
  "an IPv4 address from 10.20.0.1, 10.20.4.0-10.20.255.253: a host address of veza-infra:vrrpSubnet 10.20.0.0/16, outside veza-infra:vrrpLeasedRange 10.20.0.2-10.20.3.255, not veza-infra:vrrpGateway 10.20.255.254";

const BAD: [string, Partial<Record<keyof RawSettings, unknown>>, string][] = [
  [
    "a rollout that would restart the whole fleet",
    { backendApiMaxUnavailable: 2 },
    "veza-infra:backendApiMaxUnavailable must be below veza-infra:backendApiCount (2), so that a rollout never restarts the whole fleet (got 2)",
  ],
  [
    "a canary error bound of text",
    { streamServerCanaryMaxErrors: "few" },
    'veza-infra:streamServerCanaryMaxErrors must be an integer from 0 to 1000000 (got "few")',
  ],
  [
    "a start time-out of zero",
    { backendApiStartTimeoutSeconds: 0 },
    "veza-infra:backendApiStartTimeoutSeconds must be an integer from 1 to 3600 (got 0)",
  ],
  [
    "a negative drain time-out",
    { streamServerDrainTimeoutSeconds: -1 },
    "veza-infra:streamServerDrainTimeoutSeconds must be an integer from 0 to 3600 (got -1)",
  ],
  ["fall of zero", { healthCheckFall: 0 }, "veza-infra:healthCheckFall must be an integer from 1 to 100 (got 0)"],
  ["fractional rise", { healthCheckRise: 1.5 }, "veza-infra:healthCheckRise must be an integer from 1 to 100 (got 1.5)"],
  ["port that is not a number", { httpPort: "80a" }, 'veza-infra:httpPort must be an integer from 1 to 65535 (got "80a")'],
  ["port above 65535", { httpsPort: 70000 }, "veza-infra:httpsPort must be an integer from 1 to 65535 (got 70000)"],
  ["upstream port 0", { backendApiPort: 0 }, "veza-infra:backendApiPort must be an integer from 1 to 65535 (got 0)"],
  ["too many backends", { backendApiCount: 33 }, "veza-infra:backendApiCount must be an integer from 0 to 32 (got 33)"],
  ["negative stream count", { streamServerCount: -1 }, "veza-infra:streamServerCount must be an integer from 0 to 32 (got -1)"],
  ["interval too short", { healthCheckIntervalMs: 50 }, "veza-infra:healthCheckIntervalMs must be an integer from 100 to 3600000 (got 50)"],
  [
    "check timeout not below the interval",
    { healthCheckIntervalMs: 1000, healthCheckTimeoutMs: 1000 },
    "veza-infra:healthCheckTimeoutMs must be an integer from 50 to 999, below veza-infra:healthCheckIntervalMs (got 1000)",
  ],
  [
    "check timeout too short",
    { healthCheckTimeoutMs: 10 },
    "veza-infra:healthCheckTimeoutMs must be an integer from 50 to 499, below veza-infra:healthCheckIntervalMs (got 10)",
  ],
  ["connect timeout too short", { connectTimeoutMs: 10 }, "veza-infra:connectTimeoutMs must be an integer from 50 to 60000 (got 10)"],
  ["server timeout of zero", { serverTimeoutMs: 0 }, "veza-infra:serverTimeoutMs must be an integer from 100 to 3600000 (got 0)"],
  ["too many retries", { retries: 11 }, "veza-infra:retries must be an integer from 0 to 10 (got 11)"],
  ["negative drain", { gracefulDrainSeconds: -1 }, "veza-infra:gracefulDrainSeconds must be an integer from 0 to 3600 (got -1)"],
  ["tunnel timeout of zero", { tunnelTimeoutSeconds: 0 }, "veza-infra:tunnelTimeoutSeconds must be an integer from 1 to 86400 (got 0)"],
  ["stats on the HTTP port", { statsPort: 80 }, "veza-infra:statsPort must differ from veza-infra:httpPort: both would listen on port 80"],
  [
    "metrics on the stats port",
    { metricsPort: 9100 },
    "veza-infra:metricsPort must differ from veza-infra:statsPort: both would listen on port 9100",
  ],
  ["metrics port 0", { metricsPort: 0 }, "veza-infra:metricsPort must be an integer from 1 to 65535 (got 0)"],
  [
    "no metrics source",
    { metricsAllowedSources: [] },
    "veza-infra:metricsAllowedSources must list at least one IPv4 network, or no scraper could reach /metrics (got [])",
  ],
  [
    "metrics sources as one string",
    { metricsAllowedSources: "10.77.0.0/24" },
    'veza-infra:metricsAllowedSources must be a list of strings (got "10.77.0.0/24")',
  ],
  [
    "too many metrics sources",
    { metricsAllowedSources: Array.from({ length: 33 }, (_, i) => `10.0.${i}.0/24`) },
    "veza-infra:metricsAllowedSources must list at most 32 networks (got 33)",
  ],
  ...["10.77.0.5/24", "10.77.0.0", "10.77.0.0/33", "10.77.0.0/024", "10.77.0.256/32", "fd00::/8", "10.77.0.0/24 ", "0/0"].map(
    (source): [string, Partial<Record<keyof RawSettings, unknown>>, string] => [
      `metrics source ${source}`,
      { metricsAllowedSources: ["127.0.0.0/8", source] },
      `veza-infra:metricsAllowedSources[1] must be an IPv4 network in CIDR notation with no host bits set, e.g. 10.77.0.0/24 or 192.0.2.7/32 (got ${JSON.stringify(source)})`,
    ],
  ),
  [
    "HTTPS on the HTTP port with TLS on",
    { tlsCertPath: "/certs/good.pem", httpsPort: 80 },
    "veza-infra:httpsPort must differ from veza-infra:httpPort: both would listen on port 80",
  ],
  [
    "prefix starting with a digit",
    { namePrefix: "1lab-" },
    'veza-infra:namePrefix gives the container name "1lab-haproxy", but Incus names must be letters, digits and hyphens, starting with a letter, at most 63 characters, not ending with a hyphen (got "1lab-")',
  ],
  [
    "prefix with an underscore",
    { namePrefix: "lab_" },
    'veza-infra:namePrefix gives the container name "lab_haproxy", but Incus names must be letters, digits and hyphens, starting with a letter, at most 63 characters, not ending with a hyphen (got "lab_")',
  ],
  [
    "prefix too long for stream-server-12",
    { namePrefix: "a".repeat(48), streamServerCount: 12 },
    `veza-infra:namePrefix gives the container name "${"a".repeat(48)}stream-server-10", but Incus names must be letters, digits and hyphens, starting with a letter, at most 63 characters, not ending with a hyphen (got "${"a".repeat(48)}")`,
  ],
  [
    "remote with a space",
    { incusRemote: "my remote" },
    `veza-infra:incusRemote must be empty or 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit (got "my remote")`,
  ],
  [
    "target with a colon",
    { incusTarget: "node:1" },
    `veza-infra:incusTarget must be empty or 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit (got "node:1")`,
  ],
  [
    "empty image",
    { incusImage: "" },
    `veza-infra:incusImage must be an image alias or fingerprint: 1 to 255 letters, digits, '.', '_', '-' or '/', starting with a letter or digit (got "")`,
  ],
  [
    "bridge name longer than an interface name",
    { incusNetwork: "vezabridge-lab-01" },
    `veza-infra:incusNetwork must be a bridge name of 1 to 15 letters, digits, '.', '_' or '-', starting with a letter or digit (got "vezabridge-lab-01")`,
  ],
  [
    "pool starting with a hyphen",
    { incusStoragePool: "-pool" },
    `veza-infra:incusStoragePool must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit (got "-pool")`,
  ],
  [
    "cookie name with a space",
    { stickyCookieName: "VEZA SERVER" },
    `veza-infra:stickyCookieName must be an RFC 6265 cookie name of 1 to 64 letters, digits, '-', '.' or '_' (got "VEZA SERVER")`,
  ],
  [
    "cookie name with =",
    { stickyCookieName: "a=b" },
    `veza-infra:stickyCookieName must be an RFC 6265 cookie name of 1 to 64 letters, digits, '-', '.' or '_' (got "a=b")`,
  ],
  [
    "cookie name with $, legal in a token",
    { stickyCookieName: "VEZA$ID" },
    `veza-infra:stickyCookieName must be an RFC 6265 cookie name of 1 to 64 letters, digits, '-', '.' or '_' (got "VEZA$ID")`,
  ],
  [
    "empty cookie name",
    { stickyCookieName: "" },
    `veza-infra:stickyCookieName must be an RFC 6265 cookie name of 1 to 64 letters, digits, '-', '.' or '_' (got "")`,
  ],
  [
    "health path without a leading slash",
    { backendApiHealthPath: "api/v1/health" },
    `veza-infra:backendApiHealthPath ${URL_PATH_RULE} (got "api/v1/health")`,
  ],
  [
    "health path with a space",
    { streamServerHealthPath: "/he alth" },
    `veza-infra:streamServerHealthPath ${URL_PATH_RULE} (got "/he alth")`,
  ],
  [
    "health path with a query",
    { backendApiHealthPath: "/health?deep=1" },
    `veza-infra:backendApiHealthPath ${URL_PATH_RULE} (got "/health?deep=1")`,
  ],
  [
    "health path percent-encoded",
    { backendApiHealthPath: "/health%20x" },
    `veza-infra:backendApiHealthPath ${URL_PATH_RULE} (got "/health%20x")`,
  ],
  [
    "health path of 257 characters",
    { streamServerHealthPath: `/${"h".repeat(256)}` },
    `veza-infra:streamServerHealthPath ${URL_PATH_RULE} (got "/${"h".repeat(63)}..." (257 characters))`,
  ],
  [
    "too many stream prefixes",
    { streamPathPrefixes: Array.from({ length: 1001 }, (_, i) => `/s${i}/`) },
    "veza-infra:streamPathPrefixes must list at most 1000 path prefixes (got 1001)",
  ],
  [
    "health path with a quote",
    { streamServerHealthPath: '/health"' },
    `veza-infra:streamServerHealthPath ${URL_PATH_RULE} (got "/health\\"")`,
  ],
  [
    "no stream prefix",
    { streamPathPrefixes: [] },
    "veza-infra:streamPathPrefixes must list at least one path prefix, or nothing would reach stream_pool (got [])",
  ],
  [
    "relative stream prefix",
    { streamPathPrefixes: ["/hls/", "stream/"] },
    `veza-infra:streamPathPrefixes[1] ${URL_PATH_RULE} (got "stream/")`,
  ],
  ["hard-stop-after of zero", { hardStopAfterSeconds: 0 }, "veza-infra:hardStopAfterSeconds must be an integer from 1 to 86400 (got 0)"],
  ["prefixes as one string", { streamPathPrefixes: "/hls/" }, 'veza-infra:streamPathPrefixes must be a list of strings (got "/hls/")'],
  [
    "fallback with an impossible IPv4",
    { backendApiFallbackServers: ["10.0.0.300:8080"] },
    'veza-infra:backendApiFallbackServers[0] must be host:port with an IPv4 address or DNS name and a port from 1 to 65535 (got "10.0.0.300:8080")',
  ],
  [
    "fallback with port 0",
    { streamServerFallbackServers: ["stream.example.org:0"] },
    'veza-infra:streamServerFallbackServers[0] must be host:port with an IPv4 address or DNS name and a port from 1 to 65535 (got "stream.example.org:0")',
  ],
  [
    "empty fleet without fallbacks",
    { backendApiCount: 0 },
    "veza-infra:backendApiFallbackServers must list at least one host:port when veza-infra:backendApiCount is 0, or the pool would have no server (got [])",
  ],
  [
    "drain of a server beyond the count",
    { drainServers: ["backend-api-3"] },
    'veza-infra:drainServers[0] must name a server of this stack: backend-api-1..backend-api-2, stream-server-1..stream-server-2 (got "backend-api-3")',
  ],
  [
    "drain of a server of an empty fleet",
    { streamServerCount: 0, streamServerFallbackServers: ["10.0.0.9:8082"], drainServers: ["stream-server-1"] },
    'veza-infra:drainServers[0] must name a server of this stack: backend-api-1..backend-api-2, no stream-server (count 0) (got "stream-server-1")',
  ],
  [
    "drain by container name",
    { namePrefix: "lab-", drainServers: ["lab-backend-api-1"] },
    'veza-infra:drainServers[0] must name a server of this stack: backend-api-1..backend-api-2, stream-server-1..stream-server-2 (got "lab-backend-api-1")',
  ],
  [
    "missing certificate file",
    { tlsCertPath: "/certs/missing.pem" },
    'veza-infra:tlsCertPath must be empty or name a PEM file holding the certificate and its unencrypted private key (got "/certs/missing.pem": no such file)',
  ],
  [
    "certificate without its key",
    { tlsCertPath: "/certs/cert-only.pem" },
    'veza-infra:tlsCertPath must be empty or name a PEM file holding the certificate and its unencrypted private key (got "/certs/cert-only.pem": no -----BEGIN PRIVATE KEY----- block (RSA and EC keys also do))',
  ],
  [
    "encrypted key",
    { tlsCertPath: "/certs/encrypted.pem" },
    'veza-infra:tlsCertPath must be empty or name a PEM file holding the certificate and its unencrypted private key (got "/certs/encrypted.pem": its private key is encrypted, and HAProxy cannot ask for a passphrase)',
  ],
  [
    "certificate path that is a directory",
    { tlsCertPath: "/certs" },
    'veza-infra:tlsCertPath must be empty or name a PEM file holding the certificate and its unencrypted private key (got "/certs": is a directory)',
  ],
  [
    "certificate path with a space",
    { tlsCertPath: "/certs/my cert.pem" },
    `veza-infra:tlsCertPath must be empty or ${FILE_PATH_RULE} (got "/certs/my cert.pem")`,
  ],
  [
    "binary path read as an option",
    { backendApiBinaryPath: "-x" },
    `veza-infra:backendApiBinaryPath must be empty or ${FILE_PATH_RULE} (got "-x")`,
  ],
  ["certificate path of the wrong type", { tlsCertPath: 443 }, "veza-infra:tlsCertPath must be a string (got 443)"],
  [
    "missing binary",
    { streamServerBinaryPath: "/bin/stream-server" },
    'veza-infra:streamServerBinaryPath must be empty or name an existing file on the Pulumi host (got "/bin/stream-server": no such file)',
  ],
  [
    "binary path that is a directory",
    { backendApiBinaryPath: "/bin" },
    'veza-infra:backendApiBinaryPath must be empty or name an existing file on the Pulumi host (got "/bin": is a directory)',
  ],
  [
    "integer beyond 2^53, quoted as typed",
    { retries: "9223372036854775807" },
    'veza-infra:retries must be an integer from 0 to 10 (got "9223372036854775807")',
  ],
  ["no HAProxy", { haproxyCount: 0 }, "veza-infra:haproxyCount must be an integer from 1 to 2 (got 0)"],
  ["three HAProxies", { haproxyCount: 3, virtualIp: "10.77.0.200" }, "veza-infra:haproxyCount must be an integer from 1 to 2 (got 3)"],
  [
    "advert interval too short",
    { vrrpAdvertIntervalMs: 50 },
    "veza-infra:vrrpAdvertIntervalMs must be an integer from 100 to 1000 (got 50)",
  ],
  [
    "advert interval too long",
    { vrrpAdvertIntervalMs: 1010 },
    "veza-infra:vrrpAdvertIntervalMs must be an integer from 100 to 1000 (got 1010)",
  ],
  [
    "advert interval finer than a centisecond",
    { vrrpAdvertIntervalMs: 205 },
    "veza-infra:vrrpAdvertIntervalMs must be a multiple of 10: VRRPv3 counts the interval in centiseconds (got 205)",
  ],
  [
    "a request log switch that is not a boolean",
    { logEveryRequest: "yes" },
    'veza-infra:logEveryRequest must be true or false (got "yes")',
  ],
  ["router id 0", { vrrpRouterId: 0 }, "veza-infra:vrrpRouterId must be an integer from 1 to 255 (got 0)"],
  ["router id 256", { vrrpRouterId: 256 }, "veza-infra:vrrpRouterId must be an integer from 1 to 255 (got 256)"],
  [
    "a pair without a virtual IP",
    { haproxyCount: 2 },
    `veza-infra:virtualIp must be ${VIRTUAL_IP_RULE} when veza-infra:haproxyCount is 2: clients reach the pair there (got "")`,
  ],
  [
    "a virtual IP for one HAProxy",
    { virtualIp: "10.77.0.200" },
    'veza-infra:virtualIp must be empty while veza-infra:haproxyCount is 1: a single HAProxy is reached at its own address (got "10.77.0.200")',
  ],
  [
    "virtual IP not IPv4",
    { haproxyCount: 2, virtualIp: "10.77.0.256" },
    `veza-infra:virtualIp must be empty or ${VIRTUAL_IP_RULE} (got "10.77.0.256": not an IPv4 address)`,
  ],
  [
    "virtual IP with a prefix length",
    { haproxyCount: 2, virtualIp: "10.77.0.200/24" },
    `veza-infra:virtualIp must be empty or ${VIRTUAL_IP_RULE} (got "10.77.0.200/24": not an IPv4 address)`,
  ],
  [
    "virtual IP outside the subnet",
    { haproxyCount: 2, virtualIp: "10.77.1.200" },
    `veza-infra:virtualIp must be empty or ${VIRTUAL_IP_RULE} (got "10.77.1.200": outside veza-infra:vrrpSubnet)`,
  ],
  [
    "virtual IP on the network address",
    { haproxyCount: 2, virtualIp: "10.77.0.0" },
    `veza-infra:virtualIp must be empty or ${VIRTUAL_IP_RULE} (got "10.77.0.0": the subnet's network address)`,
  ],
  [
    "virtual IP on the broadcast address",
    { haproxyCount: 2, virtualIp: "10.77.0.255" },
    `veza-infra:virtualIp must be empty or ${VIRTUAL_IP_RULE} (got "10.77.0.255": the subnet's broadcast address)`,
  ],
  [
    "virtual IP on the gateway",
    { haproxyCount: 2, virtualIp: "10.77.0.1" },
    `veza-infra:virtualIp must be empty or ${VIRTUAL_IP_RULE} (got "10.77.0.1": veza-infra:vrrpGateway, the router's own address)`,
  ],
  ...["10.77.0.2", "10.77.0.100", "10.77.0.199"].map((ip): [string, Partial<Record<keyof RawSettings, unknown>>, string] => [
    `virtual IP ${ip}, in the DHCP range`,
    { haproxyCount: 2, virtualIp: ip },
    `veza-infra:virtualIp must be empty or ${VIRTUAL_IP_RULE} (got "${ip}": inside veza-infra:vrrpLeasedRange, so it could be handed to another host)`,
  ]),
  [
    "virtual IP on the cluster lab's segment, which the defaults do not describe",
    { haproxyCount: 2, virtualIp: "10.79.0.200" },
    `veza-infra:virtualIp must be empty or ${VIRTUAL_IP_RULE} (got "10.79.0.200": outside veza-infra:vrrpSubnet)`,
  ],
  [
    "virtual IP in a real cluster's leased range",
    { haproxyCount: 2, virtualIp: "10.20.1.5", ...CLUSTER_SEGMENT },
    `veza-infra:virtualIp must be empty or ${CLUSTER_VIRTUAL_IP_RULE} (got "10.20.1.5": inside veza-infra:vrrpLeasedRange, so it could be handed to another host)`,
  ],
  [
    "virtual IP on a real cluster's gateway",
    { haproxyCount: 2, virtualIp: "10.20.255.254", ...CLUSTER_SEGMENT },
    `veza-infra:virtualIp must be empty or ${CLUSTER_VIRTUAL_IP_RULE} (got "10.20.255.254": veza-infra:vrrpGateway, the router's own address)`,
  ],
  [
    "a pair on a real cluster without a virtual IP",
    { haproxyCount: 2, ...CLUSTER_SEGMENT },
    `veza-infra:virtualIp must be ${CLUSTER_VIRTUAL_IP_RULE} when veza-infra:haproxyCount is 2: clients reach the pair there (got "")`,
  ],
  [
    "a subnet with host bits set",
    { vrrpSubnet: "10.77.0.1/24" },
    'veza-infra:vrrpSubnet must be an IPv4 network in CIDR notation with no host bits set, /8 to /29, e.g. 10.79.0.0/24 (got "10.77.0.1/24")',
  ],
  [
    "a subnet too small for two nodes and the virtual IP",
    { vrrpSubnet: "10.77.0.0/30", vrrpLeasedRange: "", vrrpGateway: "" },
    'veza-infra:vrrpSubnet must be an IPv4 network in CIDR notation with no host bits set, /8 to /29, e.g. 10.79.0.0/24 (got "10.77.0.0/30")',
  ],
  [
    "a subnet larger than any private network",
    { vrrpSubnet: "10.0.0.0/7" },
    'veza-infra:vrrpSubnet must be an IPv4 network in CIDR notation with no host bits set, /8 to /29, e.g. 10.79.0.0/24 (got "10.0.0.0/7")',
  ],
  [
    "a leased range that is one address",
    { vrrpLeasedRange: "10.77.0.2" },
    'veza-infra:vrrpLeasedRange must be empty or first-last, two IPv4 addresses, e.g. 10.79.0.2-10.79.0.199 (got "10.77.0.2")',
  ],
  [
    "a leased range backwards",
    { vrrpLeasedRange: "10.77.0.199-10.77.0.2" },
    'veza-infra:vrrpLeasedRange must be empty or first-last with the first address not above the last (got "10.77.0.199-10.77.0.2")',
  ],
  [
    "a leased range past the subnet's broadcast address",
    { vrrpLeasedRange: "10.77.0.2-10.77.0.255" },
    'veza-infra:vrrpLeasedRange must be empty or within the host addresses of veza-infra:vrrpSubnet, 10.77.0.1-10.77.0.254 (got "10.77.0.2-10.77.0.255")',
  ],
  ["a gateway that is a name", { vrrpGateway: "router.lan" }, 'veza-infra:vrrpGateway must be empty or an IPv4 address (got "router.lan")'],
  [
    "a gateway on another subnet",
    { vrrpGateway: "10.78.0.1" },
    'veza-infra:vrrpGateway must be empty or within the host addresses of veza-infra:vrrpSubnet, 10.77.0.1-10.77.0.254 (got "10.78.0.1")',
  ],
  ["virtual IP of the wrong type", { haproxyCount: 2, virtualIp: 10 }, "veza-infra:virtualIp must be a string (got 10)"],
  ["negative CPU limit", { haproxyLimitsCpu: -1 }, "veza-infra:haproxyLimitsCpu must be an integer from 0 to 256 (got -1)"],
  ["CPU limit as a set", { backendApiLimitsCpu: "0-1" }, 'veza-infra:backendApiLimitsCpu must be an integer from 0 to 256 (got "0-1")'],
  ["fractional CPU limit", { streamServerLimitsCpu: 0.5 }, "veza-infra:streamServerLimitsCpu must be an integer from 0 to 256 (got 0.5)"],
  ...(
    [
      ["memory in MB", "backendApiLimitsMemory", "512MB"],
      ["memory in lower case", "haproxyLimitsMemory", "512mib"],
      ["memory as a percentage", "streamServerLimitsMemory", "50%"],
      ["memory in bytes", "haproxyLimitsMemory", "268435456"],
      ["memory with a space", "haproxyLimitsMemory", "256 MiB"],
      ["memory with a leading zero", "haproxyLimitsMemory", "0256MiB"],
      ["memory below 64MiB", "backendApiLimitsMemory", "32MiB"],
    ] as const
  ).map(([label, key, value]): [string, Partial<Record<keyof RawSettings, unknown>>, string] => [
    label,
    { [key]: value },
    `veza-infra:${key} must be empty (no limit) or a whole number of MiB or GiB, e.g. 512MiB or 2GiB, of at least 64MiB (got ${JSON.stringify(value)})`,
  ]),
  ...(
    [
      ["root size below 1GiB", "streamServerRootSize", "512MiB"],
      ["root size in GB", "haproxyRootSize", "10GB"],
      ["root size fractional", "backendApiRootSize", "1.5GiB"],
    ] as const
  ).map(([label, key, value]): [string, Partial<Record<keyof RawSettings, unknown>>, string] => [
    label,
    { [key]: value },
    `veza-infra:${key} must be empty (the pool's default size) or a whole number of MiB or GiB, e.g. 512MiB or 2GiB, of at least 1024MiB (got ${JSON.stringify(value)})`,
  ]),
  ["memory limit of the wrong type", { haproxyLimitsMemory: 256 }, "veza-infra:haproxyLimitsMemory must be a string (got 256)"],
  // Edge protection (issue 22).
  ["a limits switch that is not a boolean", { rateLimitEnabled: "on" }, 'veza-infra:rateLimitEnabled must be true or false (got "on")'],
  ["no API request allowed", { rateLimitApiRequests: 0 }, "veza-infra:rateLimitApiRequests must be an integer from 1 to 1000000 (got 0)"],
  [
    "API requests as a rate",
    { rateLimitApiRequests: "30/s" },
    'veza-infra:rateLimitApiRequests must be an integer from 1 to 1000000 (got "30/s")',
  ],
  [
    "a period of a day",
    { rateLimitPeriodSeconds: 86400 },
    "veza-infra:rateLimitPeriodSeconds must be an integer from 1 to 3600 (got 86400)",
  ],
  ["a fractional period", { rateLimitPeriodSeconds: 0.5 }, "veza-infra:rateLimitPeriodSeconds must be an integer from 1 to 3600 (got 0.5)"],
  ["no connection allowed", { rateLimitConnections: 0 }, "veza-infra:rateLimitConnections must be an integer from 1 to 100000 (got 0)"],
  [
    "exempt sources as one string",
    { rateLimitExemptSources: "10.77.0.0/24" },
    'veza-infra:rateLimitExemptSources must be a list of strings (got "10.77.0.0/24")',
  ],
  [
    "too many exempt sources",
    { rateLimitExemptSources: Array.from({ length: 33 }, (_, i) => `10.0.${i}.0/24`) },
    "veza-infra:rateLimitExemptSources must list at most 32 networks (got 33)",
  ],
  ...(["rateLimitExemptSources", "trustedProxies"] as const).flatMap((key) =>
    ["10.77.0.5/24", "10.77.0.0", "fd00::/8", "0/0", "10.0.0.0/8 10.1.0.0/16"].map(
      (source): [string, Partial<Record<keyof RawSettings, unknown>>, string] => [
        `${key} item ${source}`,
        { [key]: ["127.0.0.0/8", source], ...(key === "trustedProxies" ? { clientAddressSource: "proxy-protocol" } : {}) },
        `veza-infra:${key}[1] must be an IPv4 network in CIDR notation with no host bits set, e.g. 10.77.0.0/24 or 192.0.2.7/32 (got ${JSON.stringify(source)})`,
      ],
    ),
  ),
  [
    "an unknown client address source",
    { clientAddressSource: "forwarded" },
    'veza-infra:clientAddressSource must be one of "connection", "proxy-protocol", "x-forwarded-for" (got "forwarded")',
  ],
  [
    "a client address source in capitals",
    { clientAddressSource: "X-Forwarded-For", trustedProxies: ["10.1.0.0/16"] },
    'veza-infra:clientAddressSource must be one of "connection", "proxy-protocol", "x-forwarded-for" (got "X-Forwarded-For")',
  ],
  ...(["proxy-protocol", "x-forwarded-for"] as const).map((source): [string, Partial<Record<keyof RawSettings, unknown>>, string] => [
    `${source} without a trusted proxy`,
    { clientAddressSource: source },
    `veza-infra:trustedProxies must list at least one IPv4 network, the only sources whose ${source} address is believed, while veza-infra:clientAddressSource is "${source}" (got [])`,
  ]),
  [
    "trusted proxies nobody reads",
    { trustedProxies: ["10.1.0.0/16"] },
    'veza-infra:trustedProxies must be empty while veza-infra:clientAddressSource is "connection": no proxy\'s word is read for the client\'s address then (got ["10.1.0.0/16"])',
  ],
  [
    "a pair's listener on the peers port",
    { haproxyCount: 2, virtualIp: "10.77.0.200", metricsPort: 10000 },
    "veza-infra:metricsPort must differ from 10000, where the pair's nodes share their rate-limit counters (got 10000)",
  ],
];

describe("validateSettings", () => {
  test("accepts the defaults and returns them", () => {
    expect(validateSettings(raw(), files)).toEqual(DEFAULTS);
  });

  test("accepts what a careful operator sets: TLS, binaries, fallbacks, drains, a prefix", () => {
    const settings = raw({
      tlsCertPath: "/certs/rsa.pem",
      backendApiBinaryPath: "/bin/backend-api",
      streamServerCount: 0,
      streamServerFallbackServers: ["10.0.0.9:8082", "cache.example.org:80"],
      drainServers: ["backend-api-2"],
      namePrefix: "lab-",
      stickyCookieName: "veza.pin_1-b",
      backendApiHealthPath: "/api/v1/health:deep@node+x,y=z~",
      streamPathPrefixes: ["/hls/", "/v1/live:1/"],
    });
    expect(problemsOf(settings)).toEqual([]);
  });

  test("accepts edge protection off, every client limited, the bounds, and each way of reading the client's address", () => {
    expect(
      problemsOf({ rateLimitEnabled: false, rateLimitApiRequests: 1, rateLimitPeriodSeconds: 3600, rateLimitConnections: 100000 }),
    ).toEqual([]);
    expect(
      problemsOf({ rateLimitExemptSources: [], rateLimitApiRequests: 1000000, rateLimitPeriodSeconds: 1, rateLimitConnections: 1 }),
    ).toEqual([]);
    for (const clientAddressSource of ["proxy-protocol", "x-forwarded-for"])
      expect(problemsOf({ clientAddressSource, trustedProxies: ["10.1.0.0/16", "192.0.2.7/32"] })).toEqual([]);
    // The peers port is free for a listener when nothing is shared: one node, or the limits off.
    expect(problemsOf({ metricsPort: 10000 })).toEqual([]);
    expect(problemsOf({ haproxyCount: 2, virtualIp: "10.77.0.200", metricsPort: 10000, rateLimitEnabled: false })).toEqual([]);
  });

  test.each(["10.77.0.200", "10.77.0.254"])("accepts a pair behind the virtual IP %s, with the VRRP bounds", (virtualIp) => {
    expect(problemsOf({ haproxyCount: 2, virtualIp, vrrpAdvertIntervalMs: 100, vrrpRouterId: 255 })).toEqual([]);
    expect(problemsOf({ haproxyCount: 2, virtualIp, vrrpAdvertIntervalMs: 1000, vrrpRouterId: 1 })).toEqual([]);
  });

  test.each(["10.20.0.1", "10.20.4.0", "10.20.128.7", "10.20.255.253"])(
    "accepts a pair behind %s on a real cluster's /16, once its segment is described",
    (virtualIp) => {
      expect(problemsOf({ haproxyCount: 2, virtualIp, ...CLUSTER_SEGMENT })).toEqual([]);
    },
  );

  test("accepts a segment with nothing leased and no gateway known: any host address, the lab host's included", () => {
    expect(problemsOf({ haproxyCount: 2, virtualIp: "10.77.0.1", vrrpLeasedRange: "", vrrpGateway: "" })).toEqual([]);
    expect(
      problemsOf({ haproxyCount: 2, virtualIp: "10.77.0.6", vrrpSubnet: "10.77.0.0/29", vrrpLeasedRange: "", vrrpGateway: "" }),
    ).toEqual([]);
  });

  test("a subnet set alone: the lab's leased range and gateway left beside it are named, the virtual IP not judged on them", () => {
    expect(problemsOf({ haproxyCount: 2, virtualIp: "10.20.0.5", vrrpSubnet: "10.20.0.0/16" })).toEqual([
      'veza-infra:vrrpLeasedRange must be empty or within the host addresses of veza-infra:vrrpSubnet, 10.20.0.1-10.20.255.254 (got "10.77.0.2-10.77.0.199", the default: set it along with veza-infra:vrrpSubnet)',
      'veza-infra:vrrpGateway must be empty or within the host addresses of veza-infra:vrrpSubnet, 10.20.0.1-10.20.255.254 (got "10.77.0.1", the default: set it along with veza-infra:vrrpSubnet)',
    ]);
  });

  test("every problem of the segment at once, and a virtual IP that is not one named as such", () => {
    expect(
      problemsOf({ haproxyCount: 2, virtualIp: "10.20.0", vrrpSubnet: "10.20.0.0/33", vrrpLeasedRange: "10.20.0.9-", vrrpGateway: 1 }),
    ).toEqual([
      'veza-infra:vrrpSubnet must be an IPv4 network in CIDR notation with no host bits set, /8 to /29, e.g. 10.79.0.0/24 (got "10.20.0.0/33")',
      'veza-infra:vrrpLeasedRange must be empty or first-last, two IPv4 addresses, e.g. 10.79.0.2-10.79.0.199 (got "10.20.0.9-")',
      "veza-infra:vrrpGateway must be a string (got 1)",
      'veza-infra:virtualIp must be empty or an IPv4 address of veza-infra:vrrpSubnet (got "10.20.0": not an IPv4 address)',
    ]);
  });

  test("holds the second HAProxy's container name to the prefix rule too", () => {
    const prefix = "a".repeat(55);
    const noFleets = {
      backendApiCount: 0,
      streamServerCount: 0,
      backendApiFallbackServers: ["10.0.0.5:8080"],
      streamServerFallbackServers: ["10.0.0.6:8082"],
    };
    expect(problemsOf({ ...noFleets, namePrefix: prefix })).toEqual([]);
    expect(problemsOf({ ...noFleets, namePrefix: prefix, haproxyCount: 2, virtualIp: "10.77.0.200" })).toEqual([
      `veza-infra:namePrefix gives the container name "${prefix}haproxy-2", but Incus names must be letters, digits and hyphens, starting with a letter, at most 63 characters, not ending with a hyphen (got "${prefix}")`,
    ]);
  });

  test("accepts every value as Pulumi passes it, a string", () => {
    const given: Record<string, string> = {
      retries: "0",
      streamPathPrefixes: '["/hls/"]',
      drainServers: '["stream-server-1"]',
      logEveryRequest: "true",
      rateLimitEnabled: "false",
      rateLimitExemptSources: '["10.0.0.0/8"]',
    };
    expect(
      validateSettings(
        settingsFromConfig((key) => given[key]),
        files,
      ),
    ).toMatchObject({
      retries: 0,
      streamPathPrefixes: ["/hls/"],
      logEveryRequest: true,
      rateLimitEnabled: false,
      rateLimitExemptSources: ["10.0.0.0/8"],
    });
  });

  test("accepts limits of every form: counts, no limit, MiB and GiB, the pool's default disk", () => {
    expect(
      problemsOf({
        haproxyLimitsCpu: 0,
        haproxyLimitsMemory: "",
        haproxyRootSize: "1GiB",
        backendApiLimitsCpu: 2,
        backendApiLimitsMemory: "64MiB",
        backendApiRootSize: "1024MiB",
        streamServerLimitsCpu: 256,
        streamServerLimitsMemory: "2GiB",
        streamServerRootSize: "",
      }),
    ).toEqual([]);
  });

  test("CPU limits are held to this host's CPUs when the containers run here, and only then", () => {
    const limits = { backendApiLimitsCpu: 3, streamServerLimitsCpu: 2 };
    const problems = (overrides: Partial<RawSettings>) => {
      try {
        validateSettings(raw(overrides), files, [], 2);
        return [];
      } catch (error) {
        return (error as SettingsError).problems;
      }
    };
    expect(problems(limits)).toEqual([
      "veza-infra:backendApiLimitsCpu must be an integer from 0 (no limit) to 2, the CPUs of this host, where the containers run while veza-infra:incusRemote is empty (got 3)",
    ]);
    expect(problems({ ...limits, incusRemote: "cluster" })).toEqual([]);
  });

  test.each(BAD)("rejects %s", (_label, overrides, message) => {
    expect(problemsOf(overrides)).toEqual([message]);
  });

  test("a drain checked against an invalid count names that count, not a count of 0", () => {
    expect(problemsOf({ backendApiCount: "33x", drainServers: ["backend-api-1"] })).toEqual([
      'veza-infra:backendApiCount must be an integer from 0 to 32 (got "33x")',
      'veza-infra:drainServers[0] must name a server of this stack: no backend-api while veza-infra:backendApiCount="33x" is invalid, stream-server-1..stream-server-2 (got "backend-api-1")',
    ]);
  });

  test("reports every problem at once, in one error", () => {
    const overrides = Object.assign(
      {},
      ...BAD.filter(([label]) =>
        [
          "fall of zero",
          "port above 65535",
          "cookie name with a space",
          "missing binary",
          "negative CPU limit",
          "memory in MB",
          "root size below 1GiB",
        ].includes(label),
      ).map(([, o]) => o),
    );
    let thrown: unknown;
    try {
      validateSettings(raw(overrides), files);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SettingsError);
    const { message, problems } = thrown as SettingsError;
    expect(problems).toHaveLength(7);
    expect(message).toBe(`invalid stack configuration (7 problems):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    for (const key of [
      "healthCheckFall",
      "httpsPort",
      "stickyCookieName",
      "streamServerBinaryPath",
      "haproxyLimitsCpu",
      "backendApiLimitsMemory",
      "streamServerRootSize",
    ])
      expect(message).toContain(`veza-infra:${key} `);
  });
});

/** Values that must never reach haproxy.cfg or a shell script, whatever key they are given to. */
const INJECTION: [string, string][] = [
  ["command substitution", "$(touch x)"],
  ["backticks", "`id`"],
  ["a command separator", ";id"],
  ["a pipe", "|id"],
  ["a background &", "&id"],
  ["a newline", "/a\nid"],
  ["ESC, which starts a terminal's escape sequences", "/a\u001b[31m"],
  ["NUL", "/a\u0000"],
  ["DEL", "/a\u007f"],
  ["a single quote", "/a'b"],
  ["a double quote", '/a"b'],
  ["a percent-encoded $", "/%24(id)"],
  ["a percent-encoded newline", "/a%0aid"],
  ["5000 characters", "a".repeat(5000)],
  ["5000 characters of path", `/${"a".repeat(4999)}`],
];
const STRING_KEYS = (Object.keys(DEFAULTS) as (keyof Settings)[]).filter((key) => typeof DEFAULTS[key] === "string");
const LIST_KEYS = (Object.keys(DEFAULTS) as (keyof Settings)[]).filter((key) => Array.isArray(DEFAULTS[key]));

describe("the injection class: every string key and list item refuses each value, naming the key", () => {
  const cases = [
    ...STRING_KEYS.flatMap((key) =>
      INJECTION.map(([label, value]): [string, string, Partial<RawSettings>, string] => [
        `veza-infra:${key}`,
        label,
        { [key]: value },
        `veza-infra:${key} `,
      ]),
    ),
    ...LIST_KEYS.flatMap((key) =>
      INJECTION.map(([label, value]): [string, string, Partial<RawSettings>, string] => [
        `veza-infra:${key}[0]`,
        label,
        { [key]: [value] },
        `veza-infra:${key}[0] `,
      ]),
    ),
  ];

  test("covers every key that holds text", () => {
    expect(STRING_KEYS).toHaveLength(23);
    expect(LIST_KEYS).toHaveLength(8);
  });

  test.each(cases)("%s refuses %s", (_key, _label, overrides, named) => {
    const problems = problemsOf(overrides);
    expect(problems.filter((p) => p.startsWith(named))).toHaveLength(1);
    // The message itself stays plain, printable text: no control character gets through.
    for (const p of problems) expect(p).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe("unknown keys", () => {
  test("names each key of the project's namespace that is not a setting, with the likely one", () => {
    expect(
      unknownKeyProblems(["veza-infra:httpport", "veza-infra:healthCheckFalls", "veza-infra:streamServreCount", "veza-infra:retries"]),
    ).toEqual([
      "veza-infra:httpport is not a setting of this project; did you mean veza-infra:httpPort?",
      "veza-infra:healthCheckFalls is not a setting of this project; did you mean veza-infra:healthCheckFall?",
      "veza-infra:streamServreCount is not a setting of this project; did you mean veza-infra:streamServerCount?",
    ]);
  });

  test("suggests a key of the same letters even when far in edits, and nothing when none is close", () => {
    expect(unknownKeyProblems(["veza-infra:PrefixName", "veza-infra:colour"])).toEqual([
      "veza-infra:PrefixName is not a setting of this project; did you mean veza-infra:namePrefix?",
      "veza-infra:colour is not a setting of this project; the settings are the veza-infra: keys of Pulumi.yaml",
    ]);
  });

  test("leaves other namespaces alone and shows a strange key as plain text", () => {
    expect(unknownKeyProblems(["aws:region", "veza:httpPort", "veza-infra:a\u001b[31m"])).toEqual([
      "veza-infra:a\\u001b[31m is not a setting of this project; the settings are the veza-infra: keys of Pulumi.yaml",
    ]);
  });

  test("are reported by validateSettings together with every other problem", () => {
    let thrown: unknown;
    try {
      validateSettings(raw({ healthCheckFall: 0 }), files, ["veza-infra:httpPort", "veza-infra:healthcheckfall", "aws:region"]);
    } catch (error) {
      thrown = error;
    }
    expect((thrown as SettingsError).problems).toEqual([
      "veza-infra:healthcheckfall is not a setting of this project; did you mean veza-infra:healthCheckFall?",
      "veza-infra:healthCheckFall must be an integer from 1 to 100 (got 0)",
    ]);
  });
});

describe("LOCAL_FILES", () => {
  test("tells a file from a directory and from nothing, even below a file", () => {
    expect(LOCAL_FILES.kind(__filename)).toBe("file");
    expect(LOCAL_FILES.kind(__dirname)).toBe("directory");
    expect(LOCAL_FILES.kind(`${__dirname}/no-such-file`)).toBe("missing");
    expect(LOCAL_FILES.kind(`${__filename}/below-a-file`)).toBe("missing");
  });
});

describe("host and host:port", () => {
  test.each(["10.0.0.1", "255.255.255.255", "localhost", "api.example.org", "a-b.c1"])("%s is a host", (host) =>
    expect(isHost(host)).toBe(true),
  );
  test.each(["10.0.0.256", "1.2.3", "-a.example", "a..b", "a_b", "x".repeat(64)])("%s is not a host", (host) =>
    expect(isHost(host)).toBe(false),
  );
  test.each(["10.77.0.0/24", "192.0.2.7/32", "0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12"])("%s is an IPv4 network", (cidr) =>
    expect(isIPv4Cidr(cidr)).toBe(true),
  );
  test.each(["10.77.0.1/24", "11.0.0.0/7", "1.0.0.0/0", "10.77.0.0", "10.77.0/24"])("%s is not an IPv4 network", (cidr) =>
    expect(isIPv4Cidr(cidr)).toBe(false),
  );
  test("reads a network as its addresses, numbers that compare as addresses do", () => {
    expect(parseIPv4Cidr("10.20.0.0/16")).toEqual({
      first: 10 * 2 ** 24 + 20 * 2 ** 16,
      last: 10 * 2 ** 24 + 21 * 2 ** 16 - 1,
      prefixLength: 16,
    });
    expect(parseIPv4Cidr("255.255.255.255/32")).toEqual({ first: 2 ** 32 - 1, last: 2 ** 32 - 1, prefixLength: 32 });
    expect(parseIPv4Cidr("10.20.0.1/16")).toBeUndefined();
    expect(rangeText(parseIPv4Cidr("10.77.0.0/24") as AddressRange)).toBe("10.77.0.0-10.77.0.255");
    expect(rangeText(addressRange("10.77.0.200"))).toBe("10.77.0.200");
  });
  test.each([
    ["10.77.0.2-10.77.0.199", "10.77.0.2-10.77.0.199"],
    ["10.77.0.199-10.77.0.2", "10.77.0.199-10.77.0.2"],
    ["10.77.0.9-10.77.0.9", "10.77.0.9"],
  ])("reads the range %s as first and last, in the order given", (range, shown) => {
    expect(rangeText(parseIPv4Range(range) as AddressRange)).toBe(shown);
  });
  test.each(["10.77.0.2", "10.77.0.2-", "-10.77.0.2", "10.77.0.2-10.77.0.256", "10.77.0.2-10.77.0.3-10.77.0.4", "10.77.0.0/24"])(
    "%s is not a range",
    (range) => expect(parseIPv4Range(range)).toBeUndefined(),
  );
  test("parses host:port and refuses IPv6 and ports out of range", () => {
    expect(parseHostPort("10.0.0.1:8080")).toEqual({ host: "10.0.0.1", port: 8080 });
    expect(parseHostPort("::1:80")).toBeUndefined();
    expect(parseHostPort("host:65536")).toBeUndefined();
    expect(parseHostPort("host")).toBeUndefined();
  });
});
