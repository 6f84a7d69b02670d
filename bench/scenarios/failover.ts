/**
 * Scenarios 1-3: backend-api-1 dies (`incus stop --force`) or hangs (`incus pause`) under a steady
 * keep-alive load through the LB; when it dies, a WebSocket pinned to it by the sticky cookie must
 * come back on the survivor with that stale cookie. Then the victim is brought back and the run
 * waits for it to be UP at full weight (slow start over) so the next run starts from the same state.
 */
import { API_POOL } from "../../components/haproxy/haproxyConfig";
import { PinnedSocket, get, incus, openSocket, serverStats, waitFor } from "../../tests/lab/harness";
import { incusOn, sleep } from "../env";
import { LoadSample, REQUEST_TIMEOUT_MS, openLoad } from "../load";
import { ConfigName, Lb } from "../lb";
import {
  Bucket,
  LOAD_RATE,
  LoadSummary,
  SETTLE_MS,
  SLOW_MS,
  StatePoint,
  StateSpan,
  bucketize,
  firstAt,
  pollState,
  stateSpans,
  summarize,
} from "../measure";

export type FailureKind = "dies" | "hangs";
const VICTIM = "backend-api-1";
/** Load goes on this long after DOWN (then stops sending and waits for every request in flight). */
const AFTER_DOWN_MS = 3_000;
/** Longest wait for DOWN, for the socket to close, for recovery: bounds, not expectations. */
const DOWN_BOUND_MS = 45_000;

export interface SocketResult {
  pinnedTo: string;
  closedAfterMs: number | null;
  reconnectedAfterMs: number | null;
  reconnectedTo: string;
  attempts: number;
}

export interface FailoverRun {
  config: ConfigName;
  kind: FailureKind;
  /** How long the `incus stop --force` / `incus pause` command itself took. */
  commandMs: number;
  /** From issuing the command to the first admin-socket answer saying DOWN. */
  killToDownMs: number | null;
  load: LoadSummary;
  window: { fromMs: number; toMs: number };
  buckets: Bucket[];
  states: StateSpan[];
  socket?: SocketResult;
  recovery: { upAfterMs: number; fullWeightAfterMs: number };
  /** Requests that failed or were slow: sent and ended relative to the command, how they ended (first 60). */
  notable: { sentMs: number; endedMs: number; latencyMs: number; outcome: string }[];
  /** HAProxy's own log of the window: server state changes and every request not answered 200/101 (first 80 lines). */
  haproxyLog: string[];
}

/** `option httplog`: `[date] frontend backend/server Tq/Tw/Tc/Tr/Tt status ...`; captures the status. */
const REQUEST_LOG = /\] \S+ \S+ (?:-?\d+\/){4}\+?\d+ (-?\d+) /;

/** HAProxy's log lines of [from, to] (epoch ms) that say something: state changes, requests not answered 200/101. */
async function haproxyLog(lb: Lb, from: number, to: number): Promise<string[]> {
  const text = await incus(
    "exec",
    lb.haproxy,
    "--",
    "journalctl",
    "-u",
    "haproxy",
    "--no-pager",
    "-o",
    "short-precise",
    "--since",
    `@${Math.floor(from / 1000)}`,
    "--until",
    `@${Math.ceil(to / 1000)}`,
  ).catch((e) => String(e));
  return text
    .split("\n")
    .filter(
      (line) =>
        !line.includes("[WARNING]") && (/ is (DOWN|UP)/.test(line) || !["200", "101", undefined].includes(REQUEST_LOG.exec(line)?.[1])),
    )
    .slice(0, 80);
}

/** The sticky cookie that pins a client to `server` (asks the LB until that server answers). */
async function cookieFor(lb: Lb, server: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const response = await get(lb.url("/api/v1/session"));
    if (response.servedBy === lb.container(server)) return response.setCookie.split(";")[0];
  }
  throw new Error(`the load balancer never answered from ${server}`);
}

async function pinSocket(lb: Lb, server: string): Promise<PinnedSocket> {
  const pinned = await openSocket(lb.out.lbUrl, await cookieFor(lb, server));
  pinned.socket.on("error", () => undefined);
  if (pinned.servedBy !== lb.container(server)) throw new Error(`socket pinned to ${server} was served by ${pinned.servedBy}`);
  return pinned;
}

