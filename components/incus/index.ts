/**
 * Incus plumbing: a container created and deleted through the `incus` CLI, its limits, where it
 * goes (remote, cluster member, image, network, pool), who owns it, and what runs in it now.
 */
export { IncusContainer, stackOwner } from "./incusContainer";
export type { IncusContainerArgs } from "./incusContainer";
export { PLACEMENT_RULES, incusRef } from "./incusScripts";
export type { IncusPlacement } from "./incusScripts";
export { LIMITS_RULES, completeLimits } from "./instanceLimits";
export type { InstanceLimits, InstanceRole } from "./instanceLimits";
export { checkIncusReachable } from "./incusReach";
export { observeContainers } from "./liveState";
export type { LiveContainer, ProbeRequest } from "./liveState";
export { OwnershipError, RENAME_CONTAINERS, listInstances, ownedPlacement } from "./ownership";
export { clusterMembers, clusterPlacements, containerLocations, placeOnCluster } from "./clusterPlacement";
export type { ContainerPlacements } from "./clusterPlacement";
export { placeContainers, renderPlacementScriptlet } from "./placement";
export type { Placement, PlacementMember, PlacementRequest } from "./placement";
