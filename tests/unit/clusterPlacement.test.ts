/**
 * The preview's view of a cluster (clusterPlacement.ts): what `incus cluster list` and the
 * ownership check's listing say, and the placement each container gets from them.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FAILURE_MARKER } from "../../components/incus/incusReach";
import { BASH } from "../../components/incus/incusScripts";
import {
  LIST_MEMBERS_SCRIPT,
  clusterMembers,
  containerLocations,
  oneMovePerRole,
  placeOnCluster,
  placementLog,
} from "../../components/incus/clusterPlacement";

const PLACEMENT = { remote: "edge", target: "", image: "veza-lab/bookworm", network: "vezaclbr0", storagePool: "vezacl" };
const ROLES = [
  { role: "haproxy", containers: ["c-haproxy", "c-haproxy-2"] },
  { role: "backend-api", containers: ["c-backend-api-1", "c-backend-api-2", "c-backend-api-3"] },
];
const failure = (output: string) => [FAILURE_MARKER, "1", "edge", output].join("\n");

describe("clusterMembers", () => {
  test("a daemon that is not a cluster is undefined, not an error", () => {
    expect(clusterMembers(failure("Error: Server isn't part of a cluster"))).toBeUndefined();
  });

  test("members with their failure domains; an evacuated member takes nothing, an offline one keeps its place", () => {
    const listed = [
      { server_name: "m1", status: "Online", failure_domain: "rack-a" },
      { server_name: "m2", status: "Evacuated", failure_domain: "rack-a" },
      { server_name: "m3", status: "Offline", failure_domain: "rack-b" },
    ];
    expect(clusterMembers(JSON.stringify(listed))).toEqual([
      { name: "m1", failureDomain: "rack-a" },
      { name: "m3", failureDomain: "rack-b" },
    ]);
  });

  test("a member cordoned for Incus's scheduler (scheduler.instance manual) takes nothing; other scheduler values do", () => {
    const listed = [
      { server_name: "m1", status: "Online", config: { "scheduler.instance": "manual" } },
      { server_name: "m2", status: "Online", config: { "scheduler.instance": "group" } },
      { server_name: "m3", status: "Online", config: null },
    ];
    expect(clusterMembers(JSON.stringify(listed))).toEqual([{ name: "m2" }, { name: "m3" }]);
  });

  test("any other failure says why Incus could not be asked", () => {
    expect(() => clusterMembers(failure("Error: not authorized"))).toThrow(
      /^cannot list the cluster's members \(incus cluster list\) on Incus remote "edge": certificate refused/,
    );
    expect(() => clusterMembers("oops")).toThrow("could not list the cluster's members (incus cluster list): oops");
  });
});

describe("LIST_MEMBERS_SCRIPT", () => {
  // A fake incus that prints its arguments: the remote's argument is absent, not empty, without a remote.
  let bin: string;
  beforeAll(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), "veza-members-"));
    fs.writeFileSync(path.join(bin, "incus"), '#!/bin/sh\necho "[$#] $*"\n', { mode: 0o755 });
  });
  afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));
  const run = (remote: string) =>
    execFileSync(BASH[0], [...BASH.slice(1), LIST_MEMBERS_SCRIPT], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, VEZA_REMOTE: remote, VEZA_TIMEOUT_SECONDS: "5" },
      encoding: "utf8",
    });

  test("lists the remote's members, or the default's with no remote argument at all", () => {
    expect(run("edge")).toBe("[5] cluster list edge: -f json\n");
    expect(run("")).toBe("[4] cluster list -f json\n");
  });
});

describe("containerLocations", () => {
  test("the stack's containers on a member; 'none' (no cluster) and others' containers are left out", () => {
    const listed = [
      { name: "c-haproxy", location: "m2" },
      { name: "c-backend-api-1", location: "none" },
      { name: "other-haproxy", location: "m1" },
    ];
    expect(containerLocations(JSON.stringify(listed), ["c-haproxy", "c-backend-api-1"])).toEqual({ "c-haproxy": "m2" });
  });
});

describe("placeOnCluster", () => {
  const members = [{ name: "m1" }, { name: "m2" }, { name: "m3" }];

  test("not a cluster: every container keeps the placement as given, and no member", () => {
    const placed = placeOnCluster({ ...PLACEMENT, target: "x" }, ROLES, undefined, {});
    expect(Object.values(placed.placements)).toEqual(Array(5).fill({ ...PLACEMENT, target: "x" }));
    expect(placed.members).toEqual({});
  });

  test("a cluster: each container's target is its member, each role spread, current members kept", () => {
    const placed = placeOnCluster(PLACEMENT, ROLES, members, { "c-backend-api-3": "m2" });
    expect(placed.members["c-backend-api-3"]).toBe("m2");
    expect(new Set(ROLES[1].containers.map((c) => placed.members[c])).size).toBe(3);
    expect(placed.members["c-haproxy"]).not.toBe(placed.members["c-haproxy-2"]);
    for (const [container, member] of Object.entries(placed.members))
      expect(placed.placements[container]).toEqual({ ...PLACEMENT, target: member });
  });

  test("a target given puts everything there, and must be a member that takes containers", () => {
    expect(Object.values(placeOnCluster({ ...PLACEMENT, target: "m3" }, ROLES, members, {}).members)).toEqual(Array(5).fill("m3"));
    expect(() => placeOnCluster({ ...PLACEMENT, target: "m9" }, ROLES, members, {})).toThrow(
      'cluster member "m9" (the placement\'s target) does not take containers: the members that do are m1, m2, m3',
    );
  });

  test("of a role that moves one at a time, one container changes member per run; new ones are not moves", () => {
    const roles = [{ ...ROLES[0], movesOneAtATime: true }, ROLES[1]];
    const now = { "c-haproxy": "m1", "c-haproxy-2": "m2", "c-backend-api-1": "m1", "c-backend-api-2": "m2" };
    const first = placeOnCluster({ ...PLACEMENT, target: "m3" }, roles, members, now);
    expect(first.members).toMatchObject({ "c-haproxy": "m3", "c-haproxy-2": "m2", "c-backend-api-1": "m3", "c-backend-api-2": "m3" });
    expect(first.heldBack).toEqual(["c-haproxy-2"]);
    expect(first.placements["c-haproxy-2"].target).toBe("m2");
    const second = placeOnCluster({ ...PLACEMENT, target: "m3" }, roles, members, { ...now, "c-haproxy": "m3" });
    expect(second.members["c-haproxy-2"]).toBe("m3");
    expect(second.heldBack).toEqual([]);
    expect(placeOnCluster({ ...PLACEMENT, target: "m3" }, roles, members, {}).heldBack).toEqual([]);
    expect(oneMovePerRole({ a: "m3", b: "m3" }, [{ role: "r", containers: ["a", "b"] }], { a: "m1", b: "m2" }).heldBack).toEqual([]);
  });

  test("the preview's lines say where each container goes and whether it moves", () => {
    expect(placementLog({ a: "m1", b: "m2", c: "m3" }, { a: "m1", b: "m1" })).toBe(
      "a -> m1 (stays)\nb -> m2 (moves from m1)\nc -> m3 (new)",
    );
    expect(placementLog({ a: "m1" }, { a: "m1" }, ["a"])).toBe(
      "a -> m1 (stays for now: one of its role moves per up, run up again to move it)",
    );
  });
});
