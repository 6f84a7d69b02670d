/**
 * New releases rolled out under load, on the real lab: a compiled Go service built here (it takes a
 * second to start and stops gracefully, tests/fixtures/service), three releases in a row of each
 * fleet under 50 req/s open-loop through the virtual IP, a release that cannot start (the canary
 * goes back, the rest never run it, `up` fails with one message), the way back by putting the
 * config back, and drift: a container deleted by hand, haproxy.cfg edited by hand.
 */
import * as fs from "fs";
import * as os from "os";
import * as nodePath from "path";
import type { LoadSample } from "../../bench/load";
import { FixtureMode, buildServiceFixture } from "../fixtures/service/build";
import { LabOutputs, PinnedSocket, incus, openSocket, outputs, pulumi, run, steadyLoad, waitAllUp, waitFor } from "./harness";

jest.setTimeout(20 * 60_000);

const LOAD_RATE = 50;
const figures: Record<string, string> = {};
let lab: LabOutputs;
let builds: string;

/** Builds the fixture as `version`; `mode` crash exits at once, as a program missing a setting does. */
const fixture = (version: string, mode: FixtureMode = "serve") => buildServiceFixture(builds, version, mode);

const config = (key: string, value: string) => pulumi("config", "set", `veza-infra:${key}`, value);
const unset = (key: string) => pulumi("config", "rm", `veza-infra:${key}`);
const url = (path: string) => lab.lbUrl.replace(/\/$/, "") + path;

/** Per second of the run: how many answers, and from which releases, e.g. "12:04:05 v1×24 v2×25". */
function versionsPerSecond(samples: LoadSample[]): string[] {
  const seconds = new Map<number, Map<string, number>>();
  for (const s of samples.filter((s) => s.ok)) {
    const second = Math.floor(s.at / 1000);
    const counts = seconds.get(second) ?? new Map<string, number>();
    counts.set(s.version ?? "stand-in", (counts.get(s.version ?? "stand-in") ?? 0) + 1);
    seconds.set(second, counts);
  }
  return [...seconds.entries()]
    .sort(([a], [b]) => a - b)
    .map(
      ([second, counts]) => `${new Date(second * 1000).toISOString().slice(11, 19)} ${[...counts].map(([v, n]) => `${v}×${n}`).join(" ")}`,
    );
}

/** Seconds between the first and last request with no answer at all (a second with no server). */
function silentSeconds(samples: LoadSample[]): number {
  const answered = new Set(samples.filter((s) => s.ok).map((s) => Math.floor(s.at / 1000)));
  const first = Math.floor(samples[0].sentAt / 1000);
  const last = Math.floor(samples[samples.length - 1].sentAt / 1000);
  let silent = 0;
  for (let second = first + 1; second < last; second++) if (!answered.has(second)) silent++;
  return silent;
}

/**
 * WebSocket clients that reconnect once, with their cookie, whenever their socket closes: what a
 * browser client does. Counts the reconnects and where each landed.
 */
function reconnectingSockets(count: number): { stop(): Promise<{ reconnects: number; failed: number }> } {
  let stopped = false;
  let reconnects = 0;
  let failed = 0;
  const open: PinnedSocket[] = [];
  const keep = async (cookie: string): Promise<void> => {
    let socket: PinnedSocket;
    try {
      socket = await openSocket(lab.lbUrl, cookie);
    } catch {
      failed++;
      return;
    }
    open.push(socket);
    void socket.closed.then(() => {
      if (stopped) return;
      reconnects++;
      void keep(socket.cookie);
    });
  };
  const started = Promise.all(Array.from({ length: count }, () => keep("")));
  return {
    async stop() {
      await started;
      stopped = true;
      for (const socket of open) socket.socket.terminate();
      return { reconnects, failed };
    },
  };
}

async function up(): Promise<string> {
  return pulumi("up", "--yes", "--skip-preview");
}

beforeAll(async () => {
  builds = fs.mkdtempSync(nodePath.join(os.tmpdir(), "veza-fixture-"));
  lab = await outputs();
  await waitAllUp(lab, 120_000);
});

afterAll(async () => {
  for (const key of ["backendApiBinaryPath", "streamServerBinaryPath", "backendApiCanarySeconds", "streamServerCanarySeconds"]) {
    await unset(key).catch(() => undefined);
  }
  await up().catch(() => undefined);
  fs.rmSync(builds, { recursive: true, force: true });
  console.log(
    `rollout figures:\n${Object.entries(figures)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join("\n")}`,
  );
});

