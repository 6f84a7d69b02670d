/**
 * The rule of every HAProxy option and of the pair's VRRP, by argument path: the one place their
 * defaults and accepted values are declared. HaproxyNode and HaproxyPair check their arguments
 * with these; the stack validator runs them over stack config, naming its keys instead; the
 * TSDoc of haproxyOptions.ts, Pulumi.yaml and docs/configuration.md are tested against them.
 */
import {
  AddressRange,
  PORT_RANGE,
  URL_PATH,
  URL_PATH_RULE,
  addressRange,
  hostFile,
  isIPv4,
  isIPv4Cidr,
  notAFile,
  parseHostPort,
  parseIPv4Cidr,
  parseIPv4Range,
  rangeHolds,
  rangeText,
} from "../common/checks";
import { Rule, RuleContext, Rules, flag, inRange, integer, list, oneOf, shown, text } from "../common/rules";
import { LAB_NETWORK } from "../incus/labNetwork";
import { CLIENT_ADDRESS_SOURCES, PEERS_PORT } from "./haproxyOptions";

const MAX_INTERVAL_MS = 3_600_000;

/** Beyond this a prefix list is a mistake, not a routing table; HAProxy itself would take more. */
const MAX_STREAM_PREFIXES = 1000;
/** An RFC 6265 cookie name (an RFC 2616 token), narrowed to the token characters no tool treats specially. */
const COOKIE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/**
 * Each list of networks is one `src` ACL on one config line, which HAProxy 2.6 reads to 64 words;
 * an allowlist longer than this belongs in a firewall, not in haproxy.cfg.
 */
const MAX_SOURCES = 32;
const CIDR = {
  accepts: isIPv4Cidr,
  must: "must be an IPv4 network in CIDR notation with no host bits set, e.g. 10.77.0.0/24 or 192.0.2.7/32",
};
/** VRRPv3 carries the advertisement interval in centiseconds; keepalived would round anything finer. */
const VRRP_INTERVAL_STEP_MS = 10;

/**
 * The prefix lengths a VRRP subnet may have: no private network is larger than 10.0.0.0/8, and the
 * two nodes and the virtual IP need three host addresses, which a /29 is the smallest to hold.
 */
const SUBNET_PREFIX = [8, 29] as const;

/** A network's host addresses: all but its network and broadcast address. */
const hostsOf = (subnet: AddressRange): AddressRange => ({ first: subnet.first + 1, last: subnet.last - 1 });

/** A VRRP subnet's addresses and prefix length, or undefined when `vrrp.subnet`'s rule refuses it. */
function vrrpSubnet(value: unknown): ReturnType<typeof parseIPv4Cidr> {
  const subnet = typeof value === "string" ? parseIPv4Cidr(value) : undefined;
  return subnet && inRange(subnet.prefixLength, ...SUBNET_PREFIX) ? subnet : undefined;
}

/** A string that may be empty (nothing there, or not known); `check` judges one that is not. */
function emptyOr(defaultValue: string, check: (value: string, context: RuleContext) => string[]): Rule<string> {
  return {
    default: defaultValue,
    check: (value, context) =>
      typeof value !== "string" ? [`must be a string (got ${shown(value)})`] : value === "" ? [] : check(value, context),
  };
}

/**
 * The problem of addresses outside the subnet, when the subnet is valid: where they must be, and
 * that a default left while the subnet was set is the one-host lab's.
 */
function outsideSubnet(context: RuleContext, range: AddressRange, value: string, defaultValue: string): string[] {
  const subnet = vrrpSubnet(context.value("vrrp.subnet"));
  if (!subnet || rangeHolds(hostsOf(subnet), range)) return [];
  const lab = value === defaultValue ? `, the default: set it along with ${context.name("vrrp.subnet")}` : "";
  return [
    `must be empty or within the host addresses of ${context.name("vrrp.subnet")}, ${rangeText(hostsOf(subnet))} (got ${shown(value)}${lab})`,
  ];
}

