/**
 * What each stack-config key feeds: a component argument, or the program itself. The
 * configuration table of docs/configuration.md shows this column, and a unit test holds the two together.
 */
import { HAPROXY_FIELDS } from "../components/haproxy/haproxyArgs";
import { PLACEMENT_FIELDS } from "../components/incus/incusScripts";
import { LIMITS_FIELDS } from "../components/incus/instanceLimits";
import { ROLLOUT_FIELDS } from "../components/services/rollout";
import { SERVICE_FIELDS } from "../components/services/serviceInstance";
import { Settings } from "./settings";

/** Keys no component takes (yet): they shape the program, the policy pack or the HAProxy pair. */
const PROGRAM_FEEDS = {
  backendApiCount: "index.ts: how many BackendApiInstance",
  streamServerCount: "index.ts: how many StreamServerInstance",
  namePrefix: "index.ts: every `containerName`",
  policyWaivers: "policy pack (policy/)",
  haproxyCount: "HAProxy pair (keepalivedConfig.ts), not a HaproxyNode argument yet",
  virtualIp: "HAProxy pair (keepalivedConfig.ts), not a HaproxyNode argument yet",
  vrrpAdvertIntervalMs: "HAProxy pair (keepalivedConfig.ts), not a HaproxyNode argument yet",
  vrrpRouterId: "HAProxy pair (keepalivedConfig.ts), not a HaproxyNode argument yet",
} as const;

/** The "feeds" cell of every key in docs/configuration.md. */
export function configFeeds(): Record<keyof Settings, string> {
  const entries = [
    ...Object.entries(HAPROXY_FIELDS).map(([key, field]) => [key, `HaproxyNode \`${field}\``]),
    ...Object.entries(SERVICE_FIELDS["backend-api"]).map(([key, field]) => [key, `BackendApiInstance \`${field}\``]),
    ...Object.entries(SERVICE_FIELDS["stream-server"]).map(([key, field]) => [key, `StreamServerInstance \`${field}\``]),
    ...Object.entries(LIMITS_FIELDS.haproxy).map(([key, field]) => [key, `HaproxyNode \`${field}\``]),
    ...Object.entries(LIMITS_FIELDS["backend-api"]).map(([key, field]) => [key, `BackendApiInstance \`${field}\``]),
    ...Object.entries(LIMITS_FIELDS["stream-server"]).map(([key, field]) => [key, `StreamServerInstance \`${field}\``]),
    ...Object.entries(ROLLOUT_FIELDS["backend-api"]).map(([key, field]) => [key, `FleetRollout \`rollout.${field}\``]),
    ...Object.entries(ROLLOUT_FIELDS["stream-server"]).map(([key, field]) => [key, `FleetRollout \`rollout.${field}\``]),
    ...Object.entries(PLACEMENT_FIELDS).map(([key, field]) => [key, `every component's \`placement.${field}\``]),
    ...Object.entries(PROGRAM_FEEDS),
  ];
  return Object.fromEntries(entries) as Record<keyof Settings, string>;
}
