import { ChildProcess, execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { ALIVE_URI, Upstream } from "../../components/haproxy/haproxyConfig";
import { KeepalivedArgs, renderKeepalivedConfig } from "../../components/haproxy/keepalivedConfig";
import { completeVrrp } from "../../components/haproxy/haproxyPair";
import { DEFAULTS } from "../../stack/settings";
import { freePort, startHaproxy } from "./helpers/localHaproxy";
import { HAPROXY, KEEPALIVED, describeWithTools, keepalivedCheck, tempDir } from "./helpers/tools";
import { stackHaproxyConfig } from "../../stack/componentArgs";

const GOLDEN_DIR = path.join(__dirname, "..", "golden");

const PAIR: Upstream[] = [
  { name: "haproxy", address: "10.77.0.11" },
  { name: "haproxy-2", address: "10.77.0.12" },
];
/** The lab pair's arguments (virtual IP 10.77.0.200, the stats port's default 9100), with `overrides`. */
const settings = ({ statsPort = 9100, ...vrrp }: Partial<KeepalivedArgs["vrrp"]> & { statsPort?: number } = {}): KeepalivedArgs => ({
  vrrp: completeVrrp({ virtualIp: "10.77.0.200", ...vrrp }),
  statsPort,
});

/** The value after `keyword` on its line, e.g. `priority 150` gives "150". */
const value = (config: string, keyword: string) => new RegExp(`^\\s*${keyword} (.+)$`, "m").exec(config)?.[1];
/** The check's command line, as keepalived splits it: words, no shell. */
const checkCommand = (config: string) => (/^\s*script "(.+)"$/m.exec(config)?.[1] ?? "").split(" ");

/** A real cluster's segment: a /16 whose DHCP server leases its first 1024 addresses, routed at its top. */
const CLUSTER_VRRP = { virtualIp: "10.20.4.1", subnet: "10.20.0.0/16", leasedRange: "10.20.0.2-10.20.3.255", gateway: "10.20.255.254" };
/** Nodes on it, leased addresses in two of its /24s. */
const CLUSTER_PAIR: Upstream[] = [
  { name: "haproxy", address: "10.20.0.11" },
  { name: "haproxy-2", address: "10.20.1.12" },
];
const REAL_CLUSTER = renderKeepalivedConfig(settings(CLUSTER_VRRP), CLUSTER_PAIR, "haproxy");

const GOLDEN: Record<string, string> = {
  "keepalived-node1": renderKeepalivedConfig(settings(), PAIR, "haproxy"),
  "keepalived-node2": renderKeepalivedConfig(settings(), PAIR, "haproxy-2"),
};

describe("golden files (UPDATE_GOLDEN=1 rewrites them)", () => {
  test.each(Object.keys(GOLDEN))("%s", (name) => {
    const file = path.join(GOLDEN_DIR, `${name}.conf`);
    if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(file, GOLDEN[name]);
    expect(GOLDEN[name]).toBe(fs.readFileSync(file, "utf8"));
  });
});

describe("renderKeepalivedConfig", () => {
  const [first, second] = [GOLDEN["keepalived-node1"], GOLDEN["keepalived-node2"]];

  test("both nodes start as BACKUP and never preempt; the first is preferred when neither holds the address", () => {
    for (const config of [first, second]) {
      expect(value(config, "state")).toBe("BACKUP");
      expect(config).toMatch(/^\s*nopreempt$/m);
    }
    expect([value(first, "priority"), value(second, "priority")]).toEqual(["150", "100"]);
    expect([value(first, "router_id"), value(second, "router_id")]).toEqual(["haproxy", "haproxy-2"]);
  });

  test("each node advertises from its own address to the other only, and drops adverts from anyone else", () => {
    expect(value(first, "unicast_src_ip")).toBe("10.77.0.11");
    expect(first).toContain("unicast_peer {\n        10.77.0.12\n    }");
    expect(value(second, "unicast_src_ip")).toBe("10.77.0.12");
    expect(second).toContain("unicast_peer {\n        10.77.0.11\n    }");
    expect(first).toMatch(/^\s*check_unicast_src$/m);
  });

  test("runs VRRPv3 with the settings' router id, advert interval in seconds and the address on eth0", () => {
    const config = renderKeepalivedConfig(settings({ routerId: 7, advertIntervalMs: 250, virtualIp: "10.77.0.254" }), PAIR, "haproxy");
    expect(value(config, "vrrp_version")).toBe("3");
    expect(value(config, "virtual_router_id")).toBe("7");
    expect(value(config, "advert_int")).toBe("0.25");
    expect(config).toContain("virtual_ipaddress {\n        10.77.0.254/24 dev eth0\n    }");
    expect(value(renderKeepalivedConfig(settings({ advertIntervalMs: 100 }), PAIR, "haproxy"), "advert_int")).toBe("0.10");
    expect(value(renderKeepalivedConfig(settings({ advertIntervalMs: 1000 }), PAIR, "haproxy"), "advert_int")).toBe("1.00");
  });

  test("checks the monitor URI that the rendered haproxy.cfg answers on its stats port", () => {
    const config = renderKeepalivedConfig(settings({ statsPort: 9200 }), PAIR, "haproxy");
    expect(checkCommand(config).at(-1)).toBe(`http://127.0.0.1:9200${ALIVE_URI}`);
    const haproxy = stackHaproxyConfig({ ...DEFAULTS, statsPort: 9200 }, { backendApi: [PAIR[0]], streamServer: [PAIR[1]] });
    expect(haproxy).toMatch(new RegExp(`\\nlisten stats\\n    bind 127\\.0\\.0\\.1:9200\\n[^]*?\\n    monitor-uri ${ALIVE_URI}\\n`));
  });

  test("moves the address after one failed check, once a second, and takes it only after HAProxy answered", () => {
    expect([value(first, "interval"), value(first, "fall"), value(first, "rise")]).toEqual(["1", "1", "2"]);
    expect(first).toMatch(/^\s*init_fail$/m);
    expect(checkCommand(first).slice(0, 6)).toEqual(["/usr/bin/curl", "-fs", "-o", "/dev/null", "--max-time", "0.5"]);
  });

  test.each([
    ["one node", [PAIR[0]], "haproxy", "a pair is 2 nodes (got 1)"],
    ["a node that is not in the pair", PAIR, "haproxy-3", '"haproxy-3" is not a node of the pair'],
    ["two nodes with one address", [PAIR[0], { name: "haproxy-2", address: "10.77.0.11" }], "haproxy", "address 10.77.0.11 appears twice"],
    [
      "a node without an IPv4 address",
      [PAIR[0], { name: "haproxy-2", address: "" }],
      "haproxy",
      'haproxy-2 has address "", not an IPv4 address',
    ],
    [
      "a node whose name would break the file",
      [PAIR[0], { name: "haproxy 2", address: "10.77.0.12" }],
      "haproxy",
      'node name "haproxy 2" is not letters, digits and hyphens',
    ],
  ])("refuses %s", (_label, pair, self, message) => {
    expect(() => renderKeepalivedConfig(settings(), pair, self)).toThrow(message);
  });

  test.each([
    ["", "not an IPv4 address"],
    ["10.77.0.50", "inside vrrp.leasedRange, so it could be handed to another host"],
    ["10.77.0.1", "vrrp.gateway, the router's own address"],
  ])("refuses the virtual IP %j: %s", (virtualIp, reason) => {
    expect(() => renderKeepalivedConfig(settings({ virtualIp }), PAIR, "haproxy")).toThrow(reason);
  });

  test("adds the address with the prefix length of the subnet it is given: a real cluster's /16", () => {
    expect(REAL_CLUSTER).toContain("virtual_ipaddress {\n        10.20.4.1/16 dev eth0\n    }");
    expect(value(REAL_CLUSTER, "unicast_src_ip")).toBe("10.20.0.11");
  });

  test("refuses a segment its arguments' rules refuse, and a node off the subnet", () => {
    const onCluster = (vrrp: Partial<KeepalivedArgs["vrrp"]>) => () =>
      renderKeepalivedConfig(settings({ ...CLUSTER_VRRP, ...vrrp }), CLUSTER_PAIR, "haproxy");
    expect(onCluster({ gateway: "10.77.0.1" })).toThrow(
      'vrrp.gateway must be empty or within the host addresses of vrrp.subnet, 10.20.0.1-10.20.255.254 (got "10.77.0.1", the default: set it along with vrrp.subnet); validate the arguments first',
    );
    expect(onCluster({ subnet: "10.20.0.0/24" })).toThrow("outside vrrp.subnet");
    expect(() =>
      renderKeepalivedConfig(
        settings({ ...CLUSTER_VRRP, subnet: "10.20.0.0/24", leasedRange: "", gateway: "", virtualIp: "10.20.0.201" }),
        CLUSTER_PAIR,
        "haproxy",
      ),
    ).toThrow("haproxy-2 has address 10.20.1.12, outside vrrp.subnet 10.20.0.0/24");
  });

  test("refuses a virtual IP that is a node's own address", () => {
    const pair = [PAIR[0], { name: "haproxy-2", address: "10.77.0.200" }];
    expect(() => renderKeepalivedConfig(settings(), pair, "haproxy")).toThrow("vrrp.virtualIp 10.77.0.200 is a node's own address");
  });
});

describeWithTools([KEEPALIVED])("the real keepalived -t accepts every variant", () => {
  const variants: [string, string][] = [
    ...Object.entries(GOLDEN),
    [
      "shortest advert interval, lowest router id",
      renderKeepalivedConfig(settings({ advertIntervalMs: 100, routerId: 1 }), PAIR, "haproxy"),
    ],
    [
      "longest advert interval, highest router id",
      renderKeepalivedConfig(settings({ advertIntervalMs: 1000, routerId: 255 }), PAIR, "haproxy-2"),
    ],
    ["a real cluster's /16", REAL_CLUSTER],
  ];

  test.each(variants)("%s", (_label, config) => {
    expect(keepalivedCheck(config)).toEqual({ status: 0, output: "" });
  });

  test("and refuses what it cannot run, so the check above means something", () => {
    const verdict = keepalivedCheck(GOLDEN["keepalived-node1"].replace("interval 1\n", "interval 0.5\n"));
    expect(verdict.status).not.toBe(0);
    expect(verdict.output).toContain("invalid number '0.5'");
  });
});

describeWithTools([HAPROXY])("the check's command against the real haproxy", () => {
  const dir = tempDir("alive");
  let haproxy: ChildProcess | undefined;
  let command: string[];

  /** Exit status of the check's command. */
  const check = () =>
    new Promise<{ status: number }>((resolve) => {
      execFile(command[0], command.slice(1), (error) => resolve({ status: error ? Number(error.code) : 0 }));
    });

  beforeAll(async () => {
    // The upstreams' port is one nothing listens on: every backend is down.
    const [httpPort, statsPort, deadPort] = [await freePort(), await freePort(), await freePort()];
    const fleets = {
      backendApi: [{ name: "backend-api-1", address: "127.0.0.1" }],
      streamServer: [{ name: "stream-server-1", address: "127.0.0.1" }],
    };
    const rendered = stackHaproxyConfig({ ...DEFAULTS, httpPort, statsPort, backendApiPort: deadPort, streamServerPort: deadPort }, fleets);
    command = checkCommand(renderKeepalivedConfig(settings({ statsPort }), PAIR, "haproxy"));
    haproxy = await startHaproxy(rendered, dir, async () => (await check()).status === 0);
  });

  afterAll(() => {
    haproxy?.kill("SIGKILL");
  });

  test("passes while HAProxy answers, with every backend down and without the stats password", async () => {
    const stats = await new Promise<number>((resolve, reject) =>
      http
        .get({ host: "127.0.0.1", port: Number(new URL(command.at(-1) ?? "").port), path: "/stats", agent: false }, (r) =>
          resolve(r.statusCode ?? 0),
        )
        .on("error", reject),
    );
    expect(stats).toBe(401);
    expect((await check()).status).toBe(0);
  });

  test("fails within its deadline when HAProxy hangs, and at once when it is gone", async () => {
    // master-worker: the worker, the master's child, is what answers.
    const master = haproxy?.pid;
    const worker = Number(fs.readFileSync(`/proc/${master}/task/${master}/children`, "utf8").trim().split(" ")[0]);
    process.kill(worker, "SIGSTOP");
    const hung = await check();
    process.kill(worker, "SIGCONT");
    // 28 is curl's own --max-time expiring: the check gave up at its deadline, not at the kernel's.
    // Its wall time is not asserted: on a busy host the process start alone can take 400 ms.
    expect(hung.status).toBe(28);
    expect((await check()).status).toBe(0);

    const exited = new Promise((resolve) => haproxy?.once("exit", resolve));
    haproxy?.kill("SIGTERM");
    await exited;
    const gone = await check();
    // 7: refused at once, no time-out involved.
    expect(gone.status).toBe(7);
  });
});
