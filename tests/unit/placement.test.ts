/**
 * components/incus/placement.ts: the spread rule on worked examples, then as properties over many
 * generated clusters (seeded, so a failure names the case that reproduces it): every role evenly
 * spread, the HAProxy pair apart, the answer independent of listing order, and members added or
 * removed moving exactly the containers the rule forces and no others.
 */
import {
  PlacementMember,
  Placement,
  ROLE_CONFIG_KEY,
  RoleContainers,
  placeContainers,
  renderPlacementScriptlet,
} from "../../components/incus/placement";

const fleet = (role: string, count: number): RoleContainers => ({
  role,
  containers: Array.from({ length: count }, (_, i) => `${role}-${i + 1}`),
});
const edge = (backends: number, streams: number): RoleContainers[] => [
  fleet("haproxy", 2),
  fleet("backend-api", backends),
  fleet("stream-server", streams),
];

/** Per role, how many of its containers each member holds (members holding none included). */
function counts(placement: Placement, role: RoleContainers, members: readonly string[]): number[] {
  return members.map((member) => role.containers.filter((container) => placement[container] === member).length);
}

/** The rule: every member holds floor(n/M) or ceil(n/M), so exactly n mod M hold the ceiling. */
function expectSpread(placement: Placement, roles: readonly RoleContainers[], members: readonly string[]): void {
  for (const role of roles) {
    const n = role.containers.length;
    const perMember = counts(placement, role, members);
    const base = Math.floor(n / members.length);
    expect(perMember.every((count) => count === base || count === base + 1)).toBe(true);
    expect(perMember.filter((count) => count === base + 1).length).toBe(n % members.length);
  }
}

/** The fewest containers any placement obeying the rule on `members` must move away from `before`. */
function leastMoves(before: Placement, roles: readonly RoleContainers[], members: readonly string[]): number {
  let moves = 0;
  for (const role of roles) {
    const n = role.containers.length;
    const base = Math.floor(n / members.length);
    const perMember = counts(before, role, members);
    const kept =
      perMember.reduce((sum, count) => sum + Math.min(count, base), 0) +
      Math.min(n % members.length, perMember.filter((count) => count > base).length);
    moves += n - kept;
  }
  return moves;
}

const moved = (before: Placement, after: Placement) => Object.keys(after).filter((container) => before[container] !== after[container]);

/** mulberry32: a small seeded generator, so that every generated case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const between = (next: () => number, low: number, high: number) => low + Math.floor(next() * (high - low + 1));

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = between(next, 0, i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** A cluster of 1-8 members (names not in order, some numbers skipped) and an edge of 2 + 0-12 + 0-12 containers. */
function generated(seed: number): { members: string[]; roles: RoleContainers[] } {
  const next = random(seed);
  const members = shuffled(
    Array.from({ length: 12 }, (_, i) => `node-${i + 1}`),
    next,
  ).slice(0, between(next, 1, 8));
  return { members, roles: edge(between(next, 0, 12), between(next, 0, 12)) };
}

const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

describe("placeContainers: worked examples", () => {
  test("three members: the HAProxy pair apart, each fleet one per member", () => {
    const members = ["m1", "m2", "m3"];
    const roles = edge(3, 3);
    const placement = placeContainers({ members, roles });
    expect(Object.keys(placement)).toEqual(roles.flatMap((role) => role.containers));
    expect(placement["haproxy-1"]).not.toBe(placement["haproxy-2"]);
    for (const role of roles) expect(new Set(role.containers.map((c) => placement[c])).size).toBe(role.containers.length);
  });

  test("one member takes everything; two members split five backends three and two", () => {
    expect(new Set(Object.values(placeContainers({ members: ["solo"], roles: edge(2, 2) })))).toEqual(new Set(["solo"]));
    const roles = [fleet("backend-api", 5)];
    expect(counts(placeContainers({ members: ["a", "b"], roles }), roles[0], ["a", "b"]).sort()).toEqual([2, 3]);
  });

  test("a member that dies takes only its own containers with it", () => {
    const roles = edge(3, 3);
    const before = placeContainers({ members: ["m1", "m2", "m3"], roles });
    const after = placeContainers({ members: ["m1", "m3"], roles, current: before });
    expect(moved(before, after).sort()).toEqual(
      Object.keys(before)
        .filter((container) => before[container] === "m2")
        .sort(),
    );
    expect(after["haproxy-1"]).not.toBe(after["haproxy-2"]);
  });

  test("an added member takes nothing while every role is already one per member", () => {
    const roles = edge(3, 3);
    const before = placeContainers({ members: ["m1", "m2", "m3"], roles });
    expect(placeContainers({ members: ["m1", "m2", "m3", "m4"], roles, current: before })).toEqual(before);
  });

  test("failure domains: the pair lands in two domains even when one domain has most members", () => {
    const members: PlacementMember[] = [
      { name: "r1-a", failureDomain: "rack1" },
      { name: "r1-b", failureDomain: "rack1" },
      { name: "r1-c", failureDomain: "rack1" },
      { name: "r2-a", failureDomain: "rack2" },
    ];
    const domainOf = (member: string) => members.find((m) => m.name === member)!.failureDomain;
    for (let i = 0; i < 50; i++) {
      const pair = fleet(`haproxy${i}`, 2);
      const placement = placeContainers({ members, roles: [pair] });
      expect(domainOf(placement[pair.containers[0]])).not.toBe(domainOf(placement[pair.containers[1]]));
    }
  });

  test("refuses what it cannot place sensibly", () => {
    expect(() => placeContainers({ members: [], roles: edge(1, 1) })).toThrow(/no cluster members/);
    expect(() => placeContainers({ members: ["a", "a"], roles: edge(1, 1) })).toThrow(/member named twice: a/);
    expect(() => placeContainers({ members: ["a"], roles: [fleet("x", 1), fleet("x", 1)] })).toThrow(/container named twice: x-1/);
  });
});

