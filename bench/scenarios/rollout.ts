/**
 * Scenario 12: a new version of backend-api shipped under a steady load, three ways side by side in
 * one run, on 2 and then 6 backends, each from the same starting point (every server UP at full
 * weight, one release everywhere) and each to a release of its own (the Go fixture,
 * tests/fixtures/service, built as v1, v2, ...):
 *
 * - `project`: `veza-infra:backendApiBinaryPath` set to the new build and `pulumi up`; the
 *   FleetRollout drains, restarts and waits for UP instance by instance, canary first (watched
 *   backendApiCanarySeconds, default 10 s), all its settings at their defaults.
 * - `allAtOnce`: what every deploy did before the rollout existed: each instance's program swapped
 *   and its service restarted at the same moment, no drain (incus directly, not Pulumi).
 * - `runbook`: the seed's Operations section done by a script, one server at a time: `state drain`
 *   on every HAProxy node, the seed's graceful drain wait (30 s), the program swapped and
 *   `systemctl restart veza-backend-api`, `state ready`. As the seed writes it, `ready` follows
 *   the restart at once, without waiting for the service or HAProxy's checks.
 *
 * Per instance, each figure is set against a floor: the drain wait it had, plus the fixture's own
 * stop and start (a `systemctl restart` until its health check answers, measured in a container of
 * the same fleet), plus HAProxy's rise checks (healthCheckRise x healthCheckIntervalMs).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { API_POOL } from "../../components/haproxy/haproxyConfig";
import { servicePaths } from "../../components/services/serviceInstance";
import { DEFAULTS, SEED_DEFAULTS } from "../../stack/settings";
import { buildServiceFixture } from "../../tests/fixtures/service/build";
import { admin, incus, statusOnEveryNode, waitFor } from "../../tests/lab/harness";
import { ours, pulumi, serverName, sleep } from "../env";
import { BASE, Lb } from "../lb";
import { LoadSummary, underLoad } from "../measure";

/** Fleet sizes of backend-api measured, in this order (the stack scales out in between). */
export const ROLLOUT_SIZES = [2, 6] as const;
export const VARIANTS = ["project", "allAtOnce", "runbook"] as const;
export type Variant = (typeof VARIANTS)[number];
/** Times the fixture's stop and start is measured per fleet size; the median is the floor's. */
export const STOP_START_RUNS = 3;
/** HAProxy's rise checks once a server answers again: what every instance waits at least. */
export const RISE_MS = DEFAULTS.healthCheckRise * DEFAULTS.healthCheckIntervalMs;
/** The seed's wait between `state drain` and the restart (haproxy_graceful_drain_seconds). */
export const RUNBOOK_DRAIN_MS = SEED_DEFAULTS.gracefulDrainSeconds * 1000;
/** The stack keys the scenario sets; removed again when it ends. */
export const ROLLOUT_KEYS = ["backendApiBinaryPath"];

const SERVICE = "backend-api";
const UNIT = `veza-${SERVICE}`;
const PROGRAM = servicePaths(SERVICE, SERVICE).program;
/** Where a new program waits in the container before it is moved over the running one (a rename: a running binary cannot be written). */
const INCOMING = `${PROGRAM}.bench-incoming`;

/** One instance's part of a rollout: what it took, its drain wait, and the floor it is set against. */
export interface InstanceTiming {
  server: string;
  ms: number;
  drainMs: number;
  floorMs: number;
  ratio: number;
}

export interface VariantRun extends LoadSummary {
  from: string;
  to: string;
  /** The whole rollout: `pulumi up`; the push and restarts until every server is UP; the runbook's loop. */
  actionMs: number;
  instances: InstanceTiming[];
  medianRatio: number;
  /** The release every server answered with after the window (should be `to`). */
  answeredAfter: string[];
  /** `project`: the canary's watch inside actionMs; others 0. */
  canaryMs: number;
}

export interface SizeRun {
  backends: number;
  /** The fixture's `systemctl restart` until its health check answers, in ms, each run. */
  stopStartRunsMs: number[];
  stopStartMs: number;
  variants: Partial<Record<Variant, VariantRun>>;
}

export interface RolloutResult {
  riseMs: number;
  runbookDrainMs: number;
  canarySeconds: number;
  drainTimeoutSeconds: number;
  sizes: SizeRun[];
}

/** The rollout script's line per instance (components/services/rolloutScripts.ts), in seconds. */
export interface RolledLine {
  server: string;
  rolledS: number;
  drainS: number;
  stopStartS: number;
  upS: number;
}

/** Every "backend-api-N: rolled in X s (drain A s, stop and start B s, UP on every node C s)" in `pulumi up`'s output, each instance once. */
export function parseRolledLines(output: string): RolledLine[] {
  const found = new Map<string, RolledLine>();
  const line = /([\w-]+): rolled in ([\d.]+) s \(drain ([\d.]+) s, stop and start ([\d.]+) s, UP on every node ([\d.]+) s\)/g;
  for (const m of output.matchAll(line)) {
    found.set(m[1], { server: m[1], rolledS: Number(m[2]), drainS: Number(m[3]), stopStartS: Number(m[4]), upS: Number(m[5]) });
  }
  return [...found.values()];
}

