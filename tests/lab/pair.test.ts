/**
 * The HAProxy pair on the real lab, the lab stack's own shape (Pulumi.lab.yaml): the node holding
 * the virtual IP force-stopped, then frozen, then only its HAProxy stopped, under the open-loop load
 * of the other drills; then the pair scaled 2 -> 1 -> 2 by stack config. Each drill prints
 * kill-to-takeover, the requests in flight at the kill and those that failed, and the pinned
 * WebSocket's way back to the same backend.
 */
import * as fs from "fs";
import * as http from "http";
import * as nodePath from "path";
import {
  LabOutputs,
  REPO,
  answers,
  STACK,
  holdsVirtualIp,
  inFlightAt,
  incus,
  openSocket,
  outputs,
  pulumi,
  servingNode,
  steadyLoad,
  waitAllUp,
  waitFor,
} from "./harness";

jest.setTimeout(15 * 60_000);

/** Pulumi.lab.yaml's address of the pair. */
const VIRTUAL_IP = "10.77.0.200";
const LOAD_RATE = 50;
const figures: Record<string, string | number> = {};
let lab: LabOutputs;

const path = (p: string) => lab.lbUrl.replace(/\/$/, "") + p;
const holds = (container: string) => holdsVirtualIp(lab, container);
const holder = () => servingNode(lab).catch(() => "");
/** The sticky cookie a fresh client gets through the address, asked on a connection of its own. */
const sessionCookie = () =>
  new Promise<string>((resolve, reject) => {
    const request = http.get(path("/api/v1/session"), { agent: false, timeout: 5_000 }, (response) => {
      response.resume();
      resolve((response.headers["set-cookie"]?.[0] ?? "").split(";")[0]);
    });
    request.on("timeout", () => request.destroy(new Error("no answer to /api/v1/session within 5 s")));
    request.on("error", reject);
  });
const other = (container: string) => lab.haproxyContainers.find((c) => c !== container) as string;

async function up(): Promise<void> {
  await pulumi("up", "--yes", "--skip-preview");
  lab = (await outputs()) as typeof lab;
  await waitAllUp(lab, 120_000);
}

beforeAll(async () => {
  await up();
  await waitFor("the virtual IP to answer", () => answers(path("/api/v1/health")), 30_000, 100);
});

afterAll(() => {
  console.log(
    `pair figures:\n${Object.entries(figures)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join("\n")}`,
  );
});

test("the pair: two nodes, the virtual IP on one of them, the LB URL on the virtual IP", async () => {
  expect(lab.haproxyContainers).toHaveLength(2);
  expect(lab.virtualIp).toBe(VIRTUAL_IP);
  expect(lab.lbUrl).toBe(`http://${VIRTUAL_IP}/`);
  expect(await holder()).not.toBe("");
});

/** Waits until exactly one node holds the address and it answers. */
async function settled(): Promise<void> {
  await waitFor(
    "one holder of the virtual IP, answering",
    async () =>
      (await Promise.all(lab.haproxyContainers.map(holds))).filter(Boolean).length === 1 && (await answers(path("/api/v1/health"))),
    30_000,
    200,
  );
}

/**
 * Stops the VIP holder one way and measures, under load: from the moment the stop took effect
 * (the command returned) to the first answer through the address, the requests in flight at that
 * instant, those sent while the address was dark, and those that failed after the takeover (none
 * may). Then brings the node back and reports where the address went.
 */
async function drill(
  label: string,
  stop: (container: string) => Promise<void>,
  restore: (container: string) => Promise<void>,
  takeoverLimitMs: number,
  { lossAfterTakeover = false } = {},
) {
  await settled();
  const victim = await holder();
  const survivor = other(victim);
  const cookie = await sessionCookie();
  const pinned = await openSocket(lab.lbUrl, cookie);
  const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
  let takeoverAt = 0;
  let stoppedAt = 0;
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const commandAt = Date.now();
    await stop(victim);
    stoppedAt = Date.now();
    figures[`${label}: the stop command itself (ms)`] = stoppedAt - commandAt;
    await waitFor(`${survivor} holding the virtual IP`, () => holds(survivor), 10_000, 20);
    figures[`${label}: stopped to the other node holding the address (ms)`] = Date.now() - stoppedAt;
    const answered = await waitFor("an answer through the virtual IP", () => answers(path("/api/v1/health")), 10_000, 20).then(
      () => true,
      () => lossAfterTakeover || Promise.reject(new Error("no answer through the virtual IP within 10 s")),
    );
    takeoverAt = Date.now();
    figures[`${label}: stopped to first answer from the other node (ms)`] = answered ? takeoverAt - stoppedAt : "none within 10 s";

    // The socket was on the stopped node; its client reconnects through the address, cookie unchanged.
    const reconnected = await waitFor(
      "the WebSocket back on its backend",
      async () => {
        const again = await openSocket(lab.lbUrl, cookie).catch(() => undefined);
        again?.socket.close();
        return again?.servedBy === pinned.servedBy;
      },
      10_000,
      50,
    ).catch((error: Error) => (lossAfterTakeover ? `not within 10 s (${error.message})` : Promise.reject(error)));
    figures[`${label}: WebSocket back on the same backend, after the takeover (ms)`] = reconnected;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  } finally {
    const { ok, samples, keepAliveRetries } = await load.stop();
    pinned.socket.terminate();
    // Back first, whatever the figures say: the next drill and the next test file need both nodes.
    await restore(victim);
    const inFlight = inFlightAt(samples, stoppedAt);
    const dark = samples.filter((s) => s.sentAt > stoppedAt && s.sentAt < takeoverAt).length;
    const failed = samples.filter((s) => !s.ok);
    const failedAfter = failed.filter((s) => s.sentAt >= takeoverAt).map((s) => `${s.outcome} sent at ${new Date(s.sentAt).toISOString()}`);
    const outcomes = [...new Set(failed.map((s) => s.outcome))]
      .map((o) => `${o} x${failed.filter((s) => s.outcome === o).length}`)
      .join(", ");
    figures[
      `${label}: requests ok / in flight at the stop / sent while dark / failed (${outcomes || "none"}) / failed after takeover / keep-alive retries`
    ] = `${ok} / ${inFlight} / ${dark} / ${failed.length} / ${failedAfter.length} / ${keepAliveRetries}`;
    if (!lossAfterTakeover) expect(failedAfter).toEqual([]);
  }
  // What keepalived promises, the address on the other node, within the limit; the first answer
  // too, except for a frozen holder (see above).
  expect(Number(figures[`${label}: stopped to the other node holding the address (ms)`])).toBeLessThanOrEqual(takeoverLimitMs);
  if (!lossAfterTakeover) expect(takeoverAt - stoppedAt).toBeLessThanOrEqual(takeoverLimitMs);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const stayed = await holds(survivor);
  figures[`${label}: after the node came back the address stayed on the survivor`] = String(stayed);
  return { stayed };
}

