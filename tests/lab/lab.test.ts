/**
 * The lab end to end, on real Incus containers with the real Pulumi engine and real HAProxy: the
 * seed's failover drill (steps 0-5) and more, config edits, drain, scaling, idempotence, destroy
 * and an interrupted `up`. One lab serves the whole file; tests run in order.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as nodePath from "path";
import {
  LabOutputs,
  admin,
  get,
  incus,
  killExposure,
  openSocket,
  outputs,
  pulumi,
  run,
  serverStats,
  serverStatus,
  servingNode,
  statusOnEveryNode,
  steadyLoad,
  waitAllUp,
  waitFor,
} from "./harness";

jest.setTimeout(15 * 60_000);

/** Figures the closing note and the README quote; printed as one block at the end. */
const figures: Record<string, string | number> = {};
let lab: LabOutputs;

const LOAD_RATE = 50;
const path = (p: string) => lab.lbUrl.replace(/\/$/, "") + p;
const containerOf = (server: string) =>
  lab.backendApiContainers.concat(lab.streamServerContainers).find((c) => c.endsWith(server)) ?? server;

/** Asks the LB until it answers from `server`, and returns the sticky cookie that pins a client to it. */
async function cookieFor(server: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const response = await get(path("/api/v1/session"));
    if (response.servedBy === containerOf(server)) return response.setCookie.split(";")[0];
  }
  throw new Error(`the load balancer never answered from ${server}`);
}

const equalMaps = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

async function upAndMeasure(label: string): Promise<void> {
  const started = Date.now();
  await pulumi("up", "--yes", "--skip-preview");
  lab = await outputs();
  await waitAllUp(lab, 120_000);
  figures[label] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

beforeAll(async () => {
  await upAndMeasure("pulumi up of the lab, to every server UP (s)");
});

afterAll(() => {
  console.log(
    `lab figures:\n${Object.entries(figures)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join("\n")}`,
  );
});

test("the stack outputs name every container and address", () => {
  expect(lab.backendApiContainers).toHaveLength(2);
  expect(lab.streamServerContainers).toHaveLength(2);
  expect(lab.backendApiAddresses.every((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))).toBe(true);
  expect(lab.lbUrl).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+\/$/);
  expect(lab.statsPassword).toMatch(/^[0-9A-Za-z]{40}$/);
});

test("the units are hardened as measured by systemd-analyze security inside the containers", async () => {
  const exposure = async (container: string, unit: string) => {
    const report = await run("incus", ["exec", container, "--", "systemd-analyze", "security", "--no-pager", unit]);
    const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(report)?.[1]);
    figures[`systemd-analyze security ${unit}`] = score;
    return score;
  };
  expect(await exposure(lab.backendApiContainers[0], "veza-backend-api.service")).toBeLessThanOrEqual(1.5);
  expect(await exposure(lab.streamServerContainers[0], "veza-stream-server.service")).toBeLessThanOrEqual(1.5);
  for (const node of lab.haproxyContainers) expect(await exposure(node, "haproxy.service")).toBeLessThanOrEqual(4);
});

