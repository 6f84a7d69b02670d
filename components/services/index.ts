/**
 * The upstream services: a backend-api or stream-server instance in its container, and the
 * rolling restart of a fleet behind the edge when a new release is deployed.
 */
export { BackendApiInstance } from "./backendApiInstance";
export { StreamServerInstance } from "./streamServerInstance";
export { ServiceInstance, serviceRules, serviceWatch } from "./serviceInstance";
export type { ServiceInstanceArgs, ServiceOptions, ServiceRole } from "./serviceInstance";
export { FleetRollout } from "./fleetRollout";
export type { FleetRolloutArgs } from "./fleetRollout";
export { ROLLOUT_RULES, completeRollout } from "./rollout";
export type { RolloutOptions } from "./rollout";