describe("placeContainers: properties over generated clusters", () => {
  test.each(SEEDS)("seed %i: every role spread, the pair apart when it can be", (seed) => {
    const { members, roles } = generated(seed);
    const placement = placeContainers({ members, roles });
    expect(Object.values(placement).every((member) => members.includes(member))).toBe(true);
    expectSpread(placement, roles, members);
    if (members.length >= 2) expect(placement["haproxy-1"]).not.toBe(placement["haproxy-2"]);
  });

  test.each(SEEDS)("seed %i: the same answer whatever order members and containers are listed in", (seed) => {
    const { members, roles } = generated(seed);
    const next = random(seed * 7919);
    const reordered = shuffled(roles, next).map((role) => ({ role: role.role, containers: shuffled(role.containers, next) }));
    const current = placeContainers({ members: members.length > 1 ? members.slice(1) : members, roles });
    expect(placeContainers({ members: shuffled(members, next), roles: reordered })).toEqual(placeContainers({ members, roles }));
    expect(placeContainers({ members: shuffled(members, next), roles: reordered, current })).toEqual(
      placeContainers({ members, roles, current }),
    );
  });

  test.each(SEEDS)("seed %i: a placement fed back as current stays as it is", (seed) => {
    const { members, roles } = generated(seed);
    const placement = placeContainers({ members, roles });
    expect(placeContainers({ members, roles, current: placement })).toEqual(placement);
  });

  test.each(SEEDS)("seed %i: a member removed moves its containers and nothing else", (seed) => {
    const { members, roles } = generated(seed);
    if (members.length < 2) return;
    const before = placeContainers({ members, roles });
    const gone = members[between(random(seed), 0, members.length - 1)];
    const survivors = members.filter((member) => member !== gone);
    const after = placeContainers({ members: survivors, roles, current: before });
    expect(moved(before, after).sort()).toEqual(
      Object.keys(before)
        .filter((container) => before[container] === gone)
        .sort(),
    );
    expectSpread(after, roles, survivors);
  });

  test.each(SEEDS)("seed %i: members added move exactly the surplus the rule forces", (seed) => {
    const { members, roles } = generated(seed);
    const added = [...members, ...Array.from({ length: between(random(seed), 1, 3) }, (_, i) => `new-${i + 1}`)];
    const before = placeContainers({ members, roles });
    const after = placeContainers({ members: added, roles, current: before });
    expectSpread(after, roles, added);
    expect(moved(before, after).length).toBe(leastMoves(before, roles, added));
  });

  test.each(SEEDS)("seed %i: with failure domains, a role no larger than the domains count gets one per domain", (seed) => {
    const next = random(seed);
    const domains = between(next, 2, 4);
    const members: PlacementMember[] = generated(seed).members.map((name) => ({
      name,
      failureDomain: `rack-${between(next, 1, domains)}`,
    }));
    const used = new Set(members.map((member) => member.failureDomain)).size;
    const roles = [fleet("haproxy", 2), fleet("backend-api", between(next, 1, used))];
    const placement = placeContainers({ members, roles });
    expectSpread(
      placement,
      roles,
      members.map((member) => member.name),
    );
    for (const role of roles) {
      if (role.containers.length > used) continue;
      const domainsUsed = role.containers.map((container) => members.find((member) => member.name === placement[container])!.failureDomain);
      expect(new Set(domainsUsed).size).toBe(role.containers.length);
    }
  });
});

describe("renderPlacementScriptlet", () => {
  const scriptlet = renderPlacementScriptlet();

  test("defines the entry point Incus calls, keyed on the role config key", () => {
    expect(scriptlet).toContain("def instance_placement(request, candidate_members):\n");
    expect(scriptlet).toContain(`ROLE_KEY = "${ROLE_CONFIG_KEY}"\n`);
  });

  test("calls get_instances by keyword only: Incus 6.0.4's positional order is not the documented one", () => {
    const calls = scriptlet.match(/get_instances\([^)]*\)/g) ?? [];
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call).toMatch(/^get_instances\((\w+=\w+(, )?)*\)$/);
  });

  test("uses only the builtins Incus 6.0.4 gives a placement scriptlet, and Starlark's own", () => {
    const provided = ["log_info", "log_warn", "log_error", "set_target", "get_cluster_member_resources", "get_cluster_member_state"];
    provided.push("get_instance_resources", "get_instances", "get_instances_count", "get_cluster_members", "get_project");
    const starlark = ["fail", "str", "len", "sorted", "min", "max"];
    const defined = [...scriptlet.matchAll(/^def (\w+)\(/gm)].map((match) => match[1]);
    const called = [...scriptlet.matchAll(/(?<![.\w])(\w+)\(/g)].map((match) => match[1]);
    for (const name of called) expect([...provided, ...starlark, ...defined]).toContain(name);
  });

  test("indents with spaces only (Starlark refuses tabs mixed in) and ends with a newline", () => {
    expect(scriptlet).not.toContain("\t");
    expect(scriptlet.endsWith("\n")).toBe(true);
  });

  test("refuses a role key that is not a user.* instance config key", () => {
    expect(renderPlacementScriptlet("user.other.role")).toContain('ROLE_KEY = "user.other.role"');
    expect(() => renderPlacementScriptlet("limits.cpu")).toThrow(/not a user\.\* instance config key/);
    expect(() => renderPlacementScriptlet('user.x"\nfail("y")')).toThrow(/not a user\.\* instance config key/);
  });
});
