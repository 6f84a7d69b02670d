/**
 * Checks of the plain values every domain meets: names Incus accepts, IPv4 addresses and networks,
 * host:port upstreams, files on the Pulumi host.
 */
import { FileAccess, Rule, RuleContext, shown } from "./rules";

export const INCUS_NAME_RULE = "letters, digits and hyphens, starting with a letter, at most 63 characters, not ending with a hyphen";

/** True when `name` is a valid Incus instance name (a hostname label that starts with a letter). */
export function isIncusName(name: string): boolean {
  return /^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** An IPv4 network in CIDR notation, e.g. `10.77.0.0/24` or `192.0.2.7/32`. */
const IPV4_CIDR = /^([\d.]+)\/(3[0-2]|[12]?\d)$/;
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
export const PORT_RANGE = [1, 65535] as const;

/** True for an IPv4 dotted quad such as `10.77.0.11`. */
export function isIPv4(address: string): boolean {
  return IPV4.test(address);
}

/** One IPv4 address as an unsigned 32-bit number, so addresses and ranges compare as numbers. */
export function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Consecutive IPv4 addresses, both ends included, as numbers. */
export interface AddressRange {
  first: number;
  last: number;
}

/** One IPv4 address as the range that holds only it. */
export function addressRange(address: string): AddressRange {
  const value = ipv4ToNumber(address);
  return { first: value, last: value };
}

/** A range as `first-last`, or the one address it holds. */
export const rangeText = ({ first, last }: AddressRange) =>
  first === last ? numberToIpv4(first) : `${numberToIpv4(first)}-${numberToIpv4(last)}`;

/** True when `outer` holds every address of `inner`. */
export const rangeHolds = (outer: AddressRange, inner: AddressRange) => outer.first <= inner.first && inner.last <= outer.last;

/**
 * The addresses of an IPv4 network such as `10.77.0.0/24`, network and broadcast included, and
 * its prefix length; undefined unless it is one. An address with a bit set beyond the prefix
 * (`10.77.0.5/24`) is refused rather than read as 10.77.0.0/24, since it is most likely a typo for
 * one host (`/32`) or one network, and the two differ by 255 allowed clients.
 */
export function parseIPv4Cidr(cidr: string): (AddressRange & { prefixLength: number }) | undefined {
  const match = IPV4_CIDR.exec(cidr);
  if (!match || !isIPv4(match[1])) return undefined;
  const first = ipv4ToNumber(match[1]);
  const size = 2 ** (32 - Number(match[2]));
  return first % size === 0 ? { first, last: first + size - 1, prefixLength: Number(match[2]) } : undefined;
}

/** True for an IPv4 network such as `10.77.0.0/24` whose address has no bit set beyond the prefix ({@link parseIPv4Cidr}). */
export function isIPv4Cidr(cidr: string): boolean {
  return parseIPv4Cidr(cidr) !== undefined;
}

/** `first-last` with two IPv4 addresses, e.g. `10.77.0.2-10.77.0.199`, as numbers; the first may exceed the last. */
export function parseIPv4Range(range: string): AddressRange | undefined {
  const ends = range.split("-");
  return ends.length === 2 && ends.every(isIPv4) ? { first: ipv4ToNumber(ends[0]), last: ipv4ToNumber(ends[1]) } : undefined;
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
  return port >= PORT_RANGE[0] && port <= PORT_RANGE[1] ? { host: match[1], port } : undefined;
}

/** A file on the Pulumi host, pushed by `incus file push <path>`: plain characters, and never read as an option. */
export const FILE_PATH = /^[A-Za-z0-9._/+@][A-Za-z0-9._/+@-]{0,4095}$/;
export const FILE_PATH_RULE = "a path of 1 to 4096 letters, digits and ._/+-@, not starting with '-'";

/** Why a path given for a file is not one, or undefined when it is a regular file. */
export function notAFile(files: FileAccess, path: string): string | undefined {
  return { file: undefined, directory: "is a directory", other: "not a regular file", missing: "no such file" }[files.kind(path)];
}

/**
 * A file on the Pulumi host, or "" for none: a plain path, then what `unusable` finds wrong with
 * the file, completing `must be empty or <what>` with `(got <path>: <why>)`.
 */
export function hostFile(what: string, unusable: (path: string, context: RuleContext) => string | undefined): Rule<string> {
  return {
    default: "",
    check: (value, context) => {
      if (typeof value !== "string") return [`must be a string (got ${shown(value)})`];
      if (!value) return [];
      if (!FILE_PATH.test(value)) return [`must be empty or ${FILE_PATH_RULE} (got ${shown(value)})`];
      const why = unusable(value, context);
      return why ? [`must be empty or ${what} (got ${shown(value)}: ${why})`] : [];
    },
  };
}

/**
 * A URL path as HAProxy sends it (health checks) or matches it (path_beg): RFC 3986 unreserved
 * characters and the sub-delims that mean nothing to haproxy.cfg or a shell. No `%` at all: a
 * percent-encoding would bring back, once decoded, the very characters kept out.
 */
export const URL_PATH = /^\/[A-Za-z0-9\-._~/:@+,=]{0,255}$/;
export const URL_PATH_RULE = "must be a URL path: '/' then letters, digits and -._~/:@+,= only (no %), at most 256 characters";
