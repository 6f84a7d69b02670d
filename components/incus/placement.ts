/**
 * Where each container of the edge goes on an Incus cluster, and the guard that keeps Incus from
 * undoing it. Pure: the member list, the roles and (optionally) where the containers are now go
 * in, container -> member comes out; nothing is queried here.
 *
 * The rule, per role: the containers of one role are spread as evenly as the members allow. With
 * n containers on M members every member holds floor(n/M) or ceil(n/M) of them, so no two share
 * a member while another member has none: the two HAProxy nodes are never on one member (given
 * two members), and instance i of a fleet lands beside instance j only when every member already
 * has one. Losing a member then costs each role at most ceil(n/M) instances, the least possible.
 * Roles do not constrain each other: a member may hold an HAProxy node and a backend-api.
 *
 * Choosing among the spreads that satisfy the rule, in this order:
 * 1. Stay: a container whose current member is still listed stays there while the rule allows.
 *    Every move is a container replaced (for an HAProxy node, the virtual IP's holder possibly
 *    among them), so the placement moves only what the rule forces: the containers of a removed
 *    member, and on an added member exactly the surplus that evening out requires (n > M).
 *    Keeping `current` out of the hash is what makes this the least possible movement; a
 *    memoryless scheme (plain rendezvous hashing, consistent hashing with bounded loads) moves
 *    about n/(M+1) containers of every role onto each added member, and its cap-forced cascades
 *    can move both HAProxy nodes when one member goes.
 * 2. Failure domains: a container that must be placed goes to a member of the domain that holds
 *    the fewest of its role, so a rack or PDU (Incus's `failure_domain` of a member) takes down
 *    as few as the members allow. A preference, not part of the rule: an existing spread is not
 *    reshuffled for it.
 * 3. Rendezvous (highest-random-weight) hashing: among equally good members, the one with the
 *    highest hash of (container, member). With no `current` (the first deployment) the placement
 *    is still a deterministic function of the member list and the names, the same on every
 *    machine and every run, and independent of the order members are listed in.
 */
import { createHash } from "crypto";

/** The Incus instance config key that carries a container's role, read by the placement scriptlet. */
export const ROLE_CONFIG_KEY = "user.veza.role";

/** A cluster member as placement sees it: its name, and optionally the failure domain it shares with others. */
export interface PlacementMember {
  name: string;
  /** Members that fail together (Incus's `failure_domain`); a member without one is a domain of its own. */
  failureDomain?: string;
}

/** The containers of one role, e.g. `haproxy` with its two nodes. */
export interface RoleContainers {
  role: string;
  containers: readonly string[];
  /**
   * Whether the role's containers change member one per run (clusterPlacement.ts holds the rest
   * back): a move re-creates a container, so the HAProxy pair's other node keeps the virtual IP, and
   * a fleet the rest of its instances, while one moves. Defaults to false: all move at once.
   */
  movesOneAtATime?: boolean;
}

export interface PlacementRequest {
  /** The members to place on: names, or members with their failure domains. */
  members: readonly (string | PlacementMember)[];
  roles: readonly RoleContainers[];
  /**
   * Where containers are now (as Incus reports each instance's `location`, or the last
   * deployment's placement). Containers it does not name, or names on a member no longer
   * listed, are placed afresh.
   */
  current?: Readonly<Record<string, string>>;
}

/** Container name -> member name, in the order the roles and their containers were given. */
export type Placement = Record<string, string>;

/**
 * The rendezvous weight of `container` on `member`: the first 48 bits of a SHA-256, so that every
 * machine and every Node.js version agrees on it.
 */
export function rendezvousWeight(container: string, member: string): number {
  return parseInt(createHash("sha256").update(`${container}\0${member}`).digest("hex").slice(0, 12), 16);
}

/**
 * The placement of every container of `request.roles` over `request.members` (see the module's
 * comment for the rule and the choices). Throws on an empty member list and on a member or
 * container named twice.
 */
export function placeContainers(request: PlacementRequest): Placement {
  const members = request.members.map((member) => (typeof member === "string" ? { name: member } : member));
  const problems: string[] = [];
  if (members.length === 0) problems.push("no cluster members to place on");
  const memberNames = members.map((member) => member.name);
  const containers = request.roles.flatMap((role) => role.containers);
  for (const [what, names] of [
    ["member", memberNames],
    ["container", containers],
  ] as const) {
    const twice = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
    if (twice.length > 0) problems.push(`${what} named twice: ${twice.join(", ")}`);
    if (names.some((name) => name === "")) problems.push(`a ${what} has an empty name`);
  }
  if (problems.length > 0) throw new Error(`placement: ${problems.join("; ")}`);

  const domainOf = new Map(members.map((member) => [member.name, member.failureDomain ?? `member:${member.name}`]));
  const placement: Placement = {};
  for (const role of request.roles) Object.assign(placement, placeRole(role.containers, memberNames, domainOf, request.current ?? {}));
  return Object.fromEntries(containers.map((container) => [container, placement[container]]));
}

