/**
 * The resource graph of index.ts under Pulumi's runtime mocks: types, parents, names, the stack
 * outputs, that a settings change reaches no container, and that bad settings stop the program
 * before any resource exists. The real engine and real containers are the lab tier's job.
 */
import type * as PulumiModule from "@pulumi/pulumi";
import { BASH, LAUNCH_SCRIPT } from "../../components/incus/incusScripts";
import type { LiveContainer } from "../../components/incus/liveState";
import { LIST_INSTANCES_SCRIPT } from "../../components/incus/ownership";
import { LIST_MEMBERS_SCRIPT } from "../../components/incus/clusterPlacement";
import { FAILURE_MARKER } from "../../components/incus/incusReach";

interface Registered {
  type: string;
  name: string;
  /** Type of the parent, as the mock URN spells it; empty for a top-level resource. */
  parentType: string;
  inputs: Record<string, unknown>;
}

interface ProgramRun {
  resources: Registered[];
  outputs: Record<string, unknown>;
  /** Inputs of each invoke the program made. */
  invokes: Record<string, unknown>[];
  /** The remotes the program checked it reaches before anything else (incusReach.ts; the lab tier checks for real). */
  reached: string[];
}

// Each run imports the whole program afresh: seconds on a busy 2-core host, more than jest's 5 s default.
jest.setTimeout(120_000);

const COMMAND = "command:local:Command";
const PASSWORD = "random:index/randomPassword:RandomPassword";

/** What the mocked `incus query` of the ownership check lists: instance name -> owner key. */
type Instances = Record<string, string>;

/** A mocked cluster: its members, and the member each listed instance is on now. */
interface Cluster {
  members: string[];
  locations?: Record<string, string>;
}

/** What LIST_MEMBERS_SCRIPT prints when `incus cluster list` fails on a daemon that is not a cluster. */
const NOT_A_CLUSTER = [FAILURE_MARKER, "1", "", "Error: Server isn't part of a cluster"].join("\n");

/**
 * Runs index.ts with `config` (keys without namespace) in a fresh module registry and mock runtime,
 * with `instances` as the containers Incus already has and `live` as what the probe of what runs
 * in them reads (liveState.ts; by default nothing: the probe is the lab tier's to run for real);
 * `cluster` makes Incus a cluster (by default it is one daemon, as the lab's).
 */
async function runProgram(
  config: Record<string, string>,
  instances: Instances = {},
  live: Map<string, LiveContainer> = new Map(),
  cluster?: Cluster,
): Promise<ProgramRun> {
  const run: ProgramRun = { resources: [], outputs: {}, invokes: [], reached: [] };
  const invokes = run.invokes;
  await jest.isolateModulesAsync(async () => {
    jest.doMock("../../components/incus/incusReach", () => ({
      ...jest.requireActual("../../components/incus/incusReach"),
      checkIncusReachable: (remote: string) => run.reached.push(remote),
    }));
    jest.doMock("../../components/incus/liveState", () => ({
      ...jest.requireActual("../../components/incus/liveState"),
      observeContainers: () => live,
    }));
    const pulumi: typeof PulumiModule = await import("@pulumi/pulumi");
    let host = 10;
    const inputsByName = new Map<string, Record<string, unknown>>();
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          inputsByName.set(args.name, args.inputs);
          if (args.type === PASSWORD) return { id: `${args.name}-id`, state: { ...args.inputs, result: "f".repeat(40) } };
          const stdout = args.name.endsWith("-launch") ? `10.77.0.${host++}` : "";
          return { id: `${args.name}-id`, state: { ...args.inputs, stdout } };
        },
        call: (args) => {
          if (args.token !== "command:local:run") throw new Error(`unexpected invoke ${args.token}`);
          invokes.push(args.inputs);
          if (args.inputs.command === LIST_MEMBERS_SCRIPT) {
            const members = cluster?.members.map((name) => ({ server_name: name, status: "Online", failure_domain: "default" }));
            return { ...args.inputs, stdout: members ? JSON.stringify(members) : NOT_A_CLUSTER, stderr: "" };
          }
          const listed = Object.entries(instances).map(([name, owner]) => ({
            name,
            location: cluster?.locations?.[name] ?? "none",
            config: { "user.veza.owner": owner },
          }));
          return { ...args.inputs, stdout: JSON.stringify(listed), stderr: "" };
        },
      },
      "veza-infra",
      "lab",
      false,
    );
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [`veza-infra:${key}`, value])));
    const program = await import("../../index");
    run.outputs = await new Promise((resolve) =>
      pulumi.all(program as unknown as Record<string, PulumiModule.Input<unknown>>).apply((values) => resolve(values)),
    );
    // The mock monitor keeps every URN; its type part is `<parent type>$<type>`. Steps no output
    // depends on (the fleets' rollouts) may register after the outputs resolve: wait until none does.
    const monitor = pulumi.runtime.getMonitor() as unknown as { resources: Map<string, unknown> };
    for (let seen = -1; seen !== monitor.resources.size;) {
      seen = monitor.resources.size;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const urn of monitor.resources.keys()) {
      const [, , typeChain, name] = urn.split("::");
      const chain = typeChain.split("$");
      run.resources.push({
        type: chain[chain.length - 1],
        name,
        parentType: chain.slice(0, -1).join("$"),
        inputs: inputsByName.get(name) ?? {},
      });
    }
  });
  return run;
}