test("backend-api failover drill: no failed request, the pinned WebSocket reconnects to the survivor", async () => {
  // Step 0: both backends UP.
  expect(await serverStatus(lab, "api_pool", "backend-api-1")).toBe("UP");
  expect(await serverStatus(lab, "api_pool", "backend-api-2")).toBe("UP");
  // Step 1: baseline requests.
  for (let i = 0; i < 5; i++) expect((await get(path("/api/v1/health"))).status).toBe(200);

  const cookie = await cookieFor("backend-api-1");
  const pinned = await openSocket(lab.lbUrl, cookie);
  expect(pinned.servedBy).toBe(containerOf("backend-api-1"));
  // The socket stays on its backend while that backend lives.
  for (let i = 0; i < 3; i++) {
    const echo = new Promise<string>((resolve) => pinned.socket.once("message", (data) => resolve(data.toString())));
    pinned.socket.send(`ping ${i}`);
    expect(await echo).toBe(`ping ${i}`);
  }
  const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
  let killedAt = 0;
  let downAt = 0;
  try {
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    // Step 2: kill backend-api-1.
    killedAt = Date.now();
    await incus("stop", "--force", containerOf("backend-api-1"));
    // Step 3: HAProxy marks it DOWN; the pinned socket is closed and reconnects, stale cookie and all.
    const reconnected = (async () => {
      await pinned.closed;
      for (;;) {
        const again = await openSocket(lab.lbUrl, cookie).catch(() => undefined);
        if (again) {
          again.socket.close();
          return { servedBy: again.servedBy, ms: Date.now() - killedAt };
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await waitFor("backend-api-1 DOWN", async () => (await serverStatus(lab, "api_pool", "backend-api-1")) === "DOWN", 30_000, 20);
    downAt = Date.now();
    figures["backend-api kill to DOWN (ms)"] = downAt - killedAt;
    const socket = await reconnected;
    figures["backend-api kill to WebSocket reconnected (ms)"] = socket.ms;
    expect(socket.servedBy).toBe(containerOf("backend-api-2"));

    // Step 4: requests during the down window are served by the survivor.
    for (let i = 0; i < 5; i++) {
      const response = await get(path("/api/v1/health"), { Cookie: cookie });
      expect(response.status).toBe(200);
      expect(response.servedBy).toBe(containerOf("backend-api-2"));
    }
    // Step 5: the container comes back and rejoins UP.
    await incus("start", containerOf("backend-api-1"));
    await waitFor("backend-api-1 UP", async () => (await serverStatus(lab, "api_pool", "backend-api-1")) === "UP", 60_000);
  } finally {
    const result = await load.stop();
    figures["backend-api drill requests ok/failed"] = `${result.tally}; ${killExposure(result.samples, killedAt, downAt)}`;
    expect(result.ok).toBeGreaterThan(LOAD_RATE * 3);
    expect(result.failures).toEqual([]);
  }
});

test("stream-server failover: the dead node's track ids move, the others stay, no failed request", async () => {
  const tracks = Array.from({ length: 40 }, (_, i) => `/hls/track-${i}/index.m3u8`);
  const placement = async () => new Map(await Promise.all(tracks.map(async (t) => [t, (await get(path(t))).servedBy] as const)));
  // A rollout just before (rollout.test.ts, when jest runs it first) leaves stream-servers ramping
  // up under slow start, and a ramping server's share of the ring grows: the placement to come back
  // to is the one with every server UP at full weight (no throttle) on every node.
  await waitFor(
    "every stream-server UP at full weight on every node",
    async () => {
      for (const container of lab.haproxyContainers) {
        const rows = [...(await serverStats(lab, container)).entries()].filter(([key]) => key.startsWith("stream_pool/"));
        if (rows.length === 0 || rows.some(([, row]) => row.status !== "UP" || row.throttle !== "")) return false;
      }
      return true;
    },
    120_000,
    500,
  );
  const before = await placement();
  const victim = containerOf("stream-server-1");
  const victimTrack = tracks.find((t) => before.get(t) === victim);
  expect(victimTrack).toBeDefined();
  const load = steadyLoad(path(victimTrack as string), LOAD_RATE);
  let killedAt = 0;
  let downAt = 0;
  try {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    killedAt = Date.now();
    await incus("stop", "--force", victim);
    await waitFor("stream-server-1 DOWN", async () => (await serverStatus(lab, "stream_pool", "stream-server-1")) === "DOWN", 30_000, 20);
    downAt = Date.now();
    figures["stream-server kill to DOWN (ms)"] = downAt - killedAt;
    const during = await placement();
    for (const track of tracks) {
      if (before.get(track) === victim) expect(during.get(track)).not.toBe(victim);
      else expect(during.get(track)).toBe(before.get(track));
    }
    await incus("start", victim);
    await waitFor("stream-server-1 UP", async () => (await serverStatus(lab, "stream_pool", "stream-server-1")) === "UP", 60_000);
    // Slow start ramps the returning server's weight, and with it its share of the hash ring: its
    // track ids come back as the ramp ends, not at once.
    const rampMs = await waitFor("the original track placement", async () => equalMaps(await placement(), before), 60_000, 1_000);
    figures["stream-server UP to original placement (ms)"] = rampMs;
  } finally {
    const result = await load.stop();
    figures["stream-server drill requests ok/failed"] = `${result.tally}; ${killExposure(result.samples, killedAt, downAt)}`;
    expect(result.failures).toEqual([]);
  }
});

test("a health value edit previews as one HAProxy config update and goes live with no failed request", async () => {
  await pulumi("config", "set", "veza-infra:healthCheckFall", "3");
  try {
    const preview = await pulumi("preview", "--diff");
    figures["preview of healthCheckFall 2 -> 3"] = `\n${preview
      .split("\n")
      .map((l) => `      ${l}`)
      .join("\n")}`;
    expect(preview).toMatch(/1 to update/);
    expect(preview).not.toMatch(/to replace|to create|to delete/);
    // One node applies it as haproxy-config; the pair rolls it over both nodes as haproxy-pair-config.
    expect(preview).toMatch(/haproxy(-pair)?-config/);
    const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
    try {
      await pulumi("up", "--yes", "--skip-preview");
    } finally {
      const result = await load.stop();
      figures["config edit reload requests ok/failed"] = result.tally;
      expect(result.failures).toEqual([]);
    }
    for (const node of lab.haproxyContainers) {
      const stats = await serverStats(lab, node);
      // api_ws's servers run no checks of their own: they track api_pool's.
      const checked = [...stats.values()].filter((row) => row.pxname !== "api_ws");
      expect(checked.every((row) => row.check_fall === "3")).toBe(true);
    }
  } finally {
    await pulumi("config", "rm", "veza-infra:healthCheckFall");
    await pulumi("up", "--yes", "--skip-preview");
  }
});

// One reload per `up` rarely hits the race between a client reusing an idle keep-alive connection
// and the old worker closing it; twenty in a row do (before idle-close-on-response: 40 resets in 30).
test("twenty hitless reloads under load lose no request", async () => {
  const reloads = 20;
  // The node the load goes through: with the pair, the one holding the virtual IP.
  const node = await servingNode(lab);
  const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
  try {
    for (let i = 0; i < reloads; i++) {
      await incus("exec", node, "--", "systemctl", "reload", "haproxy");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    const result = await load.stop();
    figures[`${reloads} reloads, requests ok/failed`] = result.tally;
    expect(result.failures).toEqual([]);
  }
});

test("a drain list puts servers in drain on every HAProxy node, keeps them drained across reloads, and readies them when removed", async () => {
  const drained = lab.haproxyContainers.map(() => "DRAIN");
  try {
    await pulumi("config", "set", "--path", "veza-infra:drainServers[0]", "backend-api-2");
    await pulumi("up", "--yes", "--skip-preview");
    expect(await statusOnEveryNode(lab, "api_pool", "backend-api-2")).toEqual(drained);
    // A later reload (another setting changes) keeps it drained.
    await pulumi("config", "set", "veza-infra:healthCheckRise", "3");
    await pulumi("up", "--yes", "--skip-preview");
    expect(await statusOnEveryNode(lab, "api_pool", "backend-api-2")).toEqual(drained);
    for (let i = 0; i < 10; i++) expect((await get(path("/api/v1/items"))).servedBy).toBe(containerOf("backend-api-1"));
  } finally {
    await pulumi("config", "rm", "veza-infra:drainServers");
    await pulumi("config", "rm", "veza-infra:healthCheckRise");
    await pulumi("up", "--yes", "--skip-preview");
  }
  expect(await statusOnEveryNode(lab, "api_pool", "backend-api-2")).toEqual(lab.haproxyContainers.map(() => "UP"));
});

test("scaling 2 -> 3 -> 2 by stack config: new servers take traffic, removed ones go, no failed request", async () => {
  const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
  let third = "";
  try {
    await pulumi("config", "set", "veza-infra:backendApiCount", "3");
    await pulumi("config", "set", "veza-infra:streamServerCount", "3");
    await upAndMeasure("scale-out 2 -> 3 (s)");
    expect(lab.backendApiContainers).toHaveLength(3);
    third = containerOf("backend-api-3");
    const served = new Set<string>();
    for (let i = 0; i < 30; i++) served.add((await get(path("/api/v1/items"))).servedBy);
    expect(served.has(third)).toBe(true);
  } finally {
    await pulumi("config", "rm", "veza-infra:backendApiCount");
    await pulumi("config", "rm", "veza-infra:streamServerCount");
    await upAndMeasure("scale-in 3 -> 2 (s)");
  }
  const result = await load.stop();
  figures["scaling requests ok/failed"] = result.tally;
  expect(result.failures).toEqual([]);
  const names = (await incus("list", "-c", "n", "-f", "csv")).split("\n");
  expect(names).not.toContain(third);
  expect(lab.backendApiContainers).toHaveLength(2);
});

test("TLS: HTTPS serves and HTTP redirects; a PEM HAProxy rejects fails the up with its message and never goes live", async () => {
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "veza-tls-"));
  const pem = nodePath.join(dir, "veza.pem");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=veza.lab",
    "-keyout",
    `${pem}.key`,
    "-out",
    `${pem}.crt`,
  ]);
  fs.writeFileSync(pem, fs.readFileSync(`${pem}.crt`, "utf8") + fs.readFileSync(`${pem}.key`, "utf8"));
  const https = `https://${lab.haproxyAddress}/api/v1/health`;
  const curl = (...args: string[]) =>
    run("curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--max-time", "5", ...args]);
  try {
    await pulumi("config", "set", "veza-infra:tlsCertPath", pem);
    await pulumi("up", "--yes", "--skip-preview");
    expect(await curl(https)).toBe("200");
    expect(await curl(`http://${lab.haproxyAddress}/api/v1/items`)).toBe(`301 https://${lab.haproxyAddress}/api/v1/items`);
    const liveHash = await pulumi("stack", "output", "haproxyConfigHash");

    // Looks like a PEM to validation, but HAProxy cannot load it.
    const corrupt = nodePath.join(dir, "corrupt.pem");
    fs.writeFileSync(
      corrupt,
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    );
    await pulumi("config", "set", "veza-infra:tlsCertPath", corrupt);
    const failure = await pulumi("up", "--yes", "--skip-preview").then(
      () => "no error",
      (error: Error) => error.message,
    );
    // The pair tries the node without the virtual IP first, and stops there.
    expect(failure).toMatch(/HAProxy in lab-haproxy(-2)? rejected the new configuration; the live one keeps serving\./);
    expect(failure).toMatch(/ALERT/);
    figures["pulumi up with a PEM HAProxy rejects"] =
      failure
        .split("\n")
        .find((line) => line.includes("[ALERT]"))
        ?.trim() ?? "";
    expect(await curl(https)).toBe("200");
    for (const node of lab.haproxyContainers) {
      const live = await run("incus", ["exec", node, "--", "sha256sum", "/etc/haproxy/haproxy.cfg"]);
      expect(live.split(" ")[0]).toBe(liveHash);
    }
  } finally {
    await pulumi("config", "rm", "veza-infra:tlsCertPath");
    await pulumi("up", "--yes", "--skip-preview");
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect((await get(path("/api/v1/health"))).status).toBe(200);
});

test("a second up has nothing to change", async () => {
  await pulumi("preview", "--expect-no-changes");
});

test("destroy removes every container; an up interrupted midway converges on the next run", async () => {
  const ours = async () => {
    const names = (await incus("list", "-c", "n", "-f", "csv")).split("\n").filter(Boolean);
    const expected = [...lab.haproxyContainers, ...lab.backendApiContainers, ...lab.streamServerContainers];
    return names.filter((n) => expected.includes(n));
  };
  const made = [...lab.haproxyContainers, ...lab.backendApiContainers, ...lab.streamServerContainers];
  await pulumi("destroy", "--yes", "--skip-preview");
  expect(await ours()).toEqual([]);
  await upAndMeasure("empty to every server UP (s)");
  expect(new Set(await ours())).toEqual(new Set(made));
  await pulumi("destroy", "--yes", "--skip-preview");
  expect(await ours()).toEqual([]);

  // Interrupt an `up` (SIGINT, as Ctrl-C does) once the first container exists.
  const up = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive"], { stdio: "ignore" });
  const finished = new Promise((resolve) => up.on("exit", resolve));
  await waitFor("a first container", async () => (await ours()).length > 0 || up.exitCode !== null, 300_000, 200);
  up.kill("SIGINT");
  await finished;
  await upAndMeasure("up after an interrupted up (s)");
  expect(new Set(await ours())).toEqual(new Set(made));
  await pulumi("preview", "--expect-no-changes");
  expect(await admin(lab, "show info")).toMatch(/Pid:/);
});