/** The rules of the pair's segment; their defaults describe the one-host lab's bridge. */
const SEGMENT_RULES: Rules = {
  "vrrp.subnet": text(
    (value) => vrrpSubnet(value) !== undefined,
    `must be an IPv4 network in CIDR notation with no host bits set, /${SUBNET_PREFIX[0]} to /${SUBNET_PREFIX[1]}, e.g. 10.79.0.0/24`,
    LAB_NETWORK.subnet,
  ),
  "vrrp.leasedRange": emptyOr(LAB_NETWORK.leasedRange, (value, context) => {
    const range = parseIPv4Range(value);
    if (!range) return [`must be empty or first-last, two IPv4 addresses, e.g. 10.79.0.2-10.79.0.199 (got ${shown(value)})`];
    if (range.first > range.last) return [`must be empty or first-last with the first address not above the last (got ${shown(value)})`];
    return outsideSubnet(context, range, value, LAB_NETWORK.leasedRange);
  }),
  "vrrp.gateway": emptyOr(LAB_NETWORK.gateway, (value, context) => {
    if (!isIPv4(value)) return [`must be empty or an IPv4 address (got ${shown(value)})`];
    return outsideSubnet(context, addressRange(value), value, LAB_NETWORK.gateway);
  }),
};

/** The addresses of `ranges` that are not in `cut`. */
const without = (ranges: AddressRange[], cut: AddressRange): AddressRange[] =>
  ranges.flatMap((range) => [
    ...(range.first < cut.first ? [{ first: range.first, last: Math.min(range.last, cut.first - 1) }] : []),
    ...(range.last > cut.last ? [{ first: Math.max(range.first, cut.last + 1), last: range.last }] : []),
  ]);

/** The pair's segment as its `vrrp` arguments describe it: the subnet, and what in it the virtual IP must avoid. */
interface Segment {
  subnet: AddressRange;
  /** `vrrp.leasedRange` and `vrrp.gateway`, those given, each with its path. */
  avoided: { path: "vrrp.leasedRange" | "vrrp.gateway"; range: AddressRange }[];
}

/** The segment, or undefined while the rule of one of its arguments refuses it (that rule says why). */
function segmentOf(context: RuleContext): Segment | undefined {
  if (Object.entries(SEGMENT_RULES).some(([path, rule]) => rule.check(context.value(path), context).length > 0)) return undefined;
  const [leased, gateway] = [context.value("vrrp.leasedRange") as string, context.value("vrrp.gateway") as string];
  const avoided: Segment["avoided"] = [
    ...(leased ? [{ path: "vrrp.leasedRange" as const, range: parseIPv4Range(leased) as AddressRange }] : []),
    ...(gateway ? [{ path: "vrrp.gateway" as const, range: addressRange(gateway) }] : []),
  ];
  return { subnet: vrrpSubnet(context.value("vrrp.subnet")) as AddressRange, avoided };
}

/**
 * What `virtualIp` must be, naming the arguments (or stack keys) of the segment: the addresses
 * left for it, then why those. While one of them is invalid, only that it is an IPv4 address.
 */
export function virtualIpRule(context: RuleContext): string {
  const segment = segmentOf(context);
  if (!segment) return `an IPv4 address of ${context.name("vrrp.subnet")}`;
  const subnet = `${context.name("vrrp.subnet")} ${String(context.value("vrrp.subnet"))}`;
  const free = segment.avoided.reduce((left, { range }) => without(left, range), [hostsOf(segment.subnet)]);
  const from = free.length > 0 ? `from ${free.map(rangeText).join(", ")}` : "(none is left)";
  const avoided = segment.avoided.map(
    ({ path }) => `${path === "vrrp.gateway" ? "not" : "outside"} ${context.name(path)} ${String(context.value(path))}`,
  );
  return [`an IPv4 address ${from}: a host address of ${subnet}`, ...avoided].join(", ");
}

/** Why `virtualIp` cannot be the pair's address on the segment `context` describes, or undefined when it can. */
export function virtualIpProblem(virtualIp: string, context: RuleContext): string | undefined {
  if (!isIPv4(virtualIp)) return "not an IPv4 address";
  const segment = segmentOf(context);
  if (!segment) return undefined;
  const address = addressRange(virtualIp);
  const { subnet } = segment;
  if (!rangeHolds(subnet, address)) return `outside ${context.name("vrrp.subnet")}`;
  if (address.first === subnet.first) return "the subnet's network address";
  if (address.first === subnet.last) return "the subnet's broadcast address";
  const avoided = segment.avoided.find(({ range }) => rangeHolds(range, address));
  if (avoided?.path === "vrrp.gateway") return `${context.name("vrrp.gateway")}, the router's own address`;
  if (avoided) return `inside ${context.name("vrrp.leasedRange")}, so it could be handed to another host`;
  return undefined;
}

