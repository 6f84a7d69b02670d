import * as os from "os";
import * as pulumi from "@pulumi/pulumi";
import { BackendApiInstance } from "./components/services/backendApiInstance";
import { FleetRollout } from "./components/services/fleetRollout";
import { HAPROXY_WATCH, HaproxyNode } from "./components/haproxy/haproxyNode";
import { HaproxyPair, PAIR_WATCH } from "./components/haproxy/haproxyPair";
import { stackOwner } from "./components/incus/incusContainer";
import { incusRef } from "./components/incus/incusScripts";
import { ProbeRequest, observeContainers } from "./components/incus/liveState";
import { checkIncusReachable } from "./components/incus/incusReach";
import { listInstances, ownedPlacement } from "./components/incus/ownership";
import { clusterPlacements } from "./components/incus/clusterPlacement";
import { serviceWatch } from "./components/services/serviceInstance";
import { HAPROXY_NAME, NAME_PREFIX_WAY_OUT, Settings, containerName, fleetNames, haproxyNames, settingsFromConfig } from "./stack/settings";
import { StreamServerInstance } from "./components/services/streamServerInstance";
import { LOCAL_FILES } from "./components/common/rules";
import { SettingsError, validateSettings } from "./stack/validation";
import {
  haproxyOptionsFromSettings,
  limitsFromSettings,
  placementFromSettings,
  rolloutFromSettings,
  serviceArgsFromSettings,
  vrrpFromSettings,
} from "./stack/componentArgs";

/**
 * Validation throws one message naming every bad stack-config key, mistyped keys included, before
 * any resource is registered, so `pulumi preview` fails on bad input without touching a container.
 * Pulumi prints a RunError as its message alone: the operator sees the problems, not a stack trace.
 */
