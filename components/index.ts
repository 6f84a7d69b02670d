/**
 * The components and their argument types, for other Pulumi programs:
 * `import { HaproxyNode, BackendApiInstance } from "veza-infra/components"`.
 */
export { BackendApiInstance } from "./backendApiInstance";
export * from "./haproxyArgs";
export type { Fleets, Upstream } from "./haproxyConfig";
export { HaproxyNode } from "./haproxyNode";
export type { HaproxyNodeArgs, HaproxyPoolArgs, UpstreamSource } from "./haproxyNode";
export { IncusContainer, stackOwner } from "./incusContainer";
export type { IncusContainerArgs } from "./incusContainer";
export { PLACEMENT_FIELDS, placementFromSettings } from "./incusScripts";
export type { IncusPlacement } from "./incusScripts";
export { LIMITS_FIELDS, limitsFromSettings } from "./instanceLimits";
export type { InstanceLimits, InstanceRole } from "./instanceLimits";
export { SERVICE_FIELDS, ServiceInstance, serviceArgsFromSettings } from "./serviceInstance";
export type { ServiceInstanceArgs, ServiceOptions } from "./serviceInstance";
export { StreamServerInstance } from "./streamServerInstance";
export { ownedPlacement } from "./ownership";