test("backend-api rolls v1 -> v2 -> v3 under 50 req/s: no request fails, never a second with no server", async () => {
  await config("backendApiCanarySeconds", "3");
  const releases = ["v1", "v2", "v3"].map((version) => [version, fixture(version)] as const);
  const sockets = reconnectingSockets(4);
  const load = steadyLoad(url("/api/v1/items"), LOAD_RATE);
  const logs: string[] = [];
  for (const [version, binary] of releases) {
    await config("backendApiBinaryPath", binary);
    const started = Date.now();
    const output = await up();
    logs.push(...output.split("\n").filter((line) => /rolled in|canary healthy/.test(line)));
    figures[`backend-api rollout to ${version} (pulumi up, s)`] = ((Date.now() - started) / 1000).toFixed(1);
    lab = await outputs();
    const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(url("/api/v1/items")).then((r) => r.headers.get("x-version"))));
    expect(new Set(answers)).toEqual(new Set([version]));
  }
  const { ok, failures, tally, samples } = await load.stop();
  const { reconnects, failed } = await sockets.stop();
  figures["backend-api three rollouts, ok/failed"] = tally;
  figures["backend-api WebSocket reconnects (4 sockets, 3 rollouts), failed reconnects"] = `${reconnects}, ${failed}`;
  figures["backend-api seconds with no answer"] = String(silentSeconds(samples));
  figures["backend-api instance steps"] = logs.map((l) => l.replace(/^.*?(backend-api-\d)/, "$1")).join(" | ");
  console.log(`backend-api answers per second and release:\n  ${versionsPerSecond(samples).join("\n  ")}`);
  expect(failures).toEqual([]);
  expect(ok).toBeGreaterThan(0);
  expect(silentSeconds(samples)).toBe(0);
  expect(failed).toBe(0);
  // Each socket is moved at most once per instance rolled under it: 2 instances x 3 rollouts.
  expect(reconnects).toBeLessThanOrEqual(4 * 2 * 3);
});

test("stream-server rolls v1 -> v2 -> v3 under load; only the rolled server's share of the hash ring moves, and it comes back", async () => {
  await config("streamServerCanarySeconds", "3");
  const ids = Array.from({ length: 60 }, (_, i) => `/hls/track-${i}/segment.ts`);
  const owners = async () =>
    new Map(await Promise.all(ids.map(async (id) => [id, (await fetch(url(id))).headers.get("x-served-by") ?? ""] as const)));
  for (const [index, version] of ["v1", "v2", "v3"].entries()) {
    await config("streamServerBinaryPath", fixture(version));
    const before = await owners();
    // Who serves each id while the rollout runs, polled in a loop beside the steady load.
    const moved = new Map<string, Set<string>>();
    let rolling = true;
    const poll = (async () => {
      while (rolling) {
        for (const [id, owner] of await owners()) {
          if (owner !== before.get(id)) moved.set(id, (moved.get(id) ?? new Set()).add(`${before.get(id)} -> ${owner}`));
        }
      }
    })();
    const load = steadyLoad(url("/hls/steady/segment.ts"), LOAD_RATE);
    await up();
    rolling = false;
    await poll;
    const { failures, tally } = await load.stop();
    const after = await owners();
    figures[`stream-server rollout ${index + 1} (to ${version}), ok/failed`] = tally;
    figures[`stream-server rollout ${index + 1}: ids of ${ids.length} that moved while an instance was out`] = String(moved.size);
    expect(failures).toEqual([]);
    // Only ids whose owner was out moved, and each to the other server; every id is back after.
    for (const transitions of moved.values()) {
      for (const transition of transitions) expect(transition.split(" -> ")[0]).not.toBe(transition.split(" -> ")[1]);
    }
    // Back in rotation, a server takes its share back as its slow start ramps its weight up.
    const back = await waitFor(
      "every id back on its owner",
      async () => JSON.stringify([...(await owners())]) === JSON.stringify([...before]),
      90_000,
      500,
    );
    figures[`stream-server rollout ${index + 1}: every id back on its owner, s after up`] = (back / 1000).toFixed(1);
    figures[`stream-server rollout ${index + 1}: ids moved right after up`] = String(
      [...after].filter(([id, owner]) => before.get(id) !== owner).length,
    );
  }
});