/** Waits for the pinned socket to close, then reconnects with its (now stale) cookie. */
async function reconnect(lb: Lb, pinned: PinnedSocket, killedAt: number): Promise<SocketResult> {
  const result: SocketResult = { pinnedTo: pinned.servedBy, closedAfterMs: null, reconnectedAfterMs: null, reconnectedTo: "", attempts: 0 };
  const closedAt = await Promise.race([pinned.closed.then(() => Date.now()), sleep(DOWN_BOUND_MS).then(() => undefined)]);
  if (closedAt === undefined) return result;
  result.closedAfterMs = closedAt - killedAt;
  for (; result.attempts < 200; result.attempts++) {
    const again = await openSocket(lb.out.lbUrl, pinned.cookie).catch(() => undefined);
    if (again) {
      result.reconnectedAfterMs = Date.now() - killedAt;
      result.reconnectedTo = again.servedBy;
      again.socket.close();
      result.attempts++;
      return result;
    }
    await sleep(50);
  }
  return result;
}

/** Brings the victim back and waits until it is UP and its slow start is over (srv_op_state running). */
async function recover(lb: Lb, kind: FailureKind, since: number): Promise<{ upAfterMs: number; fullWeightAfterMs: number }> {
  const victim = lb.container(VICTIM);
  await incusOn(victim, kind === "dies" ? "start" : "resume");
  const row = async (server: string) => (await serverStats(lb.out)).get(`${API_POOL}/${server}`);
  await waitFor(`${VICTIM} UP`, async () => (await row(VICTIM))?.status === "UP", 90_000, 100);
  const upAfterMs = Date.now() - since;
  await waitFor(`${VICTIM} at full weight`, async () => (await lb.opStates()).get(`${API_POOL}/${VICTIM}`) === "2", 90_000, 250);
  return { upAfterMs, fullWeightAfterMs: Date.now() - since };
}

export async function failover(lb: Lb, config: ConfigName, kind: FailureKind): Promise<FailoverRun> {
  const victim = lb.container(VICTIM);
  const pinned = kind === "dies" ? await pinSocket(lb, VICTIM) : undefined;
  const poller = pollState(lb.out, API_POOL, VICTIM);
  const load = openLoad(lb.url("/api/v1/items"), LOAD_RATE);
  const windowStart = Date.now();
  let killedAt = 0;
  let commandMs = 0;
  let socket: SocketResult | undefined;
  let samples: LoadSample[] = [];
  let points: StatePoint[] = [];
  let windowEnd = windowStart;
  let recovery = { upAfterMs: NaN, fullWeightAfterMs: NaN };
  try {
    await sleep(SETTLE_MS);
    killedAt = Date.now();
    await (kind === "dies" ? incusOn(victim, "stop", "--force") : incusOn(victim, "pause"));
    commandMs = Date.now() - killedAt;
    const reconnected = pinned ? reconnect(lb, pinned, killedAt) : undefined;
    await waitFor(`${VICTIM} DOWN`, async () => poller.latest().startsWith("DOWN"), DOWN_BOUND_MS, 20).catch(() => undefined);
    await sleep(AFTER_DOWN_MS);
    socket = reconnected ? await reconnected : undefined;
  } finally {
    windowEnd = Date.now();
    samples = await load.stop();
    points = await poller.stop();
    pinned?.socket.terminate();
    if (killedAt) recovery = await recover(lb, kind, killedAt);
  }
  const downAt = firstAt(points, killedAt, (s) => s.startsWith("DOWN"));
  const notable = samples
    .filter((x) => !x.ok || x.latencyMs > SLOW_MS)
    .slice(0, 60)
    .map((x) => ({ sentMs: x.sentAt - killedAt, endedMs: x.at - killedAt, latencyMs: x.latencyMs, outcome: x.outcome }));
  const log = await haproxyLog(lb, windowStart, windowEnd + REQUEST_TIMEOUT_MS);
  return {
    config,
    kind,
    commandMs,
    killToDownMs: downAt === undefined ? null : downAt - killedAt,
    load: summarize(samples),
    window: { fromMs: windowStart - killedAt, toMs: windowEnd - killedAt },
    buckets: bucketize(samples, killedAt, windowStart, windowEnd),
    states: stateSpans(points, killedAt, windowEnd),
    socket,
    recovery,
    notable,
    haproxyLog: log,
  };
}
