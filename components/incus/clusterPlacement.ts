/**
 * Where each container of a stack goes when its Incus is a cluster, decided at preview: one
 * `incus cluster list` says whether it is a cluster and which members it has, the ownership
 * check's listing of the instances (ownership.ts) says where each container is now, and
 * {@link placeContainers} spreads every role over the members from there. Each container then
 * gets its own {@link IncusPlacement} whose `target` is its member. On a daemon that is not a
 * cluster nothing changes: every container keeps the stack's placement as given.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BASH, IncusPlacement } from "./incusScripts";
import { INCUS_TIMEOUT_SECONDS, PRINT_FAILURE, parseFailure } from "./incusReach";
import { OwnershipError, listedByIncus } from "./ownership";
import { Placement, PlacementMember, RoleContainers, placeContainers } from "./placement";

/**
 * The members of the cluster behind VEZA_REMOTE (empty: the client's default) as JSON; or, when
 * the call fails, what failed (incusReach's PRINT_FAILURE), among which "not a cluster". The
 * remote's argument is left out altogether when there is none: an empty one is not the default.
 */
export const LIST_MEMBERS_SCRIPT = `status=0
out=$(timeout -k 5 "$VEZA_TIMEOUT_SECONDS" incus cluster list \${VEZA_REMOTE:+"$VEZA_REMOTE:"} -f json 2>&1) || status=$?
if [ "$status" = 0 ]; then printf '%s\\n' "$out"; else ${PRINT_FAILURE}; fi`;

/** What Incus 6.0 answers `incus cluster list` on a daemon that is not clustered. */
const NOT_A_CLUSTER = /isn't part of a cluster/;

/**
 * Members an evacuation emptied take no container: `incus cluster evacuate` is how an operator
 * says a member is going away. An offline member keeps its place: Incus notices a dead member
 * 20 s or more after VRRP has moved the address, and one that comes back must find its
 * containers where they were, not replaced on the others; one that never comes back is removed
 * from the cluster (`incus cluster remove --force`), and then its containers are placed anew.
 */
const TAKES_NO_CONTAINER = new Set(["Evacuated"]);

/**
 * A member whose `scheduler.instance` is `manual` is one Incus's own scheduler no longer picks:
 * the operator's way to cordon it. It takes none of the program's containers either, so the next
 * `up` re-creates them on the others while the member still runs: an HAProxy node there hands the
 * virtual IP to its peer (on another member) before it goes, where an evacuation or a power cut
 * would take it away (docs/cluster-lab.md, "Maintenance of a member").
 */
const CORDON = { key: "scheduler.instance", value: "manual" };

/** One member as `incus cluster list -f json` gives it; only what placement reads. */
interface ListedMember {
  server_name?: unknown;
  status?: unknown;
  failure_domain?: unknown;
  config?: Record<string, unknown> | null;
}

const takesContainers = (member: ListedMember) =>
  !TAKES_NO_CONTAINER.has(String(member.status)) && member.config?.[CORDON.key] !== CORDON.value;

const LISTING = "list the cluster's members (incus cluster list)";

/**
 * The members containers may be placed on (neither evacuated nor cordoned), from
 * {@link LIST_MEMBERS_SCRIPT}'s output, each with its failure domain; undefined when the daemon is
 * not a cluster. Any other failure is a RunError saying why Incus could not be asked.
 */
export function clusterMembers(membersJson: string): PlacementMember[] | undefined {
  if (NOT_A_CLUSTER.test(parseFailure(membersJson)?.output ?? "")) return undefined;
  return (listedByIncus(membersJson, LISTING) as ListedMember[]).flatMap((member) =>
    typeof member?.server_name === "string" && takesContainers(member)
      ? [{ name: member.server_name, ...(typeof member.failure_domain === "string" ? { failureDomain: member.failure_domain } : {}) }]
      : [],
  );
}

/**
 * Where the containers of `names` are now, from the ownership check's listing of the instances
 * (ownership.ts's LIST_INSTANCES_SCRIPT, already judged there): each one's `location`. A daemon
 * that is not a cluster says "none", which is no member.
 */
export function containerLocations(instancesJson: string, names: readonly string[]): Record<string, string> {
  const wanted = new Set(names);
  const listed = JSON.parse(instancesJson) as { name?: unknown; location?: unknown }[];
  return Object.fromEntries(
    listed.flatMap((instance) =>
      typeof instance?.name === "string" &&
      wanted.has(instance.name) &&
      typeof instance.location === "string" &&
      instance.location !== "none"
        ? [[instance.name, instance.location]]
        : [],
    ),
  );
}

