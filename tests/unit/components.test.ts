/**
 * Each component built on its own, as another Pulumi program would, under Pulumi's runtime mocks:
 * what it registers (read through the mocks' newResource), and that bad arguments fail at once
 * with a ResourceError naming the argument. index.ts and its validation are not involved.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  BackendApiInstance,
  FleetRollout,
  HaproxyNode,
  HaproxyPair,
  HaproxyPairArgs,
  StreamServerInstance,
  completeVrrp,
  pairProblems,
} from "../../components";
import { completeHaproxyOptions } from "../../components/haproxy/haproxyArgs";
import { haproxyOptionsFromSettings } from "../../stack/componentArgs";
import { configEnvironment } from "../../components/haproxy/haproxyNode";
import { DEFAULTS } from "../../stack/settings";
import { INCUS_NAME_RULE } from "../../components/common/checks";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const COMMAND = "command:local:Command";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const placement = { remote: "", target: "", image: "veza-lab/bookworm", network: "vezabr0", storagePool: "veza" };

const registered: Registered[] = [];
let host = 10;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        if (args.type === PASSWORD) return { id: `${args.name}-id`, state: { ...args.inputs, result: "p".repeat(40) } };
        const stdout = args.name.endsWith("-launch") ? `10.77.0.${host++}` : args.name.endsWith("-config") ? "sha" : "";
        return { id: `${args.name}-id`, state: { ...args.inputs, stdout } };
      },
      call: (args) => args.inputs,
    },
    "veza-infra",
    "components",
    false,
  );
});

/** Resolves once the output is known, i.e. once what it depends on was registered. */
const known = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));
const resource = (name: string, type = COMMAND) => {
  const found = registered.find((r) => r.name === name && r.type === type);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
/** A step's environment less the entries that carry its own scripts (labelledStep): the values it is given. */
const SCRIPT_ENTRIES = new Set(["VEZA_SCRIPT", "VEZA_DELETE_SCRIPT", "VEZA_DELETE_LABEL"]);
const environment = (name: string) =>
  Object.fromEntries(
    Object.entries(resource(name).inputs.environment as Record<string, string>).filter(([key]) => !SCRIPT_ENTRIES.has(key)),
  );

describe("HaproxyNode on its own", () => {
  test("with two plain upstreams: launch, setup, config and password, the servers in haproxy.cfg", async () => {
    const node = new HaproxyNode("edge", {
      containerName: "t-edge",
      placement,
      pools: {
        backendApi: { servers: [{ name: "api-a", address: "192.0.2.1" }] },
        streamServer: { servers: [pulumi.output({ name: "hls-a", address: "192.0.2.2" })], port: 9082 },
      },
    });
    expect(await known(node.configHash)).toBe("sha");
    expect(registered.filter((r) => r.name.startsWith("edge")).map((r) => `${r.type} ${r.name}`)).toEqual(
      expect.arrayContaining([
        "veza:infra:HaproxyNode edge",
        "veza:infra:IncusContainer edge",
        `${COMMAND} edge-launch`,
        `${COMMAND} edge-setup`,
        `${COMMAND} edge-config`,
        `${PASSWORD} edge-stats-password`,
      ]),
    );
    expect(environment("edge-launch").VEZA_REF).toBe("t-edge");
    // Limits left out: the role's defaults, in a step of their own beside the launch.
    expect(environment("edge-limits")).toEqual({
      VEZA_REF: "t-edge",
      VEZA_LIMITS_CPU: "1",
      VEZA_LIMITS_MEMORY: "256MiB",
      VEZA_ROOT_DISK_SIZE: "",
    });
    expect(resource("edge-limits").inputs.triggers).toEqual(["edge-launch-id"]);
    expect(environment("edge-setup").VEZA_STATS_PASSWORD).toBe("p".repeat(40));
    const config = environment("edge-config");
    expect(config.VEZA_REF).toBe("t-edge");
    expect(config.VEZA_CONFIG).toMatch(/\n {4}server api-a 192\.0\.2\.1:8080 /);
    expect(config.VEZA_CONFIG).toMatch(/\n {4}server hls-a 192\.0\.2\.2:9082 /);
    expect(config.VEZA_SERVER_STATES).toBe(
      "set server api_pool/api-a state ready; set server api_ws/api-a state ready; set server stream_pool/hls-a state ready",
    );
    expect(node.container.containerName).toBe("t-edge");
    expect(node.config).toBeInstanceOf(pulumi.CustomResource);
  });

  test("takes instances in its pools, and the groups' fields reach haproxy.cfg", async () => {
    const api = new BackendApiInstance("api-1", { containerName: "t-api-1", placement });
    const stream = new StreamServerInstance("hls-1", { containerName: "t-hls-1", placement, port: 9000 });
    expect(await known(api.upstream)).toEqual({ name: "api-1", address: await known(api.container.address) });
    const node = new HaproxyNode("edge2", {
      containerName: "t-edge2",
      placement,
      healthCheck: { fall: 5 },
      stickyCookie: { name: "PIN" },
      drain: { servers: ["api-1"] },
      pools: { backendApi: { servers: [api] }, streamServer: { servers: [stream], port: 9000 } },
    });
    await known(node.configHash);
    const config = environment("edge2-config");
    expect(config.VEZA_CONFIG).toContain(`server api-1 ${await known(api.address)}:8080 `);
    expect(config.VEZA_CONFIG).toContain(`server hls-1 ${await known(stream.address)}:9000 `);
    expect(config.VEZA_CONFIG).toContain(" fall 5 ");
    expect(config.VEZA_CONFIG).toContain('cookie "PIN" insert');
    expect(config.VEZA_SERVER_STATES).toContain("set server api_pool/api-1 state drain");
    expect(environment("hls-1-deploy").VEZA_PORT).toBe("9000");
    expect(environment("api-1-deploy").VEZA_HEALTH_PATH).toBe("/api/v1/health");
  });

  test("bad arguments: a ResourceError naming every bad field, before anything is registered under it", () => {
    const build = () =>
      new HaproxyNode("bad", {
        containerName: "bad_name",
        placement,
        healthCheck: { fall: 0, intervalMs: 200, timeoutMs: 200 },
        listeners: { statsPort: 80 },
        pools: { backendApi: { fallbacks: ["nowhere"] } },
        rateLimits: { periodSeconds: 0, exemptSources: ["10.77.0.1/24"] },
        clientAddress: { source: "proxy-protocol" },
      });
    expect(build).toThrow(pulumi.ResourceError);
    expect(build).toThrow("rateLimits.periodSeconds must be an integer from 1 to 3600 (got 0)");
    expect(build).toThrow("rateLimits.exemptSources[0] must be an IPv4 network in CIDR notation");
    expect(build).toThrow(
      'clientAddress.trustedProxies must list at least one IPv4 network, the only sources whose proxy-protocol address is believed, while clientAddress.source is "proxy-protocol" (got [])',
    );
    expect(build).toThrow("healthCheck.fall must be an integer from 1 to 100 (got 0)");
    expect(build).toThrow("healthCheck.timeoutMs must be an integer from 50 to 199, below healthCheck.intervalMs (got 200)");
    expect(build).toThrow("listeners.statsPort must differ from listeners.httpPort");
    expect(build).toThrow("pools.backendApi.fallbacks[0] must be host:port");
    expect(build).toThrow("containerName must be letters, digits and hyphens");
    expect(registered.some((r) => r.name.startsWith("bad-"))).toBe(false);
  });
});

describe("configEnvironment: what only the servers show, named as the argument", () => {
  const options = completeHaproxyOptions({ drain: { servers: ["api-9"] } });
  const api = [{ name: "api-1", address: "192.0.2.1" }];

  test("a drained server in neither pool", () => {
    expect(() => configEnvironment({ VEZA_REF: "r" }, options, { backendApi: api, streamServer: api })).toThrow(
      "drain.servers names api-9, a server of neither pool",
    );
  });

  test("a pool with neither servers nor fallbacks", () => {
    expect(() => configEnvironment({ VEZA_REF: "r" }, completeHaproxyOptions({}), { backendApi: api, streamServer: [] })).toThrow(
      "stream_pool would have no server: its fleet is empty and pools.streamServer.fallbacks lists none",
    );
  });
});

describe("service instances on their own", () => {
  test("bad arguments: a ResourceError naming the field", () => {
    const build = () =>
      new StreamServerInstance("hls-bad", {
        containerName: "t-hls-bad",
        placement,
        port: 70000,
        healthPath: "health",
        limits: { cpu: -1, memory: "1GB", rootSize: "100MiB" },
      });
    expect(build).toThrow(pulumi.ResourceError);
    expect(build).toThrow("port must be an integer from 1 to 65535 (got 70000)");
    expect(build).toThrow("healthPath must be a URL path");
    expect(build).toThrow("limits.cpu must be an integer from 0 to 256 (got -1)");
    expect(build).toThrow(
      'limits.memory must be empty (no limit) or a whole number of MiB or GiB, e.g. 512MiB or 2GiB, of at least 64MiB (got "1GB")',
    );
    expect(build).toThrow("limits.rootSize must be empty (the pool's default size) or a whole number of MiB or GiB");
  });

  test("limits given in part: those fields set, the others the role's defaults; cpu 0 is no limit", async () => {
    const api = new BackendApiInstance("api-sized", { containerName: "t-api-sized", placement, limits: { cpu: 0, rootSize: "4GiB" } });
    await known(api.upstream);
    expect(environment("api-sized-limits")).toEqual({
      VEZA_REF: "t-api-sized",
      VEZA_LIMITS_CPU: "",
      VEZA_LIMITS_MEMORY: "256MiB",
      VEZA_ROOT_DISK_SIZE: "4GiB",
    });
    expect(api.container.limits).toBeInstanceOf(pulumi.CustomResource);
  });
});

describe("option groups", () => {
  test("settings to groups set every field of every group", () => {
    const settings = { ...DEFAULTS, httpPort: 8000, streamPathPrefixes: ["/x/"], backendApiFallbackServers: ["a:1"] };
    const args = haproxyOptionsFromSettings(settings);
    expect(args.listeners.httpPort).toBe(8000);
    expect(args.uriHash.pathPrefixes).toEqual(["/x/"]);
    expect(args.pools.backendApi.fallbacks).toEqual(["a:1"]);
    expect(JSON.stringify(args)).not.toContain("null");
    expect(args.pools.streamServer.port).toBe(8082);
  });

  test("a field left out takes its rule's default, the one the stack's DEFAULTS hold too; a list given replaces the default's", () => {
    const args = completeHaproxyOptions({ healthCheck: { fall: 4 }, uriHash: { pathPrefixes: ["/live/"] } });
    expect(args.healthCheck).toEqual({ ...haproxyOptionsFromSettings(DEFAULTS).healthCheck, fall: 4 });
    expect(args.uriHash.pathPrefixes).toEqual(["/live/"]);
    expect(completeHaproxyOptions({})).toEqual(haproxyOptionsFromSettings(DEFAULTS));
  });
});

describe("FleetRollout on its own", () => {
  test("one labelled step after the edge's config and the deploys, every instance's release in its environment", async () => {
    const apis = ["ra-1", "ra-2"].map((name) => new BackendApiInstance(name, { containerName: `t-${name}`, placement }));
    const node = new HaproxyNode("redge", {
      containerName: "t-redge",
      placement,
      pools: { backendApi: { servers: apis }, streamServer: { fallbacks: ["192.0.2.9:8082"] } },
    });
    const rollout = new FleetRollout("ra-rollout", { instances: apis, edge: node, rollout: { canarySeconds: 5 } });
    await known(rollout.step.stdout);
    const step = resource("ra-rollout-step");
    expect(step.inputs.create).toBe("rollout of backend-api");
    const env = environment("ra-rollout-step");
    expect(env.VEZA_INSTANCES.split("\n").map((line) => line.split(" ").slice(0, 2).join(" "))).toEqual(["ra-1 t-ra-1", "ra-2 t-ra-2"]);
    expect(env).toMatchObject({ VEZA_NODES: "t-redge", VEZA_BACKEND: "api_pool", VEZA_TUNNEL_BACKEND: "api_ws", VEZA_CANARY_SECONDS: "5" });
    // Nothing was observed (no `live`): no plan, and no instance said to roll.
    expect(rollout.plan).toBe("");
  });

  test("bad arguments: a ResourceError naming each", () => {
    const api = new BackendApiInstance("rb-1", { containerName: "t-rb-1", placement });
    const other = new StreamServerInstance("rb-s", { containerName: "t-rb-s", placement });
    const pair = new HaproxyPair("rb-pair", {
      placement,
      nodes: [
        { name: "rb-edge", containerName: "t-rb-edge" },
        { name: "rb-edge-2", containerName: "t-rb-edge-2" },
      ],
      vrrp: { virtualIp: "10.77.0.250" },
      pools: { backendApi: { servers: [api] }, streamServer: { servers: [other] } },
    });
    const [pairNode] = pair.nodes;
    const build = () =>
      new FleetRollout("rb-rollout", { instances: [api, other], edge: pairNode, rollout: { maxUnavailable: 2, drainTimeoutSeconds: -1 } });
    expect(build).toThrow(pulumi.ResourceError);
    expect(build).toThrow("instances mixes services: rb-s runs stream-server, not backend-api");
    expect(build).toThrow("maxUnavailable must be below the fleet's 2 instances");
    expect(build).toThrow("drainTimeoutSeconds must be an integer from 0 to 3600 (got -1)");
    expect(build).toThrow("edge rb-edge does not apply its own config (a node of a pair): pass the HaproxyPair");
  });
});

describe("HaproxyPair", () => {
  test("bad arguments: one ResourceError naming each, before any node is built", () => {
    const build = () =>
      new HaproxyPair("bad-pair", {
        placement,
        nodes: [
          { name: "edge", containerName: "t-edge" },
          { name: "edge", containerName: "t-edge;rm" },
        ],
        vrrp: { virtualIp: "10.77.0.20", advertIntervalMs: 105, routerId: 0 },
        healthCheck: { fall: 0 },
      });
    expect(build).toThrow(pulumi.ResourceError);
    expect(build).toThrow(`nodes[1].containerName must be ${INCUS_NAME_RULE} (got "t-edge;rm")`);
    expect(build).toThrow("healthCheck.fall must be an integer from 1 to 100 (got 0)");
    expect(build).toThrow('nodes[].name must differ between the two nodes (both are "edge")');
    expect(build).toThrow(
      'vrrp.virtualIp must be an IPv4 address from 10.77.0.200-10.77.0.254: a host address of vrrp.subnet 10.77.0.0/24, outside vrrp.leasedRange 10.77.0.2-10.77.0.199, not vrrp.gateway 10.77.0.1 (got "10.77.0.20": inside vrrp.leasedRange, so it could be handed to another host)',
    );
    expect(build).toThrow("vrrp.advertIntervalMs must be a multiple of 10: VRRPv3 counts the interval in centiseconds (got 105)");
    expect(build).toThrow("vrrp.routerId must be an integer from 1 to 255 (got 0)");
  });

  const nodes: HaproxyPairArgs["nodes"] = [
    { name: "edge", containerName: "t-edge" },
    { name: "edge-2", containerName: "t-edge-2" },
  ];

  test("takes the segment it is given: a real cluster's /16, routed at its top", () => {
    const vrrp = { virtualIp: "10.20.4.1", subnet: "10.20.0.0/16", leasedRange: "10.20.0.2-10.20.3.255", gateway: "10.20.255.254" };
    expect(pairProblems({ placement, nodes, vrrp })).toEqual([]);
    expect(completeVrrp(vrrp)).toEqual({ ...vrrp, advertIntervalMs: 200, routerId: 51 });
  });

  test("names every argument of a segment it cannot take", () => {
    const vrrp = { virtualIp: "10.20.0.5", subnet: "10.20.0.0/16", leasedRange: "10.20.0.2", gateway: "10.77.0.1" };
    expect(pairProblems({ placement, nodes, vrrp })).toEqual([
      'vrrp.leasedRange must be empty or first-last, two IPv4 addresses, e.g. 10.79.0.2-10.79.0.199 (got "10.20.0.2")',
      'vrrp.gateway must be empty or within the host addresses of vrrp.subnet, 10.20.0.1-10.20.255.254 (got "10.77.0.1", the default: set it along with vrrp.subnet)',
    ]);
    expect(pairProblems({ placement, nodes, vrrp: { ...vrrp, leasedRange: "10.20.0.2-10.20.0.99", gateway: "" } })).toEqual([
      'vrrp.virtualIp must be an IPv4 address from 10.20.0.1, 10.20.0.100-10.20.255.254: a host address of vrrp.subnet 10.20.0.0/16, outside vrrp.leasedRange 10.20.0.2-10.20.0.99 (got "10.20.0.5": inside vrrp.leasedRange, so it could be handed to another host)',
    ]);
  });
});