/** Median (mean of the two middle values for an even count); NaN when empty. */
export function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** An instance's time against its floor: drain wait + the fixture's stop and start + rise checks. */
export function instanceTiming(server: string, ms: number, drainMs: number, stopStartMs: number, riseMs: number): InstanceTiming {
  const floorMs = drainMs + stopStartMs + riseMs;
  return { server, ms, drainMs, floorMs, ratio: ms / floorMs };
}

/** The project's instances from `pulumi up`'s output: the measured drain is each one's drain wait. */
export function projectTimings(output: string, stopStartMs: number, riseMs: number): InstanceTiming[] {
  return parseRolledLines(output).map((l) => instanceTiming(l.server, l.rolledS * 1000, l.drainS * 1000, stopStartMs, riseMs));
}

/**
 * Inside a backend container, with arguments: the new program to move over the running one ("" for
 * none), port, health path, and `wait` or `nowait`. Prints the milliseconds from the restart until
 * the health check answers (`wait`; fails after 30 s), or until `systemctl restart` returned.
 */
const RESTART = `set -e
[ -z "$1" ] || mv "$1" ${PROGRAM}
start=$(date +%s%N)
systemctl restart ${UNIT}
if [ "$4" = wait ]; then
  tries=0
  until curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$2$3"; do
    tries=$((tries + 1)); [ "$tries" -lt 600 ] || { echo "${UNIT} did not answer $3 within 30 s" >&2; exit 1; }
    sleep 0.05
  done
fi
echo $((($(date +%s%N) - start) / 1000000))`;

/** Restarts the service in `container` (after moving `incoming` in place, when given); the in-container milliseconds RESTART prints. */
async function restart(container: string, incoming: string, waitHealthy: boolean): Promise<number> {
  const out = await incus(
    "exec",
    ours(container),
    "--",
    "sh",
    "-c",
    RESTART,
    "sh",
    incoming,
    String(DEFAULTS.backendApiPort),
    DEFAULTS.backendApiHealthPath,
    waitHealthy ? "wait" : "nowait",
  );
  return Number(out.trim().split("\n").pop());
}

const push = (binary: string, container: string) =>
  incus("file", "push", "--quiet", "--mode", "0755", binary, `${ours(container)}${INCOMING}`);

/** `set server api_pool/<server> state <state>` on every HAProxy node at once (the seed's runbook line). */
async function setState(lb: Lb, server: string, state: "drain" | "ready" | "maint"): Promise<void> {
  await Promise.all(
    lb.out.haproxyContainers.map(async (node) => {
      const answer = await admin(lb.out, `set server ${API_POOL}/${server} state ${state}`, node);
      if (answer.trim() !== "") throw new Error(`set server ${server} state ${state} on ${node}: ${answer}`);
    }),
  );
}

const upOnEveryNode = (lb: Lb, server: string) =>
  waitFor(
    `${server} UP on every HAProxy node`,
    async () => (await statusOnEveryNode(lb.out, API_POOL, server)).every((s) => s === "UP"),
    60_000,
    100,
  );

/**
 * The fixture's stop and start as systemd and the program take it, on the first instance held in
 * maintenance (no client is sent there meanwhile): the least any rollout can spend restarting.
 */
async function measureStopStart(lb: Lb): Promise<number[]> {
  const container = lb.out.backendApiContainers[0];
  const server = serverName(container);
  await setState(lb, server, "maint");
  const runs: number[] = [];
  try {
    for (let i = 0; i < STOP_START_RUNS; i++) runs.push(await restart(container, "", true));
  } finally {
    await setState(lb, server, "ready");
  }
  await lb.waitServing();
  return runs;
}

/** The releases every server answers with now, through the LB (sorted, each once). */
async function answering(lb: Lb): Promise<string[]> {
  const versions = await Promise.all(
    Array.from({ length: 4 * lb.out.backendApiContainers.length }, () =>
      fetch(lb.url("/api/v1/items"), { signal: AbortSignal.timeout(5_000) }).then((r) => r.headers.get("x-version") ?? "none"),
    ),
  );
  return [...new Set(versions)].sort();
}

const setBinary = (binary: string) => pulumi("config", "set", "veza-infra:backendApiBinaryPath", binary);

/**
 * After a rollout done by hand (all at once, or the runbook), the stack is told: the config names
 * the program now live, and `pulumi up` finds each instance already running it (its deploy step
 * stages an identical file, which is dropped, and the rollout has nothing to roll). Without this,
 * the next preview would see every instance's program as drift and the next variant's `up` would
 * first put the old one back.
 */