function stackSettings(): Settings {
  const config = new pulumi.Config();
  try {
    return validateSettings(
      settingsFromConfig((key) => config.get(key)),
      LOCAL_FILES,
      Object.keys(pulumi.runtime.allConfig()),
      os.availableParallelism(),
    );
  } catch (error) {
    if (error instanceof SettingsError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** Also a stack output: the policy pack (policy/) judges the settings a stack will run with. */
export const settings = stackSettings();

const names = fleetNames(settings);
checkIncusReachable(settings.incusRemote);

// Checked once for every container at preview, before any is registered: a stack whose prefix
// collides with another's fails there, naming the owners, instead of at `up` halfway through.
const roles = [
  { role: HAPROXY_NAME, names: haproxyNames(settings.haproxyCount) },
  { role: "backend-api", names: names.backendApi },
  { role: "stream-server", names: names.streamServer },
].map(({ role, names: ofRole }) => ({
  role,
  containers: ofRole.map((name) => containerName(settings.namePrefix, name)),
  // A move re-creates the container: one per role and up, so the pair's other node keeps the
  // virtual IP and each fleet keeps serving meanwhile.
  movesOneAtATime: true,
}));
const instances = listInstances(settings.incusRemote);
const placement = ownedPlacement(
  placementFromSettings(settings),
  roles.flatMap((role) => role.containers),
  stackOwner(),
  NAME_PREFIX_WAY_OUT,
  instances,
);
// On a cluster each container gets its own member (clusterPlacement.ts); elsewhere all share `placement`.
const placed = clusterPlacements(placement, instances, roles);
const placementOf = (name: string) => placed.apply((p) => p.placements[containerName(settings.namePrefix, name)]);

// What runs in every container now, read once before any resource is registered: each component
// compares it with what it installs, so the preview shows drift and `up` repairs it.
const refOf = (name: string) => incusRef(settings.incusRemote, containerName(settings.namePrefix, name));
const watched: ProbeRequest[] = [
  ...haproxyNames(settings.haproxyCount).map((name) => ({
    ref: refOf(name),
    files: [...HAPROXY_WATCH.files, ...(settings.haproxyCount === 2 ? PAIR_WATCH.files : [])],
    units: [...HAPROXY_WATCH.units, ...(settings.haproxyCount === 2 ? PAIR_WATCH.units : [])],
  })),
  ...names.backendApi.map((name) => ({ ref: refOf(name), ...serviceWatch("backend-api", settings.backendApiBinaryPath) })),
  ...names.streamServer.map((name) => ({ ref: refOf(name), ...serviceWatch("stream-server", settings.streamServerBinaryPath) })),
];
const live = observeContainers(settings.incusRemote, watched);

const backendApi = names.backendApi.map(
  (name) =>
    new BackendApiInstance(name, {
      containerName: containerName(settings.namePrefix, name),
      placement: placementOf(name),
      ...serviceArgsFromSettings(settings, "backend-api"),
      limits: limitsFromSettings(settings, "backend-api"),
      live: live.get(refOf(name)),
    }),
);

const streamServer = names.streamServer.map(
  (name) =>
    new StreamServerInstance(name, {
      containerName: containerName(settings.namePrefix, name),
      placement: placementOf(name),
      ...serviceArgsFromSettings(settings, "stream-server"),
      limits: limitsFromSettings(settings, "stream-server"),
      live: live.get(refOf(name)),
    }),
);

// HAProxy server names are the service names (backend-api-1, ...), not the prefixed container names:
// the sticky cookie and the admin-socket commands of the runbook keep meaning the same across stacks.
const options = haproxyOptionsFromSettings(settings);
const pools = {
  backendApi: { ...options.pools.backendApi, servers: backendApi },
  streamServer: { ...options.pools.streamServer, servers: streamServer },
};
const haproxyOf = (name: string) => ({
  name,
  containerName: containerName(settings.namePrefix, name),
  placement: placementOf(name),
  live: live.get(refOf(name)),
});
const edgeOptions = { ...options, placement, pools, limits: limitsFromSettings(settings, "haproxy") };
const [firstName, secondName] = haproxyNames(settings.haproxyCount);
const pair = secondName
  ? new HaproxyPair(`${HAPROXY_NAME}-pair`, {
      ...edgeOptions,
      nodes: [haproxyOf(firstName), haproxyOf(secondName)],
      vrrp: vrrpFromSettings(settings),
    })
  : undefined;
// A stack going from the pair back to one node keeps the pair's first node (container, password
// and all) rather than replacing it: the alias names where it sat, under the pair.
const pairUrn = pulumi.createUrn(`${HAPROXY_NAME}-pair`, "veza:infra:HaproxyPair");
const single = () => {
  const { name, ...node } = haproxyOf(firstName);
  return new HaproxyNode(name, { ...edgeOptions, ...node }, { aliases: [{ parent: pairUrn }] });
};
const haproxyNodes: readonly HaproxyNode[] = pair ? pair.nodes : [single()];
const [haproxy] = haproxyNodes;

// Each fleet rolls behind the whole edge, one instance at a time by default, canary first.
const edge = pair ?? haproxy;
const rollouts = [
  { service: "backend-api", instances: backendApi },
  { service: "stream-server", instances: streamServer },
] as const;
for (const { service, instances } of rollouts) {
  if (instances.length > 0) {
    new FleetRollout(`${service}-rollout`, { instances, edge, rollout: rolloutFromSettings(settings, service) });
  }
}

const scheme = settings.tlsCertPath ? "https" : "http";
const publicPort = settings.tlsCertPath ? settings.httpsPort : settings.httpPort;
const defaultPort = scheme === "https" ? 443 : 80;

/** Where clients go: the pair's virtual IP, or the single node's own address. */
const edgeAddress = pair ? pair.virtualIp : haproxy.address;
export const lbUrl = pulumi.interpolate`${scheme}://${edgeAddress}${publicPort === defaultPort ? "" : `:${publicPort}`}/`;
export const virtualIp = pair ? pair.virtualIp : "";
// Containers as the incus CLI names them (`remote:name` on a remote), ready to paste.
export const haproxyContainers = haproxyNodes.map((node) => node.container.ref);
export const haproxyAddresses = haproxyNodes.map((node) => node.address);
export const backendApiContainers = backendApi.map((instance) => instance.container.ref);
export const backendApiAddresses = backendApi.map((instance) => instance.address);
export const streamServerContainers = streamServer.map((instance) => instance.container.ref);
export const streamServerAddresses = streamServer.map((instance) => instance.address);
export const statsPassword = haproxy.statsPassword;
export const statsAccess = pulumi.interpolate`incus exec ${haproxy.container.ref} -- curl -su admin:"$(pulumi stack output statsPassword --show-secrets)" http://127.0.0.1:${settings.statsPort}/stats`;
export const haproxyConfigHash = pair ? pair.configHash : haproxy.configHash;
/** Each node's Prometheus exporter, in node order: scrape every one, each counts only its own traffic. */
export const metricsUrls = haproxyNodes.map((node) => pulumi.interpolate`http://${node.address}:${settings.metricsPort}/metrics`);
/** Container -> cluster member it was placed on; empty when the stack's Incus is not a cluster. */
export const containerMembers = placed.apply((p) => p.members);
