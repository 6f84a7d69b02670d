/**
 * The components and their argument types, for other Pulumi programs:
 * `import { HaproxyNode, BackendApiInstance } from "veza-infra/components"`.
 */
export { BackendApiInstance } from "./backendApiInstance";
export { FleetRollout } from "./fleetRollout";
export type { FleetRolloutArgs } from "./fleetRollout";
export { observeContainers } from "./liveState";
export type { LiveContainer, ProbeRequest } from "./liveState";
export { ROLLOUT_FIELDS, rolloutFromSettings } from "./rollout";
export type { RolloutOptions } from "./rollout";
export * from "./haproxyArgs";
export type { Fleets, Upstream } from "./haproxyConfig";
export { HAPROXY_WATCH, HaproxyNode } from "./haproxyNode";
export { HaproxyPair, PAIR_WATCH } from "./haproxyPair";
export type { HaproxyPairArgs } from "./haproxyPair";
export type { HaproxyNodeArgs, HaproxyPoolArgs, UpstreamSource } from "./haproxyNode";
export { IncusContainer, stackOwner } from "./incusContainer";
export type { IncusContainerArgs } from "./incusContainer";
export { PLACEMENT_FIELDS, placementFromSettings } from "./incusScripts";
export type { IncusPlacement } from "./incusScripts";
export { LIMITS_FIELDS, limitsFromSettings } from "./instanceLimits";
export type { InstanceLimits, InstanceRole } from "./instanceLimits";
export { SERVICE_FIELDS, ServiceInstance, serviceArgsFromSettings, serviceWatch } from "./serviceInstance";
export type { ServiceInstanceArgs, ServiceOptions } from "./serviceInstance";
export { StreamServerInstance } from "./streamServerInstance";
export { ownedPlacement } from "./ownership";