const byName = (run: ProgramRun, name: string, type = COMMAND) => {
  const found = run.resources.find((r) => r.name === name && r.type === type);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
/** A Command's environment; a secret value makes the whole map a secret, which the mocks show wrapped. */
const environment = (run: ProgramRun, name: string) => {
  const value = byName(run, name).inputs.environment as Record<string, unknown>;
  return (SECRET_SIG in value ? value.value : value) as Record<string, string>;
};
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const commands = (run: ProgramRun) => run.resources.filter((r) => r.type === COMMAND);

describe("index.ts under mocks", () => {
  let lab: ProgramRun;
  beforeAll(async () => {
    // Incus already has a container of this stack, one of no stack, and one of another stack's.
    lab = await runProgram(
      { namePrefix: "lab-" },
      { "lab-haproxy": "veza-infra/lab", "lab-backend-api-1": "", "other-haproxy": "veza-infra/other" },
    );
  });

  test("one incus query lists the instances, one incus cluster list the members; containers of this stack or of none are adopted (refusals: the lab tier)", () => {
    // A refusal under mocks cannot be awaited here: the runtime's rejections fail the jest test.
    const environment = { VEZA_REMOTE: "", VEZA_TIMEOUT_SECONDS: "20" };
    expect(lab.invokes).toEqual([
      { command: LIST_INSTANCES_SCRIPT, interpreter: BASH, environment, logging: "none" },
      { command: LIST_MEMBERS_SCRIPT, interpreter: BASH, environment, logging: "none" },
    ]);
    expect(commands(lab).filter((r) => r.name.endsWith("-launch"))).toHaveLength(5);
  });

  test("one HAProxy node, two of each service, each with its container", () => {
    const count = (type: string) => lab.resources.filter((r) => r.type === type).length;
    expect(count("veza:infra:HaproxyNode")).toBe(1);
    expect(count("veza:infra:BackendApiInstance")).toBe(2);
    expect(count("veza:infra:StreamServerInstance")).toBe(2);
    expect(count("veza:infra:IncusContainer")).toBe(5);
  });

  test("children hang under their component", () => {
    // Under mocks there is no stack resource: top-level components have no parent.
    expect(byName(lab, "backend-api-1", "veza:infra:BackendApiInstance").parentType).toBe("");
    expect(byName(lab, "backend-api-1", "veza:infra:IncusContainer").parentType).toBe("veza:infra:BackendApiInstance");
    expect(byName(lab, "stream-server-2", "veza:infra:IncusContainer").parentType).toBe("veza:infra:StreamServerInstance");
    expect(byName(lab, "haproxy", "veza:infra:IncusContainer").parentType).toBe("veza:infra:HaproxyNode");
    expect(byName(lab, "backend-api-1-launch").parentType).toBe("veza:infra:IncusContainer");
    expect(byName(lab, "backend-api-1-deploy").parentType).toBe("veza:infra:BackendApiInstance");
    expect(byName(lab, "stream-server-2-deploy").parentType).toBe("veza:infra:StreamServerInstance");
    for (const step of ["haproxy-config", "haproxy-setup"]) {
      expect(byName(lab, step).parentType).toBe("veza:infra:HaproxyNode");
    }
    expect(byName(lab, "haproxy-stats-password", PASSWORD).parentType).toBe("veza:infra:HaproxyNode");
    expect(commands(lab).every((r) => r.parentType.startsWith("veza:infra:"))).toBe(true);
  });

  test("containers carry the stack's prefix; HAProxy servers keep the service names", () => {
    expect(lab.outputs.backendApiContainers).toEqual(["lab-backend-api-1", "lab-backend-api-2"]);
    expect(lab.outputs.streamServerContainers).toEqual(["lab-stream-server-1", "lab-stream-server-2"]);
    expect(lab.outputs.haproxyContainers).toEqual(["lab-haproxy"]);
    expect(environment(lab, "backend-api-1-launch").VEZA_REF).toBe("lab-backend-api-1");
    expect(environment(lab, "backend-api-1-launch").VEZA_OWNER).toBe("veza-infra/lab");
    const config = environment(lab, "haproxy-config").VEZA_CONFIG;
    expect(config).toMatch(/server backend-api-1 10\.77\.0\.\d+:8080/);
    expect(config).toMatch(/server stream-server-2 10\.77\.0\.\d+:8082/);
  });

  test("the outputs say where the LB is and how to reach the stats page; the password stays out of scripts", () => {
    expect(lab.outputs.lbUrl).toMatch(/^http:\/\/10\.77\.0\.\d+\/$/);
    expect(lab.outputs.statsAccess).toContain("http://127.0.0.1:9100/stats");
    expect(lab.outputs.metricsUrls).toEqual([expect.stringMatching(/^http:\/\/10\.77\.0\.\d+:9101\/metrics$/)]);
    expect(lab.outputs.statsPassword).toBe("f".repeat(40));
    expect(environment(lab, "haproxy-setup").VEZA_STATS_PASSWORD).toBe("f".repeat(40));
    for (const r of lab.resources.filter((r) => r.name !== "haproxy-setup" && r.name !== "haproxy-stats-password")) {
      expect(JSON.stringify(r.inputs)).not.toContain("f".repeat(40));
    }
    expect(byName(lab, "haproxy-setup").inputs.create).not.toContain("f".repeat(40));
  });

  test("each fleet rolls behind the edge in a step of its own, after the deploys", () => {
    expect(lab.resources.filter((r) => r.type === "veza:infra:FleetRollout").map((r) => r.name)).toEqual([
      "backend-api-rollout",
      "stream-server-rollout",
    ]);
    expect(byName(lab, "backend-api-rollout-step").inputs.create).toBe("rollout of backend-api");
    expect(environment(lab, "stream-server-rollout-step").VEZA_BACKEND).toBe("stream_pool");
  });

  test("what runs differs from what the state records: the steps concerned say what, and only they", async () => {
    const running = (files: Record<string, string>, units: Record<string, string>) => ({
      status: "running",
      files,
      recorded: {},
      units,
      config: {},
    });
    const drifted = await runProgram(
      { namePrefix: "lab-" },
      {},
      new Map([
        ["lab-backend-api-1", running({ "/opt/veza/backend-api/standin.js": "0".repeat(64) }, { "veza-backend-api": "active" })],
        ["lab-stream-server-2", { status: "absent", files: {}, recorded: {}, units: {}, config: {} }],
        ["lab-haproxy", running({ "/etc/haproxy/haproxy.cfg": "1".repeat(64) }, { haproxy: "active" })],
      ]),
    );
    const live = (name: string) => environment(drifted, name).VEZA_LIVE ?? "";
    expect(live("backend-api-1-deploy")).toMatch(
      /^\/opt\/veza\/backend-api\/standin\.js differs \(sha256 000000000000, expected [0-9a-f]{12}\) \(seen /,
    );
    expect(live("backend-api-rollout-step")).toMatch(/^backend-api-1 runs another release \(seen /);
    expect(live("stream-server-2-launch")).toMatch(/^the container is missing/);
    expect(live("stream-server-2-deploy")).toMatch(/^the container is missing/);
    expect(live("haproxy-config")).toMatch(/^\/etc\/haproxy\/haproxy\.cfg was changed by hand/);
    // What was not observed, or agrees, carries no drift.
    for (const name of ["backend-api-2-deploy", "stream-server-rollout-step", "haproxy-setup", "backend-api-1-launch"])
      expect(live(name)).toBe("");
  });

  test("a settings change reaches only the HAProxy config step: no container is replaced or touched", async () => {
    const edited = await runProgram({
      namePrefix: "lab-",
      healthCheckIntervalMs: "1000",
      gracefulDrainSeconds: "10",
      stickyCookieName: "PIN",
    });
    const changed = commands(edited)
      .filter((r) => {
        const before = byName(lab, r.name).inputs;
        return (
          JSON.stringify([before.create, before.environment, before.triggers]) !==
          JSON.stringify([r.inputs.create, r.inputs.environment, r.inputs.triggers])
        );
      })
      .map((r) => r.name);
    expect(changed).toEqual(["haproxy-config"]);
  });

  test("no script text carries a stack-config value: every value travels in the environment", async () => {
    const edited = await runProgram({
      namePrefix: "x-",
      backendApiHealthPath: "/other/health",
      streamServerHealthPath: "/s",
      backendApiPort: "9090",
      incusImage: "other/image",
      incusNetwork: "othernet",
      incusStoragePool: "otherpool",
      stickyCookieName: "PIN",
    });
    for (const r of commands(edited)) {
      const before = byName(lab, r.name).inputs;
      expect([r.inputs.create, r.inputs.delete, r.inputs.interpreter]).toEqual([before.create, before.delete, before.interpreter]);
    }
    expect(environment(edited, "backend-api-1-deploy").VEZA_HEALTH_PATH).toBe("/other/health");
    expect(environment(edited, "backend-api-1-launch").VEZA_IMAGE).toBe("other/image");
  });

  test("bad settings stop the program before any resource is registered, naming every key", async () => {
    let registered = 0;
    const message = await runProgram({ healthCheckFall: "0", httpPort: "70000", stickyCookieName: "a b" }).then(
      (run) => ((registered = run.resources.length), "no error"),
      (error: Error) => error.message,
    );
    expect(message).toContain("veza-infra:healthCheckFall must be an integer from 1 to 100 (got 0)");
    expect(message).toContain("veza-infra:httpPort must be an integer from 1 to 65535 (got 70000)");
    expect(message).toContain("veza-infra:stickyCookieName must be an RFC 6265 cookie name");
    expect(registered).toBe(0);
  });
});

describe("index.ts with the HAProxy pair under mocks", () => {
  let pair: ProgramRun;
  beforeAll(async () => {
    pair = await runProgram({ namePrefix: "lab-", haproxyCount: "2", virtualIp: "10.77.0.200" });
  });

  test("two nodes, keepalived on each, one rollout of haproxy.cfg instead of a step per node", () => {
    expect(pair.outputs.haproxyContainers).toEqual(["lab-haproxy", "lab-haproxy-2"]);
    expect(byName(pair, "haproxy-pair", "veza:infra:HaproxyPair").parentType).toBe("");
    for (const step of ["haproxy-pair-config", "haproxy-keepalived", "haproxy-2-keepalived"]) {
      expect(byName(pair, step).parentType).toBe("veza:infra:HaproxyPair");
    }
    // The pair owns its nodes; they were once at the stack's root, which an alias keeps.
    for (const node of ["haproxy", "haproxy-2"])
      expect(byName(pair, node, "veza:infra:HaproxyNode").parentType).toBe("veza:infra:HaproxyPair");
    expect(commands(pair).map((r) => r.name)).not.toContain("haproxy-config");
    expect(commands(pair).map((r) => r.name)).not.toContain("haproxy-2-config");
    const rollout = environment(pair, "haproxy-pair-config");
    expect(rollout.VEZA_REFS).toBe("lab-haproxy lab-haproxy-2");
    expect(rollout.VEZA_VIRTUAL_IP).toBe("10.77.0.200");
    expect(rollout.VEZA_CONFIG).toContain("server backend-api-1");
  });

  test("clients go to the virtual IP; both nodes share one stats password", () => {
    expect(pair.outputs.lbUrl).toBe("http://10.77.0.200/");
    expect(pair.outputs.virtualIp).toBe("10.77.0.200");
    expect(environment(pair, "haproxy-setup").VEZA_STATS_PASSWORD).toBe(environment(pair, "haproxy-2-setup").VEZA_STATS_PASSWORD);
    expect(pair.resources.filter((r) => r.type === PASSWORD)).toHaveLength(1);
  });

  test("each node's keepalived.conf names itself and unicasts to the other", () => {
    const first = environment(pair, "haproxy-keepalived").VEZA_KEEPALIVED_CONF;
    const second = environment(pair, "haproxy-2-keepalived").VEZA_KEEPALIVED_CONF;
    const addresses = pair.outputs.haproxyAddresses as string[];
    expect(first).toContain(`unicast_src_ip ${addresses[0]}`);
    expect(second).toContain(`unicast_src_ip ${addresses[1]}`);
    expect(first).toContain("10.77.0.200/24 dev eth0");
  });
});

describe("index.ts with the pair on a segment of its own under mocks", () => {
  // A /16 around the mocks' addresses (10.77.0.10..), its DHCP pool and gateway where the lab's are.
  const SEGMENT = { vrrpSubnet: "10.77.0.0/16", vrrpLeasedRange: "10.77.0.2-10.77.0.199", vrrpGateway: "10.77.0.1" };

  test("the vrrp* keys reach keepalived.conf: the virtual IP is added with the subnet's prefix length", async () => {
    const run = await runProgram({ namePrefix: "lab-", haproxyCount: "2", virtualIp: "10.77.200.1", ...SEGMENT });
    expect(run.outputs.virtualIp).toBe("10.77.200.1");
    expect(environment(run, "haproxy-keepalived").VEZA_KEEPALIVED_CONF).toContain("10.77.200.1/16 dev eth0");
  });

  test("a subnet set without its leased range and gateway stops the program before any resource is registered", async () => {
    let registered = 0;
    const message = await runProgram({ haproxyCount: "2", virtualIp: "10.20.0.5", vrrpSubnet: "10.20.0.0/16" }).then(
      (run) => ((registered = run.resources.length), "no error"),
      (error: Error) => error.message,
    );
    expect(message).toContain(
      'veza-infra:vrrpLeasedRange must be empty or within the host addresses of veza-infra:vrrpSubnet, 10.20.0.1-10.20.255.254 (got "10.77.0.2-10.77.0.199", the default: set it along with veza-infra:vrrpSubnet)',
    );
    expect(message).toContain("veza-infra:vrrpGateway must be empty or within the host addresses of veza-infra:vrrpSubnet");
    expect(registered).toBe(0);
  });
});

describe("index.ts with the pair on an Incus remote under mocks", () => {
  let remote: ProgramRun;
  beforeAll(async () => {
    remote = await runProgram({ namePrefix: "lab-", haproxyCount: "2", virtualIp: "10.77.0.200", incusRemote: "edge" });
  });

  test("the ownership check, every step and every output naming a container go to remote:container", () => {
    expect(remote.reached).toEqual(["edge"]);
    expect((remote.invokes[0].environment as Record<string, string>).VEZA_REMOTE).toBe("edge");
    expect(environment(remote, "haproxy-pair-config").VEZA_REFS).toBe("edge:lab-haproxy edge:lab-haproxy-2");
    expect(remote.outputs.haproxyContainers).toEqual(["edge:lab-haproxy", "edge:lab-haproxy-2"]);
    expect(remote.outputs.backendApiContainers).toEqual(["edge:lab-backend-api-1", "edge:lab-backend-api-2"]);
    expect(remote.outputs.streamServerContainers).toEqual(["edge:lab-stream-server-1", "edge:lab-stream-server-2"]);
    expect(remote.outputs.statsAccess).toMatch(/^incus exec edge:lab-haproxy -- curl /);
    // The image is the remote's own, not the local daemon's.
    expect(environment(remote, "haproxy-launch").VEZA_IMAGE).toBe("edge:veza-lab/bookworm");
  });
});

describe("index.ts on an Incus cluster under mocks", () => {
  const PAIR = { namePrefix: "lab-", haproxyCount: "2", virtualIp: "10.77.0.200" };
  const MEMBERS = ["m1", "m2", "m3"];
  const CONTAINERS = [
    "lab-haproxy",
    "lab-haproxy-2",
    "lab-backend-api-1",
    "lab-backend-api-2",
    "lab-stream-server-1",
    "lab-stream-server-2",
  ];
  /** Container -> the member its launch step targets, from the steps themselves. */
  const targets = (run: ProgramRun) =>
    Object.fromEntries(
      commands(run)
        .filter((r) => r.name.endsWith("-launch"))
        .map((r) => [environment(run, r.name).VEZA_REF, environment(run, r.name).VEZA_TARGET]),
    );
  let spread: ProgramRun;
  beforeAll(async () => {
    spread = await runProgram(PAIR, {}, new Map(), { members: MEMBERS });
  });

  test("not a cluster: no container gets a target, and containerMembers is empty", async () => {
    const single = await runProgram(PAIR);
    expect(targets(single)).toEqual(Object.fromEntries(CONTAINERS.map((name) => [name, ""])));
    expect(single.outputs.containerMembers).toEqual({});
    // The launch steps are what they were before placement existed: the same target and triggers.
    expect(byName(single, "haproxy-2-launch").inputs.triggers).toEqual(["lab-haproxy-2", "", "", "veza-lab/bookworm", "vezabr0", "veza"]);
    expect(environment(single, "haproxy-2-launch").VEZA_SCRIPT).toBe(LAUNCH_SCRIPT);
    expect(environment(single, "haproxy-2-launch").VEZA_ROLE).toBeUndefined();
    // incusTarget keeps its meaning there too (Incus itself refuses a target off a cluster).
    const pinned = await runProgram({ ...PAIR, incusTarget: "m2" });
    expect(Object.values(targets(pinned))).toEqual(CONTAINERS.map(() => "m2"));
    expect(pinned.outputs.containerMembers).toEqual({});
  });

  test("three members: the pair apart, instance i of each fleet spread, every launch targets its member", () => {
    const members = spread.outputs.containerMembers as Record<string, string>;
    expect(Object.keys(members)).toEqual(CONTAINERS);
    expect(targets(spread)).toEqual(members);
    for (const [a, b] of [
      ["lab-haproxy", "lab-haproxy-2"],
      ["lab-backend-api-1", "lab-backend-api-2"],
      ["lab-stream-server-1", "lab-stream-server-2"],
    ])
      expect(members[a]).not.toBe(members[b]);
    expect(new Set(Object.values(members)).size).toBeGreaterThan(1);
    for (const member of Object.values(members)) expect(MEMBERS).toContain(member);
    // Each launched with its role, for the placement scriptlet; the stack's own, so stacks never count each other's.
    expect(environment(spread, "haproxy-2-launch").VEZA_ROLE).toBe("veza-infra/lab/haproxy");
    expect(environment(spread, "stream-server-1-launch").VEZA_ROLE).toBe("veza-infra/lab/stream-server");
    expect(environment(spread, "haproxy-2-launch").VEZA_SCRIPT).toContain('--config user.veza.role="$VEZA_ROLE"');
  });

  test("containers already on a member stay there; the others spread around them", async () => {
    const first = spread.outputs.containerMembers as Record<string, string>;
    // Where the first run put them, but the first node and a backend moved by hand to the same member.
    const other = MEMBERS.find((m) => m !== first["lab-haproxy-2"] && m !== first["lab-backend-api-2"])!;
    const locations = { ...first, "lab-haproxy": other, "lab-backend-api-1": other };
    const again = await runProgram(PAIR, Object.fromEntries(CONTAINERS.map((name) => [name, "veza-infra/lab"])), new Map(), {
      members: MEMBERS,
      locations,
    });
    expect(again.outputs.containerMembers).toEqual(locations);
    expect(targets(again)).toEqual(locations);
  });

  test("incusTarget puts every container on that member, as before", async () => {
    const pinned = await runProgram({ ...PAIR, incusTarget: "m3" }, {}, new Map(), { members: MEMBERS });
    expect(pinned.outputs.containerMembers).toEqual(Object.fromEntries(CONTAINERS.map((name) => [name, "m3"])));
    expect(Object.values(targets(pinned))).toEqual(CONTAINERS.map(() => "m3"));
  });
});