/** Each container's placement, and the member it goes to (empty when the daemon is not a cluster). */
export interface ContainerPlacements {
  /** Container name -> its placement: the stack's, with `target` its member on a cluster. */
  placements: Record<string, IncusPlacement>;
  /** Container name -> cluster member; empty on a daemon that is not a cluster. */
  members: Placement;
  /** Containers left where they are this run, though placed elsewhere: one of their role moves per run. */
  heldBack: string[];
}

/**
 * `placed`, with all but the first move of each role that {@link RoleContainers.movesOneAtATime}
 * undone (those containers stay where `locations` says), and the containers held back. A move is a
 * re-creation: the two nodes of the pair moved in one run would both be gone at once, the virtual IP
 * with them (`incusTarget` changed, say); one at a time, the other keeps it, and the next run moves
 * the next.
 */
export function oneMovePerRole(
  placed: Readonly<Placement>,
  roles: readonly RoleContainers[],
  locations: Readonly<Record<string, string>>,
): { members: Placement; heldBack: string[] } {
  const heldBack = roles
    .filter((role) => role.movesOneAtATime)
    .flatMap((role) => role.containers.filter((name) => locations[name] !== undefined && locations[name] !== placed[name]).slice(1));
  return { members: { ...placed, ...Object.fromEntries(heldBack.map((name) => [name, locations[name]])) }, heldBack };
}

/**
 * The placement of every container of `roles`, from the stack's `placement`, the cluster's
 * `members` (undefined: not a cluster) and where the containers are now.
 * - Not a cluster: every container keeps `placement` unchanged.
 * - A cluster and a `placement.target` given (the operator's choice, e.g. `veza-infra:incusTarget`):
 *   every container goes to that member, as on one host; it must be a member that takes containers.
 * - A cluster and no target: {@link placeContainers} decides, each container staying on its
 *   member unless the spread forces a move.
 * On a cluster, a role that moves one at a time has the rest of its moves held back ({@link oneMovePerRole}).
 */
export function placeOnCluster(
  placement: IncusPlacement,
  roles: readonly RoleContainers[],
  members: readonly PlacementMember[] | undefined,
  locations: Readonly<Record<string, string>>,
): ContainerPlacements {
  const containers = roles.flatMap((role) => role.containers);
  if (members === undefined)
    return { placements: Object.fromEntries(containers.map((name) => [name, placement])), members: {}, heldBack: [] };
  const names = members.map((member) => member.name);
  if (placement.target !== "" && !names.includes(placement.target))
    throw new OwnershipError(
      `cluster member ${JSON.stringify(placement.target)} (the placement's target) does not take containers: the members that do are ${names.join(", ") || "none"}`,
    );
  const { members: placed, heldBack } = oneMovePerRole(
    placement.target !== ""
      ? Object.fromEntries(containers.map((name) => [name, placement.target]))
      : placeContainers({ members, roles, current: locations }),
    roles,
    locations,
  );
  return {
    placements: Object.fromEntries(containers.map((name) => [name, { ...placement, target: placed[name] }])),
    members: placed,
    heldBack,
  };
}

/** One line per container, as the preview logs it: where it goes and whether that is a move. */
export function placementLog(
  members: Readonly<Placement>,
  locations: Readonly<Record<string, string>>,
  heldBack: readonly string[] = [],
): string {
  return Object.entries(members)
    .map(([container, member]) => {
      const now = locations[container];
      const how = heldBack.includes(container)
        ? "stays for now: one of its role moves per up, run up again to move it"
        : now === undefined
          ? "new"
          : now === member
            ? "stays"
            : `moves from ${now}`;
      return `${container} -> ${member} (${how})`;
    })
    .join("\n");
}

/**
 * {@link placeOnCluster} over what Incus says now: the member list from one `incus cluster list`,
 * the locations from `instances` (the ownership check's listing, not a second one), and the
 * stack's `placement` once that check passed. On a cluster the preview logs each container's member.
 */
export function clusterPlacements(
  placement: pulumi.Output<IncusPlacement>,
  instances: pulumi.Output<string>,
  roles: readonly RoleContainers[],
): pulumi.Output<ContainerPlacements> {
  const listed = placement.apply(
    (p) =>
      command.local.runOutput({
        command: LIST_MEMBERS_SCRIPT,
        interpreter: BASH,
        environment: { VEZA_REMOTE: p.remote, VEZA_TIMEOUT_SECONDS: String(INCUS_TIMEOUT_SECONDS) },
        logging: "none",
      }).stdout,
  );
  return pulumi.all([placement, instances, listed]).apply(([checked, instancesJson, membersJson]) => {
    const containers = roles.flatMap((role) => role.containers);
    const locations = containerLocations(instancesJson, containers);
    const result = placeOnCluster(checked, roles, clusterMembers(membersJson), locations);
    if (Object.keys(result.members).length > 0)
      void pulumi.log.info(`cluster placement:\n${placementLog(result.members, locations, result.heldBack)}`);
    return result;
  });
}
