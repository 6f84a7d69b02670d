/**
 * The upstream services: a backend-api or stream-server instance in its container, and the
 * rolling restart of a fleet behind the edge when a new release is deployed.
 */
export { BackendApiInstance } from "./backendApiInstance";
export { StreamServerInstance } from "./streamServerInstance";
export { ServiceInstance, serviceWatch } from "./serviceInstance";
export type { ServiceInstanceArgs, ServiceOptions, ServiceRole } from "./serviceInstance";
export { FleetRollout } from "./fleetRollout";
export type { FleetRolloutArgs } from "./fleetRollout";
export type { RolloutOptions } from "./rollout";
