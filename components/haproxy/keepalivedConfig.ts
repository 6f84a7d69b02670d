/**
 * keepalived.conf of the HAProxy pair (veza-infra:haproxyCount 2): both nodes run the same
 * haproxy.cfg, and keepalived (VRRPv3, unicast) keeps veza-infra:virtualIp on one of them, moving
 * it when that node's HAProxy stops answering or the node stops advertising. Rendered through
 * templates/keepalived.conf.mustache; every decision is computed here.
 *
 * Rolling out a new haproxy.cfg to the pair: one node after the other, the node without the
 * address first (pairScripts.ts's ROLLOUT_SCRIPT), each through the single node's apply step (the candidate
 * checked by that node's own `haproxy -c`, then a hitless reload). A config HAProxy rejects on
 * the first node fails the step before the second is touched: it goes live on neither, and the
 * holder never stopped serving the old one. Both nodes run the same image, so a config the first
 * accepts the second accepts too; one that loads but misbehaves shows on the node without
 * traffic first. A reload keeps the listeners accepting, so the check passes throughout and the
 * address stays where it is.
 */
import { ALIVE_URI, Upstream } from "./haproxyConfig";
import { VRRP_RULES } from "./haproxyRules";
import { HaproxyVrrp } from "./haproxyOptions";
import { renderTemplate } from "../common/templates";
import { argumentPath, atPath, problemsOf } from "../common/rules";
import { addressRange, isIPv4, isIncusName, parseIPv4Cidr, rangeHolds } from "../common/checks";

/** What keepalived.conf is rendered from: the pair's VRRP, every field given, and the port its check asks HAProxy on. */
export interface KeepalivedArgs {
  vrrp: Required<HaproxyVrrp>;
  /** HAProxy's stats listener, where the monitor URI answers on loopback. */
  statsPort: number;
}

/** Where the rendered file goes in each HAProxy container (the path keepalived.service reads). */
export const KEEPALIVED_CONF_PATH = "/etc/keepalived/keepalived.conf";
/** The interface of the lab containers, which carries the adverts and the virtual IP. */
const INTERFACE = "eth0";
/**
 * Priorities in node order. With nopreempt they only pick the holder when neither has the
 * address (both start); 50 apart, as keepalived's manual recommends.
 */
const PRIORITIES = [150, 100] as const;
/** keepalived's shortest script interval, in whole seconds. */
const CHECK_INTERVAL_SECONDS = 1;
/**
 * How long the check waits for HAProxy's answer, which on loopback takes well under a
 * millisecond: a hung HAProxy moves the address within interval + deadline + skew, about 1.6 s.
 */
const CHECK_DEADLINE_SECONDS = 0.5;
const GARP_REFRESH_SECONDS = 10;

/**
 * keepalived.conf of the node named `self`, one of `pair` (in the order of their priorities:
 * the first is preferred when neither holds the address). Throws when the pair is not two nodes
 * with distinct names and IPv4 addresses on `vrrp.subnet`, or the VRRP arguments are invalid.
 */
export function renderKeepalivedConfig(args: KeepalivedArgs, pair: readonly Upstream[], self: string): string {
  const problems: string[] = [];
  if (pair.length !== PRIORITIES.length) problems.push(`a pair is ${PRIORITIES.length} nodes (got ${pair.length})`);
  for (const node of pair) {
    if (!isIncusName(node.name)) problems.push(`node name ${JSON.stringify(node.name)} is not letters, digits and hyphens`);
    if (!isIPv4(node.address)) problems.push(`${node.name} has address ${JSON.stringify(node.address)}, not an IPv4 address`);
  }
  for (const field of ["name", "address"] as const) {
    const values = pair.map((node) => node[field]);
    const twice = values.find((value, i) => values.indexOf(value) !== i);
    if (twice !== undefined) problems.push(`${field} ${twice} appears twice`);
  }
  const index = pair.findIndex((node) => node.name === self);
  if (index < 0) problems.push(`${JSON.stringify(self)} is not a node of the pair`);
  const vip = args.vrrp.virtualIp;
  const invalid = problemsOf(VRRP_RULES, (path) => atPath(args, path), argumentPath);
  if (invalid.length > 0) problems.push(`${invalid.join("; ")}; validate the arguments first`);
  if (pair.some((node) => node.address === vip)) problems.push(`vrrp.virtualIp ${vip} is a node's own address`);
  // The adverts and the address go out on eth0's segment: a node off it would never be reached.
  const subnet = parseIPv4Cidr(args.vrrp.subnet);
  for (const node of pair) {
    if (subnet && isIPv4(node.address) && !rangeHolds(subnet, addressRange(node.address)))
      problems.push(`${node.name} has address ${node.address}, outside vrrp.subnet ${args.vrrp.subnet}`);
  }
  // A valid vrrp.subnet always parses: `!subnet` only narrows its type.
  if (problems.length > 0 || !subnet) throw new Error(`keepalived pair: ${problems.join("; ")}`);

  const node = pair[index];
  return renderTemplate("keepalived.conf.mustache", {
    name: node.name,
    address: node.address,
    peers: pair.filter((other) => other !== node).map((other) => other.address),
    priority: PRIORITIES[index],
    routerId: args.vrrp.routerId,
    advertInterval: (args.vrrp.advertIntervalMs / 1000).toFixed(2),
    virtualIp: vip,
    prefixLength: subnet.prefixLength,
    interface: INTERFACE,
    statsPort: args.statsPort,
    aliveUri: ALIVE_URI,
    checkIntervalSeconds: CHECK_INTERVAL_SECONDS,
    checkDeadline: CHECK_DEADLINE_SECONDS,
    garpRefreshSeconds: GARP_REFRESH_SECONDS,
  });
}