/** A list of networks for one `src` ACL; `whyNotEmpty` says why an empty one is refused, if it is. */
function networks(defaultValue: string[], whyNotEmpty?: (context: RuleContext) => string | undefined): Rule<string[]> {
  return list(CIDR, defaultValue, (sources, context) => {
    const why = whyNotEmpty?.(context);
    return [
      ...(sources.length === 0 && why ? [`must list at least one IPv4 network, ${why} (got [])`] : []),
      ...(sources.length > MAX_SOURCES ? [`must list at most ${MAX_SOURCES} networks (got ${sources.length})`] : []),
    ];
  });
}

/** The listeners, in the order a clash names the earlier one; HTTPS only binds with a PEM. */
const LISTENERS = ["listeners.httpPort", "listeners.httpsPort", "listeners.statsPort", "metrics.port"];

/** A listener's port: in range, apart from the listeners before it, and off the pair's peers port. */
function listener(path: string, defaultValue: number, paired: boolean): Rule<number> {
  const bound = (other: string, context: RuleContext) => other !== "listeners.httpsPort" || Boolean(context.value("listeners.tlsPemPath"));
  return integer(PORT_RANGE[0], PORT_RANGE[1], defaultValue, (port, context) => {
    if (!bound(path, context)) return [];
    const earlier = LISTENERS.slice(0, LISTENERS.indexOf(path)).find(
      (other) => bound(other, context) && inRange(context.value(other), ...PORT_RANGE) && context.value(other) === port,
    );
    if (earlier) return [`must differ from ${context.name(earlier)}: both would listen on port ${shown(port)}`];
    // The pair's nodes share their limits' counters there (edge protection, issue 22).
    if (paired && context.value("rateLimits.enabled") === true && port === PEERS_PORT)
      return [`must differ from ${PEERS_PORT}, where the pair's nodes share their rate-limit counters (got ${PEERS_PORT})`];
    return [];
  });
}

/** Why a PEM file cannot serve HTTPS, or undefined when it can. */
function pemProblem(context: RuleContext, path: string): string | undefined {
  const notFile = notAFile(context.files, path);
  if (notFile) return notFile;
  let pem: string;
  try {
    pem = context.files.readText(path);
  } catch (error) {
    return `unreadable: ${(error as Error).message}`;
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) return "no -----BEGIN CERTIFICATE----- block";
  if (/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(pem)) return undefined;
  return pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    ? "its private key is encrypted, and HAProxy cannot ask for a passphrase"
    : "no -----BEGIN PRIVATE KEY----- block (RSA and EC keys also do)";
}

const tlsPem = hostFile("name a PEM file holding the certificate and its unencrypted private key", (path, context) =>
  pemProblem(context, path),
);

/** The health check's timeout, below its interval when that is valid: a check still running when the next is due would overlap it. */
const checkTimeout: Rule<number> = {
  default: 300,
  check: (value, context) => {
    const interval = context.value("healthCheck.intervalMs");
    const known = inRange(interval, 100, MAX_INTERVAL_MS);
    const max = known ? interval - 1 : MAX_INTERVAL_MS - 1;
    if (inRange(value, 50, max)) return [];
    const bound = known ? `, below ${context.name("healthCheck.intervalMs")}` : "";
    return [`must be an integer from 50 to ${max}${bound} (got ${shown(value)})`];
  },
};

const urlPath = (defaultValue: string) => text(URL_PATH, URL_PATH_RULE, defaultValue);

const fallbacks = list(
  {
    accepts: (server) => parseHostPort(server) !== undefined,
    must: "must be host:port with an IPv4 address or DNS name and a port from 1 to 65535",
  },
  [],
);

const addressSource = (context: RuleContext) => CLIENT_ADDRESS_SOURCES.find((source) => source === context.value("clientAddress.source"));

const trustedProxies: Rule<string[]> = (() => {
  const base = networks([], (context) => {
    const source = addressSource(context);
    return source && source !== "connection"
      ? `the only sources whose ${source} address is believed, while ${context.name("clientAddress.source")} is "${source}"`
      : undefined;
  });
  return {
    ...base,
    check: (value, context) => {
      const problems = base.check(value, context);
      const given = Array.isArray(value) && value.every((entry) => typeof entry === "string") && value.length > 0;
      if (addressSource(context) === "connection" && given)
        problems.push(
          `must be empty while ${context.name("clientAddress.source")} is "connection": no proxy's word is read for the client's address then (got ${shown(value)})`,
        );
      return problems;
    },
  };
})();