test("the virtual IP holder force-stopped: the other node answers within 1 s, requests after the takeover never fail", async () => {
  const { stayed } = await drill(
    "holder force-stopped",
    (c) => incus("stop", "--force", c).then(() => undefined),
    async (c) => {
      await incus("start", c);
      await waitFor(
        `${c} HAProxy answering`,
        async () => await incus("exec", c, "--", "curl", "-fs", "-o", "/dev/null", "http://127.0.0.1:9100/alive").then(() => true),
        60_000,
        200,
      );
    },
    1_000,
  );
  // nopreempt: a node that comes back as BACKUP never takes the address back.
  expect(stayed).toBe(true);
});

// A frozen holder thaws still believing it is MASTER, with the higher priority: VRRP has it take
// the address back (nopreempt governs a BACKUP only). The figures show what that costs.
// `incus pause` freezes the container's processes, not its kernel: the frozen holder keeps the
// address on eth0 (its keepalived cannot remove it) and its kernel still answers ARP for it. Until
// the survivor's next gratuitous ARP the host may send to the frozen node again, whose kernel
// resets connections it does not know: seen as up to ~0.6 s of resets after the takeover in some
// runs, none in others. A frozen VM or a dead host answers nothing; the force-stop drill is that case.
test("the virtual IP holder frozen (incus pause): the other node takes over within 1 s", async () => {
  await drill(
    "holder frozen",
    (c) => incus("pause", c).then(() => undefined),
    (c) => incus("resume", c).then(() => undefined),
    1_000,
    { lossAfterTakeover: true },
  );
});

test("HAProxy alone stopped in the holder: the address moves within 2 s", async () => {
  const { stayed } = await drill(
    "HAProxy stopped in the holder",
    (c) => incus("exec", c, "--", "systemctl", "stop", "haproxy").then(() => undefined),
    (c) => incus("exec", c, "--", "systemctl", "start", "haproxy").then(() => undefined),
    2_000,
  );
  expect(stayed).toBe(true);
});

test("scaling 2 -> 1 -> 2 by stack config under load: the first node's own address never fails; the virtual IP's cost is counted", async () => {
  // The lab's shape is in its stack file: put back byte for byte, whatever happens here.
  const stackFile = nodePath.join(REPO, `Pulumi.${STACK}.yaml`);
  const original = fs.readFileSync(stackFile, "utf8");
  // Clients of the first node's own address (lbUrl with one node) and of the virtual IP (lbUrl with two).
  const firstNode = `http://${lab.haproxyAddresses[0]}/api/v1/items`;
  const loads = () => ({
    firstNode: steadyLoad(firstNode, LOAD_RATE),
    virtualIp: steadyLoad(`http://${VIRTUAL_IP}/api/v1/items`, LOAD_RATE),
  });
  const count = async (running: ReturnType<typeof loads>, what: string) => {
    const [first, vip] = await Promise.all([running.firstNode.stop(), running.virtualIp.stop()]);
    figures[`${what}: requests ok/failed on the first node's address`] = first.tally;
    figures[`${what}: requests ok/failed on the virtual IP`] = vip.tally;
    return first;
  };
  try {
    await pulumi("config", "rm", "veza-infra:haproxyCount");
    await pulumi("config", "rm", "veza-infra:virtualIp");
    let running = loads();
    let started = Date.now();
    await up();
    figures["scale 2 -> 1 HAProxy node (s)"] = ((Date.now() - started) / 1000).toFixed(1);
    expect((await count(running, "scale 2 -> 1")).failures).toEqual([]);
    expect(lab.haproxyContainers).toHaveLength(1);
    expect(lab.lbUrl).toBe(`http://${lab.haproxyAddress}/`);
    expect(await answers(path("/api/v1/health"))).toBe(true);
    fs.writeFileSync(stackFile, original);
    running = loads();
    started = Date.now();
    await up();
    await waitFor("the virtual IP to answer", () => answers(`http://${VIRTUAL_IP}/api/v1/health`), 30_000, 100);
    figures["scale 1 -> 2 HAProxy nodes, to the virtual IP answering (s)"] = ((Date.now() - started) / 1000).toFixed(1);
    expect((await count(running, "scale 1 -> 2")).failures).toEqual([]);
  } finally {
    if (fs.readFileSync(stackFile, "utf8") !== original) {
      fs.writeFileSync(stackFile, original);
      await up();
    }
  }
  expect(lab.haproxyContainers).toHaveLength(2);
  expect(lab.lbUrl).toBe(`http://${VIRTUAL_IP}/`);
  expect(await holder()).not.toBe("");
});
