/**
 * The edge: an HAProxy node, a pair of them behind a virtual IP (keepalived), their option
 * groups, and the pure rendering of haproxy.cfg and keepalived.conf.
 */
export { HAPROXY_WATCH, HaproxyNode } from "./haproxyNode";
export type { HaproxyNodeArgs, HaproxyPoolArgs, UpstreamSource } from "./haproxyNode";
export { HaproxyPair, PAIR_WATCH } from "./haproxyPair";
export type { HaproxyPairArgs, HaproxyPairNode } from "./haproxyPair";
export * from "./haproxyOptions";
export { renderHaproxyConfig, configHash } from "./haproxyConfig";
export type { Fleets, Upstream } from "./haproxyConfig";