/** Every HAProxy option's rule, by its path in HaproxyOptions; `paired` for a node of a pair. */
export function haproxyRules(paired: boolean): Rules {
  return {
    "listeners.httpPort": listener("listeners.httpPort", 80, paired),
    "listeners.httpsPort": listener("listeners.httpsPort", 443, paired),
    "listeners.tlsPemPath": tlsPem,
    "listeners.statsPort": listener("listeners.statsPort", 9100, paired),
    "healthCheck.intervalMs": integer(100, MAX_INTERVAL_MS, 500),
    "healthCheck.timeoutMs": checkTimeout,
    "healthCheck.fall": integer(1, 100, 2),
    "healthCheck.rise": integer(1, 100, 2),
    "healthCheck.backendApiPath": urlPath("/api/v1/health"),
    "healthCheck.streamServerPath": urlPath("/health"),
    "stickyCookie.name": text(COOKIE_NAME, "must be an RFC 6265 cookie name of 1 to 64 letters, digits, '-', '.' or '_'", "VEZA_SERVERID"),
    "uriHash.pathPrefixes": list({ accepts: (prefix) => URL_PATH.test(prefix), must: URL_PATH_RULE }, ["/hls/", "/stream/"], (prefixes) => [
      ...(prefixes.length === 0 ? ["must list at least one path prefix, or nothing would reach stream_pool (got [])"] : []),
      ...(prefixes.length > MAX_STREAM_PREFIXES ? [`must list at most ${MAX_STREAM_PREFIXES} path prefixes (got ${prefixes.length})`] : []),
    ]),
    "timeouts.connectMs": integer(50, 60_000, 250),
    "timeouts.serverMs": integer(100, MAX_INTERVAL_MS, 5000),
    "timeouts.tunnelSeconds": integer(1, 86_400, 3600),
    "timeouts.hardStopAfterSeconds": integer(1, 86_400, 300),
    retries: integer(0, 10, 3),
    // Which names are servers is the node's to say (it knows its pools), or the stack's.
    "drain.servers": list({ accepts: () => true, must: "" }, []),
    "drain.slowStartSeconds": integer(0, 3600, 30),
    "pools.backendApi.port": integer(PORT_RANGE[0], PORT_RANGE[1], 8080),
    "pools.backendApi.fallbacks": fallbacks,
    "pools.streamServer.port": integer(PORT_RANGE[0], PORT_RANGE[1], 8082),
    "pools.streamServer.fallbacks": fallbacks,
    "metrics.port": listener("metrics.port", 9101, paired),
    "metrics.allowedSources": networks(["10.77.0.0/24"], () => "or no scraper could reach /metrics"),
    "logging.everyRequest": flag(false),
    "rateLimits.enabled": flag(true),
    // A period beyond an hour would keep a throttled client out for as long (Retry-After is the
    // period); the counts are bounded only so a typo cannot overflow.
    "rateLimits.apiRequests": integer(1, 1_000_000, 300),
    "rateLimits.periodSeconds": integer(1, 3600, 10),
    "rateLimits.connections": integer(1, 100_000, 100),
    // No exempt network at all is allowed: every client is limited.
    "rateLimits.exemptSources": networks(["10.77.0.0/24"]),
    "clientAddress.source": oneOf(CLIENT_ADDRESS_SOURCES, "connection"),
    "clientAddress.trustedProxies": trustedProxies,
  };
}

/** The pair's VRRP rules, by their path in HaproxyPairArgs. */
export const VRRP_RULES: Rules = {
  "vrrp.virtualIp": {
    default: "",
    check: (value, context) => {
      const problem = typeof value === "string" ? virtualIpProblem(value, context) : "not a string";
      return problem ? [`must be ${virtualIpRule(context)} (got ${shown(value)}: ${problem})`] : [];
    },
  },
  ...SEGMENT_RULES,
  "vrrp.advertIntervalMs": integer(100, 1000, 200, (interval) =>
    interval % VRRP_INTERVAL_STEP_MS === 0
      ? []
      : [`must be a multiple of ${VRRP_INTERVAL_STEP_MS}: VRRPv3 counts the interval in centiseconds (got ${shown(interval)})`],
  ),
  "vrrp.routerId": integer(1, 255, 51),
};