/**
 * Two ways a release cannot serve: it exits at start (a missing setting), or it runs and never
 * answers its health check (a dependency it cannot reach; the start time-out is 10 s here).
 */
test.each([
  [
    "exits at start",
    "crash",
    /veza-backend-api exited \d+ times since it was started: it cannot start/,
    "journal: fatal: VEZA_DATABASE_URL is not set",
  ],
  [
    "never answers its health check",
    "unhealthy",
    /veza-backend-api did not answer \/api\/v1\/health on port 8080 within 10 s/,
    "journal: listening 8080 version broken",
  ],
] as const)(
  "a release that %s stops at the canary: no request fails, the fleet keeps its release, one clear message",
  async (what, mode, reason, evidence) => {
    const good = (await pulumi("config", "get", "veza-infra:backendApiBinaryPath")).trim();
    await config("backendApiBinaryPath", fixture("broken", mode));
    if (mode === "unhealthy") await config("backendApiStartTimeoutSeconds", "10");
    try {
      await brokenRelease(what, reason, evidence);
    } finally {
      // The way back: the config as it was, and one `up`; then nothing left to change.
      await config("backendApiBinaryPath", good);
      await unset("backendApiStartTimeoutSeconds");
    }
    await up();
    await pulumi("preview", "--expect-no-changes");
  },
);

async function brokenRelease(what: string, reason: RegExp, evidence: string): Promise<void> {
  const load = steadyLoad(url("/api/v1/items"), 20);
  const failure = await up().then(
    () => "",
    (error: Error) => error.message,
  );
  const { failures, tally } = await load.stop();
  figures[`release that ${what}, under 20 req/s, ok/failed`] = tally;
  expect(failure).toContain('running "rollout of backend-api"');
  expect(failure).toContain("The rollout of backend-api stopped.");
  expect(failure).toContain("backend-api-1: the new release did not start:");
  expect(failure).toContain(evidence);
  expect(failure).toMatch(reason);
  expect(failure).toContain("backend-api-1 is back on its previous release and serving.");
  expect(failure).toContain("Never ran it: backend-api-2.");
  // No script text in the message: the label stands where the provider would quote the script.
  const diagnostics = failure.slice(failure.indexOf("command:local:Command (backend-api-rollout-step):"), failure.indexOf("Outputs:"));
  expect(diagnostics).not.toMatch(/on_nodes|\$VEZA_|incus exec/);
  figures[`release that ${what}: the rollout step's error`] = `${diagnostics.split("\n").length} lines`;
  expect(failures).toEqual([]);
  await waitAllUp(lab, 60_000);
  const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(url("/api/v1/items")).then((r) => r.headers.get("x-version"))));
  expect(new Set(answers)).toEqual(new Set(["v3"]));
}

test("drift is shown by the preview and repaired by the next up: haproxy.cfg edited by hand, then a container deleted by hand", async () => {
  await incus("exec", lab.haproxyContainers[0], "--", "sh", "-c", "echo '# edited by hand' >> /etc/haproxy/haproxy.cfg");
  expect(await pulumi("preview", "--diff")).toContain("/etc/haproxy/haproxy.cfg was changed by hand");
  let started = Date.now();
  await up();
  figures["haproxy.cfg edited by hand: repaired by up, s"] = ((Date.now() - started) / 1000).toFixed(1);
  expect(await incus("exec", lab.haproxyContainers[0], "--", "cat", "/etc/haproxy/haproxy.cfg")).not.toContain("# edited by hand");
  await pulumi("preview", "--expect-no-changes");

  const [, second] = lab.backendApiContainers;
  await incus("delete", "--force", second);
  expect(await pulumi("preview", "--diff")).toContain("the container is missing");
  started = Date.now();
  await up();
  figures["a backend container deleted by hand: re-created by up, to every server UP, s"] = ((Date.now() - started) / 1000).toFixed(1);
  lab = await outputs();
  await waitAllUp(lab, 120_000);
  await waitFor(
    "the load balancer answering",
    async () => (await run("curl", ["-fsS", "-o", "/dev/null", url("/api/v1/health")])) === "",
    30_000,
  );
  await pulumi("preview", "--expect-no-changes");
});
