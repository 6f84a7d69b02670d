/**
 * The edge: an HAProxy node, a pair of them behind a virtual IP (keepalived), their option
 * groups, and the pure rendering of haproxy.cfg and keepalived.conf.
 */
export { HAPROXY_WATCH, HaproxyNode } from "./haproxyNode";
export type { HaproxyNodeArgs, HaproxyPoolArgs, UpstreamSource } from "./haproxyNode";
export { HaproxyPair, PAIR_WATCH, completeVrrp, pairProblems } from "./haproxyPair";
export { VRRP_RULES, haproxyRules } from "./haproxyRules";
export { completeHaproxyOptions, haproxyProblems } from "./haproxyArgs";
export type { CompleteHaproxyOptions, DeepRequired, LeafPaths } from "./haproxyArgs";
export type { HaproxyPairArgs, HaproxyPairNode } from "./haproxyPair";
export * from "./haproxyOptions";
export { renderHaproxyConfig, configHash } from "./haproxyConfig";
export type { Fleets, Upstream } from "./haproxyConfig";