/** One role's containers: the spread rule as capacities, then stay, then domain, then weight. */
function placeRole(
  containers: readonly string[],
  members: readonly string[],
  domainOf: ReadonlyMap<string, string>,
  current: Readonly<Record<string, string>>,
): Placement {
  // Every member may hold `base`; `surplus` members may hold one more. Together exactly n slots,
  // so filling slots one by one can never get stuck.
  const base = Math.floor(containers.length / members.length);
  let surplus = containers.length % members.length;
  const onMember = new Map(members.map((member) => [member, 0]));
  const inDomain = new Map([...domainOf.values()].map((domain) => [domain, 0]));
  const placement: Placement = {};

  const hasRoom = (member: string) => onMember.get(member)! < base || (onMember.get(member) === base && surplus > 0);
  const assign = (container: string, member: string) => {
    if (onMember.get(member) === base) surplus--;
    onMember.set(member, onMember.get(member)! + 1);
    inDomain.set(domainOf.get(member)!, inDomain.get(domainOf.get(member)!)! + 1);
    placement[container] = member;
  };

  // Stay. Where a member now holds more than the rule allows (members were added), the
  // containers with the highest weight there are the ones that stay, so the choice does not
  // depend on the order containers are listed in.
  const staying = containers
    .filter((container) => onMember.has(current[container]))
    .sort((a, b) => rendezvousWeight(b, current[b]) - rendezvousWeight(a, current[a]) || (a < b ? -1 : 1));
  for (const container of staying) if (hasRoom(current[container])) assign(container, current[container]);

  // Place the rest one at a time, each time the (container, member) pair that is best over all:
  // emptiest domain, then highest weight. Taking pairs in that global order, rather than the
  // containers in their listed order, keeps the result independent of the listing.
  let unplaced = containers.filter((container) => !(container in placement));
  while (unplaced.length > 0) {
    let best: { container: string; member: string; domainLoad: number; weight: number } | undefined;
    for (const container of unplaced) {
      for (const member of members) {
        if (!hasRoom(member)) continue;
        const candidate = {
          container,
          member,
          domainLoad: inDomain.get(domainOf.get(member)!)!,
          weight: rendezvousWeight(container, member),
        };
        if (
          best === undefined ||
          candidate.domainLoad < best.domainLoad ||
          (candidate.domainLoad === best.domainLoad &&
            (candidate.weight > best.weight ||
              (candidate.weight === best.weight && `${candidate.container}\0${candidate.member}` < `${best.container}\0${best.member}`)))
        )
          best = candidate;
      }
    }
    assign(best!.container, best!.member);
    unplaced = unplaced.filter((container) => container !== best!.container);
  }
  return placement;
}

/**
 * The placement scriptlet (Starlark, server key `instances.placement.scriptlet`) that holds Incus
 * to the same rule where the program does not choose the member itself: a launch with no
 * `--target`, an evacuation, a relocation, or a hand-typed `incus launch --target` that would
 * stack a role. For an instance whose config has `roleKey`, it picks among the candidate members
 * one with the fewest instances of that role, and refuses (fail) when even that one holds more
 * than some available member does. Since Incus 6.0.3 it also runs when `--target` is given, with
 * that member as the only candidate, which is what makes it a guard. Instances without the key
 * are left to Incus's own choice. The role is read from the expanded config on both sides (Incus
 * expands the request's), so a role given by a profile counts as one given by `--config`.
 *
 * It counts instances, not slots: two instances of one role created at the same moment both see
 * the counts from before either exists, so it is the second line; the program's own `--target`
 * from {@link placeContainers} is the first. It counts the role's instances in the request's
 * project only, so two stacks share a cluster safely when their role values differ.
 *
 * Checked against Incus 6.0.4 (internal/server/scriptlet/instance_placement.go): `get_instances`
 * takes `project` and `location` by keyword (its positional order is project, location, while the
 * documentation lists location first), `get_cluster_members()` with no group returns the members
 * that may take instances (online, not evacuated, scheduler not manual), and `fail` is Starlark's.
 */
export function renderPlacementScriptlet(roleKey: string = ROLE_CONFIG_KEY): string {
  if (!/^user\.[a-z0-9][a-z0-9._-]*$/.test(roleKey))
    throw new Error(`placement scriptlet: role key ${JSON.stringify(roleKey)} is not a user.* instance config key`);
  return `# Managed by veza-infra: rendered by components/placement.ts (renderPlacementScriptlet).
# Keeps the instances of one role (instance config key ${roleKey}) spread over the members:
# a member may take one more only when no available member holds fewer.

ROLE_KEY = ${JSON.stringify(roleKey)}

def role_counts(role, project, name):
    counts = {}
    for instance in get_instances(project=project):
        if instance.name != name and instance.expanded_config.get(ROLE_KEY, "") == role:
            counts[instance.location] = counts.get(instance.location, 0) + 1
    return counts

def instance_placement(request, candidate_members):
    role = request.config.get(ROLE_KEY, "")
    if role == "":
        return
    counts = role_counts(role, request.project, request.name)

    emptiest = None
    for member in get_cluster_members():
        if emptiest == None or counts.get(member.server_name, 0) < counts.get(emptiest, 0):
            emptiest = member.server_name

    target = None
    for member in candidate_members:
        if target == None or counts.get(member.server_name, 0) < counts.get(target, 0):
            target = member.server_name
    if target == None:
        return

    if emptiest != None and counts.get(target, 0) > counts.get(emptiest, 0):
        fail("veza placement: " + request.name + " (" + ROLE_KEY + "=" + role + ") on " + target +
             " would make " + str(counts.get(target, 0) + 1) + " of that role there while " + emptiest +
             " holds " + str(counts.get(emptiest, 0)))
    set_target(target)
`;
}
