/**
 * Scenario 9, the LB node dies: the HAProxy node that clients reach is force-stopped under the
 * open-loop load, each request on a fresh connection (the address moves between nodes; a pooled
 * connection would stay on the dead one).
 *
 * - project: the pair (haproxyCount 2 on the bench stack, virtual IP BENCH_VIRTUAL_IP), the node
 *   holding the address force-stopped; the other node takes it over. The dead node is then started
 *   again and must come back as standby, the address staying where it is (nopreempt).
 * - anchor: the seed's one HAProxy node, serving the anchor's file, force-stopped. Nothing takes
 *   over: it is down until someone starts it again. Here that someone is the bench, RESTART_AFTER_MS
 *   after the stop command returned (an operator or a supervisor would take longer), and what
 *   `incus start` until HAProxy answers costs is measured.
 *
 * Times are from the stop command returning (the container is dead then), the command's own
 * duration apart.
 */
import { answers, incus, waitFor } from "../../tests/lab/harness";
import { incusOn, pulumi, sleep } from "../env";
import { BASE, ConfigName, Lb } from "../lb";
import { LoadSample, openLoad } from "../load";
import { Bucket, LOAD_RATE, LoadSummary, SETTLE_MS, bucketize, summarize } from "../measure";

/** The pair's address on the bench stack: in the lab bridge's static range, apart from the lab's (10.77.0.200). */
export const BENCH_VIRTUAL_IP = "10.77.0.201";
/** The stack config keys this scenario sets; run.ts removes them before and after. */
export const LB_NODE_KEYS = ["haproxyCount", "virtualIp"];
/** When the bench starts the anchor's dead node again: a fixed stand-in for someone noticing. */
export const RESTART_AFTER_MS = 5_000;
/** Load goes on this long after the first answer, so the timeline shows the steady state again. */
const AFTER_ANSWER_MS = 3_000;
/** Longest wait for a first answer: a bound, not an expectation. */
const ANSWER_BOUND_MS = 60_000;

/** One node stop under load, from the load's own samples. */
export interface LbNodeRun {
  config: ConfigName;
  victim: string;
  /** How long `incus stop --force` itself took (t = 0 is when it returned). */
  stopCommandMs: number;
  /** Anchor: when `incus start` was issued, and how long it took. */
  startAtMs?: number;
  startCommandMs?: number;
  /** First ok answer to a request sent after t = 0 (from the other node, or the restarted one). */
  firstAnswerMs: number | null;
  /** Failed requests by when they were sent: before t = 0 (in flight at the kill), before the first answer, after it. */
  failedInFlight: number;
  failedWhileDown: number;
  failedAfterAnswer: number;
  load: LoadSummary;
  buckets: Bucket[];
  window: { fromMs: number; toMs: number };
  /** Project: whether the address stayed on the survivor once the dead node was back as standby. */
  addressStayed?: boolean;
}

const holds = async (container: string) =>
  (await incus("exec", container, "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0").catch(() => "")).includes(` ${BENCH_VIRTUAL_IP}/`);

/** The figures of one stop from its samples; `stoppedAt` is t = 0. */
export function lbNodeFigures(samples: LoadSample[], stoppedAt: number, windowStart: number, windowEnd: number) {
  const first = samples.filter((s) => s.ok && s.sentAt >= stoppedAt).sort((a, b) => a.at - b.at)[0];
  const answeredAt = first?.at ?? Infinity;
  const failed = samples.filter((s) => !s.ok);
  return {
    firstAnswerMs: first ? first.at - stoppedAt : null,
    failedInFlight: failed.filter((s) => s.sentAt < stoppedAt).length,
    failedWhileDown: failed.filter((s) => s.sentAt >= stoppedAt && s.sentAt < answeredAt).length,
    failedAfterAnswer: failed.filter((s) => s.sentAt >= answeredAt).length,
    load: summarize(samples),
    buckets: bucketize(samples, stoppedAt, windowStart, windowEnd),
    window: { fromMs: windowStart - stoppedAt, toMs: windowEnd - stoppedAt },
  };
}

/**
 * Force-stops `victim` under load through `url`; `meanwhile` runs once the stop returned (the
 * anchor's restart), then the load goes on until an answer and AFTER_ANSWER_MS more.
 */
