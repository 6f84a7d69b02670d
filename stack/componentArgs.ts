/**
 * The components' arguments from validated settings, through the table of stack/fields.ts: the
 * only place the flat stack config becomes the components' option groups.
 */
import { CompleteHaproxyOptions } from "../components/haproxy/haproxyArgs";
import { Fleets, Upstream, renderHaproxyConfig } from "../components/haproxy/haproxyConfig";
import { HaproxyVrrp } from "../components/haproxy/haproxyOptions";
import { IncusPlacement } from "../components/incus/incusScripts";
import { InstanceLimits, InstanceRole } from "../components/incus/instanceLimits";
import { RolloutOptions } from "../components/services/rollout";
import { ServiceOptions, ServiceRole } from "../components/services/serviceInstance";
import { HAPROXY_FIELDS, LIMITS_FIELDS, PLACEMENT_FIELDS, ROLLOUT_FIELDS, SERVICE_FIELDS, VRRP_FIELDS, argumentsOf } from "./fields";
import { Settings } from "./settings";

/** The settings the HAProxy options are built from; a full {@link Settings} fits. */
export type HaproxySettings = Pick<Settings, keyof typeof HAPROXY_FIELDS>;

export function haproxyOptionsFromSettings(settings: HaproxySettings): CompleteHaproxyOptions {
  return argumentsOf(HAPROXY_FIELDS, settings);
}

/** haproxy.cfg as a stack with these settings renders it. */
export function stackHaproxyConfig(settings: HaproxySettings, fleets: Fleets, peers: readonly Upstream[] = []): string {
  return renderHaproxyConfig(haproxyOptionsFromSettings(settings), fleets, peers);
}

export function vrrpFromSettings(settings: Settings): Required<HaproxyVrrp> {
  return argumentsOf<{ vrrp: Required<HaproxyVrrp> }>(VRRP_FIELDS, settings).vrrp;
}

export function placementFromSettings(settings: Pick<Settings, keyof typeof PLACEMENT_FIELDS>): IncusPlacement {
  return argumentsOf(PLACEMENT_FIELDS, settings);
}

export function limitsFromSettings(settings: Settings, role: InstanceRole): Required<InstanceLimits> {
  return argumentsOf<{ limits: Required<InstanceLimits> }>(LIMITS_FIELDS[role], settings).limits;
}

export function rolloutFromSettings(settings: Settings, service: ServiceRole["service"]): Required<RolloutOptions> {
  return argumentsOf(ROLLOUT_FIELDS[service], settings);
}

export function serviceArgsFromSettings(settings: Settings, service: ServiceRole["service"]): Required<ServiceOptions> {
  return argumentsOf(SERVICE_FIELDS[service], settings);
}
