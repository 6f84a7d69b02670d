/**
 * components/incus/placement.ts: the spread rule on worked examples, then as properties (fast-check)
 * over any cluster, names, roles and current placement: every role evenly spread (so the HAProxy
 * pair apart given two members), the answer independent of listing order, and from any current
 * placement exactly the moves the rule forces and no others.
 */
import fc from "fast-check";
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

/** Incus-like names, arbitrary enough to catch a dependence on how names sort or read. */
const NAME = fc.stringMatching(/^[A-Za-z]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?$/);

/**
 * A cluster of 1-8 members and 1-4 roles of 0-40 containers in all, with `current` placing each
 * container on a listed member, on one no longer listed (a name NAME cannot make), or nowhere:
 * any state a deployment can meet, a previous placement among them.
 */
const CLUSTERS = fc
  .record({
    members: fc.uniqueArray(NAME, { minLength: 1, maxLength: 8 }),
    containers: fc.uniqueArray(NAME, { maxLength: 40, size: "max" }),
    roleCount: fc.integer({ min: 1, max: 4 }),
  })
  .chain(({ members, containers, roleCount }) =>
    fc.record({
      members: fc.constant(members),
      roles: fc
        .array(fc.nat(roleCount - 1), { minLength: containers.length, maxLength: containers.length })
        .map((roleOf) =>
          Array.from({ length: roleCount }, (_, k) => ({ role: `role-${k}`, containers: containers.filter((_, i) => roleOf[i] === k) })),
        ),
      current: fc
        .array(fc.option(fc.constantFrom(...members, "gone_member")), { minLength: containers.length, maxLength: containers.length })
        .map((where) => Object.fromEntries(containers.flatMap((container, i) => (where[i] === null ? [] : [[container, where[i]]])))),
    }),
  );

/** `items` in any order: a permutation fast-check can shrink. */
const anyOrder = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length });

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

describe("placeContainers: properties over any cluster", () => {
  test("every container on a listed member, every role spread, given any current placement", () => {
    fc.assert(
      fc.property(CLUSTERS, fc.boolean(), ({ members, roles, current }, withCurrent) => {
        const placement = placeContainers({ members, roles, current: withCurrent ? current : undefined });
        expect(Object.keys(placement)).toEqual(roles.flatMap((role) => role.containers));
        expect(Object.values(placement).every((member) => members.includes(member))).toBe(true);
        expectSpread(placement, roles, members);
      }),
      { numRuns: 150 },
    );
  });

  test("the same answer whatever order members, roles and containers are listed in", () => {
    const reordered = CLUSTERS.chain((cluster) =>
      fc.record({
        cluster: fc.constant(cluster),
        members: anyOrder(cluster.members),
        roles: anyOrder(cluster.roles).chain((roles) =>
          fc.tuple(...roles.map((role) => anyOrder(role.containers).map((containers) => ({ role: role.role, containers })))),
        ),
      }),
    );
    fc.assert(
      fc.property(reordered, ({ cluster, members, roles }) => {
        const sorted = (placement: Placement) => Object.entries(placement).sort(([a], [b]) => (a < b ? -1 : 1));
        expect(sorted(placeContainers({ members, roles, current: cluster.current }))).toEqual(sorted(placeContainers(cluster)));
        expect(sorted(placeContainers({ members, roles }))).toEqual(sorted(placeContainers({ ...cluster, current: undefined })));
      }),
      { numRuns: 100 },
    );
  });

  test("a placement fed back as current stays as it is", () => {
    fc.assert(
      fc.property(CLUSTERS, ({ members, roles, current }) => {
        const placement = placeContainers({ members, roles, current });
        expect(placeContainers({ members, roles, current: placement })).toEqual(placement);
      }),
      { numRuns: 100 },
    );
  });

  test("from any current placement, only as many containers move as the rule forces", () => {
    fc.assert(
      fc.property(CLUSTERS, ({ members, roles, current }) => {
        const after = placeContainers({ members, roles, current });
        expect(moved(current, after).length).toBe(leastMoves(current, roles, members));
      }),
      { numRuns: 150 },
    );
  });

  test("a member removed moves its containers and nothing else; members added move exactly the surplus", () => {
    const changed = CLUSTERS.chain((cluster) =>
      fc.record({
        cluster: fc.constant(cluster),
        gone: fc.constantFrom(...cluster.members),
        added: fc
          .uniqueArray(NAME, { minLength: 1, maxLength: 3 })
          .filter((names) => names.every((name) => !cluster.members.includes(name))),
      }),
    );
    fc.assert(
      fc.property(changed, ({ cluster: { members, roles }, gone, added }) => {
        const before = placeContainers({ members, roles });
        if (members.length >= 2) {
          const survivors = members.filter((member) => member !== gone);
          const after = placeContainers({ members: survivors, roles, current: before });
          expect(moved(before, after).sort()).toEqual(
            Object.keys(before)
              .filter((container) => before[container] === gone)
              .sort(),
          );
          expectSpread(after, roles, survivors);
        }
        const grown = [...members, ...added];
        const after = placeContainers({ members: grown, roles, current: before });
        expectSpread(after, roles, grown);
        expect(moved(before, after).length).toBe(leastMoves(before, roles, grown));
      }),
      { numRuns: 100 },
    );
  });

  test("with failure domains, a role no larger than the domains count gets one per domain", () => {
    const withDomains = CLUSTERS.chain((cluster) =>
      fc.record({
        cluster: fc.constant(cluster),
        domains: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: cluster.members.length, maxLength: cluster.members.length }),
      }),
    );
    fc.assert(
      fc.property(withDomains, ({ cluster: { members: names, roles }, domains }) => {
        const members: PlacementMember[] = names.map((name, i) => ({ name, failureDomain: `rack-${domains[i]}` }));
        const domainOf = new Map(members.map((member) => [member.name, member.failureDomain]));
        const placement = placeContainers({ members, roles });
        expectSpread(placement, roles, names);
        for (const role of roles) {
          if (role.containers.length > new Set(domains).size) continue;
          expect(new Set(role.containers.map((container) => domainOf.get(placement[container]))).size).toBe(role.containers.length);
        }
      }),
      { numRuns: 100 },
    );
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