async function stopUnderLoad(
  url: string,
  victim: string,
  meanwhile: (stoppedAt: number) => Promise<{ startAtMs: number; startCommandMs: number } | undefined>,
) {
  const load = openLoad(url, LOAD_RATE, { freshConnections: true });
  const windowStart = Date.now();
  let stoppedAt = 0;
  let stopCommandMs = 0;
  let restart: { startAtMs: number; startCommandMs: number } | undefined;
  let samples: LoadSample[] = [];
  let windowEnd = windowStart;
  try {
    await sleep(SETTLE_MS);
    const commandAt = Date.now();
    await incusOn(victim, "stop", "--force");
    stoppedAt = Date.now();
    stopCommandMs = stoppedAt - commandAt;
    restart = await meanwhile(stoppedAt);
    await waitFor("an answer from the edge", () => answers(url), ANSWER_BOUND_MS, 20).catch(() => undefined);
    await sleep(AFTER_ANSWER_MS);
  } finally {
    windowEnd = Date.now();
    samples = await load.stop();
  }
  return { stopCommandMs, ...restart, ...lbNodeFigures(samples, stoppedAt, windowStart, windowEnd) };
}

/** The anchor: one node serving the seed's file, force-stopped, started again after RESTART_AFTER_MS. */
async function anchorRun(lb: Lb): Promise<LbNodeRun> {
  await lb.use("anchor", BASE);
  const victim = lb.haproxy;
  const url = lb.url("/api/v1/items");
  const run = await stopUnderLoad(url, victim, async (stoppedAt) => {
    await sleep(RESTART_AFTER_MS);
    const startAt = Date.now();
    await incusOn(victim, "start");
    return { startAtMs: startAt - stoppedAt, startCommandMs: Date.now() - startAt };
  });
  await lb.waitServing();
  await lb.use("project", BASE);
  return { config: "anchor", victim, ...run };
}

/** The project: the pair on the bench stack, the address holder force-stopped, then back as standby. */
async function projectRun(lb: Lb): Promise<LbNodeRun> {
  await lb.use("project", BASE);
  await pulumi("config", "set", "veza-infra:haproxyCount", "2");
  await pulumi("config", "set", "veza-infra:virtualIp", BENCH_VIRTUAL_IP);
  await pulumi("up", "--yes", "--skip-preview");
  const out = await lb.refresh();
  const nodes = (out as unknown as { haproxyContainers: string[] }).haproxyContainers;
  const holder = async () => (await Promise.all(nodes.map(holds))).filter(Boolean).length === 1;
  const url = lb.url("/api/v1/items");
  await waitFor("one node holding the address, answering", async () => (await holder()) && (await answers(url)), 60_000, 200);
  await lb.waitServing();
  const victim = (await Promise.all(nodes.map(async (n) => ((await holds(n)) ? n : "")))).find(Boolean) as string;
  const survivor = nodes.find((n) => n !== victim) as string;
  const run = await stopUnderLoad(url, victim, () => Promise.resolve(undefined));
  await incusOn(victim, "start");
  await waitFor(
    `${victim} HAProxy answering`,
    () => incus("exec", victim, "--", "curl", "-fs", "-o", "/dev/null", "http://127.0.0.1:9100/alive").then(() => true),
    60_000,
    200,
  );
  // Long enough for a node that wanted the address back to have taken it (many advert intervals).
  await sleep(3_000);
  return { config: "project", victim, ...run, addressStayed: await holds(survivor) };
}

/** Both runs, anchor first (the bench stack's own shape, one node), then the pair; back to one node after. */
export async function lbNode(lb: Lb): Promise<Partial<Record<ConfigName, LbNodeRun>>> {
  const runs: Partial<Record<ConfigName, LbNodeRun>> = {};
  runs.anchor = await anchorRun(lb);
  try {
    runs.project = await projectRun(lb);
  } finally {
    for (const key of LB_NODE_KEYS) await pulumi("config", "rm", `veza-infra:${key}`);
    await pulumi("up", "--yes", "--skip-preview");
    await lb.refresh();
    await lb.waitServing();
  }
  return runs;
}