async function adopt(binary: string): Promise<void> {
  await setBinary(binary);
  const output = await pulumi("up", "--yes", "--skip-preview");
  if (/rolled in/.test(output)) throw new Error(`pulumi up rolled instances after a rollout by hand:\n${output}`);
}

async function variant(
  lb: Lb,
  from: string,
  to: string,
  action: () => Promise<{ instances: InstanceTiming[]; canaryMs?: number }>,
): Promise<VariantRun> {
  const { value, ...load } = await underLoad(lb.url("/api/v1/items"), action);
  return {
    ...load,
    from,
    to,
    instances: value.instances,
    medianRatio: median(value.instances.map((i) => i.ratio)),
    canaryMs: value.canaryMs ?? 0,
    answeredAfter: await answering(lb),
  };
}

async function runSize(lb: Lb, backends: number, release: (version: string) => string, versions: () => string, current: string) {
  const stopStartRunsMs = await measureStopStart(lb);
  const stopStartMs = median(stopStartRunsMs);
  const size: SizeRun = { backends, stopStartRunsMs, stopStartMs, variants: {} };
  const containers = lb.out.backendApiContainers;

  let to = versions();
  let binary = release(to);
  await setBinary(binary);
  size.variants.project = await variant(lb, current, to, async () => {
    const output = await pulumi("up", "--yes", "--skip-preview");
    return { instances: projectTimings(output, stopStartMs, RISE_MS), canaryMs: DEFAULTS.backendApiCanarySeconds * 1000 };
  });
  await lb.waitServing();

  [current, to] = [to, versions()];
  binary = release(to);
  // Pushed first, so that every restart below starts at the same moment, as the deploy steps did.
  await Promise.all(containers.map((c) => push(binary, c)));
  size.variants.allAtOnce = await variant(lb, current, to, async () => {
    const instances = await Promise.all(
      containers.map(async (container) => {
        const issued = Date.now();
        await restart(container, INCOMING, true);
        await upOnEveryNode(lb, serverName(container));
        return instanceTiming(serverName(container), Date.now() - issued, 0, stopStartMs, RISE_MS);
      }),
    );
    return { instances };
  });
  await adopt(binary);
  await lb.waitServing();

  [current, to] = [to, versions()];
  binary = release(to);
  size.variants.runbook = await variant(lb, current, to, async () => {
    const instances: InstanceTiming[] = [];
    for (const container of containers) {
      const server = serverName(container);
      const started = Date.now();
      await setState(lb, server, "drain");
      await sleep(RUNBOOK_DRAIN_MS);
      const drainMs = Date.now() - started;
      await push(binary, container);
      await restart(container, INCOMING, false);
      await setState(lb, server, "ready");
      instances.push(instanceTiming(server, Date.now() - started, drainMs, stopStartMs, RISE_MS));
    }
    return { instances };
  });
  await adopt(binary);
  await lb.waitServing();
  return { size, current: to };
}

/** Scenario 12 on the project's config (`pulumi up`s change the stack); leaves the stack on the program's defaults. */
export async function versionRollout(lb: Lb, log: (message: string) => void = () => undefined): Promise<RolloutResult> {
  const builds = fs.mkdtempSync(path.join(os.tmpdir(), "veza-bench-fixture-"));
  let n = 0;
  const versions = () => `v${++n}`;
  const release = (version: string) => buildServiceFixture(builds, version);
  const result: RolloutResult = {
    riseMs: RISE_MS,
    runbookDrainMs: RUNBOOK_DRAIN_MS,
    canarySeconds: DEFAULTS.backendApiCanarySeconds,
    drainTimeoutSeconds: DEFAULTS.backendApiDrainTimeoutSeconds,
    sizes: [],
  };
  try {
    // The starting release, in place before anything is measured (the stand-in is replaced here).
    let current = versions();
    await setBinary(release(current));
    await pulumi("up", "--yes", "--skip-preview");
    await lb.waitServing();
    for (const backends of ROLLOUT_SIZES) {
      if (lb.out.backendApiContainers.length !== backends) await lb.apply({ ...BASE, backendApiCount: backends });
      log(`version rollout: ${backends} backends, from ${current}`);
      const run = await runSize(lb, backends, release, versions, current);
      result.sizes.push(run.size);
      current = run.current;
    }
    return result;
  } finally {
    // Back to the program's defaults (the stand-in, 2 backends) in one `up`, while the builds the
    // config named still exist for its preview.
    for (const key of ROLLOUT_KEYS) await pulumi("config", "rm", `veza-infra:${key}`).catch(() => undefined);
    await (lb.out.backendApiContainers.length !== BASE.backendApiCount ? lb.apply(BASE) : pulumi("up", "--yes", "--skip-preview")).catch(
      (error) => log(`version rollout: could not put the stack back on its defaults: ${error}`),
    );
    fs.rmSync(builds, { recursive: true, force: true });
  }
}
