/**
 * Measurement helpers: pure summaries of load samples and state polls, and the two impure
 * recorders the scenarios share (a steady load around an action, a poller of one server's state).
 */
import { LabOutputs, serverStatus } from "../tests/lab/harness";
import { sleep, timed } from "./env";
import { LoadSample, openLoad } from "./load";

/** The steady load of the failover and reconfiguration scenarios (req/s, keep-alive, through the LB). */
export const LOAD_RATE = 50;
/** Load before and after an action, so the window shows the steady state on both sides. */
export const SETTLE_MS = 2_000;

/** Nearest-rank percentile of `values` (NaN when empty). */
export function percentile(values: number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** An ok request slower than this is drawn apart in the timelines. */
export const SLOW_MS = 250;

/** Outcome counts of one load window; latencies are of the requests that succeeded. */
export interface LoadSummary {
  ok: number;
  failed: number;
  /** How the requests ended: HTTP status or error code -> count. */
  outcomes: Record<string, number>;
  slow: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarize(samples: LoadSample[]): LoadSummary {
  const ok = samples.filter((s) => s.ok).map((s) => s.latencyMs);
  const outcomes: Record<string, number> = {};
  for (const s of samples) outcomes[s.outcome] = (outcomes[s.outcome] ?? 0) + 1;
  return {
    ok: ok.length,
    failed: samples.length - ok.length,
    outcomes,
    slow: ok.filter((l) => l > SLOW_MS).length,
    p50Ms: percentile(ok, 50),
    p99Ms: percentile(ok, 99),
    maxMs: ok.length ? Math.max(...ok) : NaN,
  };
}

/** Requests sent in each `stepMs` slot of [from, to) and how they ended; times relative to `origin`. */
export interface Bucket {
  t: number;
  ok: number;
  /** Of `ok`, those slower than SLOW_MS. */
  slow: number;
  failed: number;
}

export function bucketize(samples: LoadSample[], origin: number, from: number, to: number, stepMs = 100): Bucket[] {
  const count = Math.max(0, Math.ceil((to - from) / stepMs));
  const buckets = Array.from({ length: count }, (_, i) => ({ t: from - origin + i * stepMs, ok: 0, slow: 0, failed: 0 }));
  for (const s of samples) {
    const i = Math.floor((s.sentAt - from) / stepMs);
    if (i < 0 || i >= count) continue;
    if (!s.ok) buckets[i].failed++;
    else {
      buckets[i].ok++;
      if (s.latencyMs > SLOW_MS) buckets[i].slow++;
    }
  }
  return buckets;
}

/** One answer of the state poller: when it came back and the server's `show stat` status. */
export interface StatePoint {
  at: number;
  status: string;
}

/** The state as spans [from, to) relative to `origin`: each poll's status holds until the next poll. */
export interface StateSpan {
  from: number;
  to: number;
  status: string;
}

export function stateSpans(points: StatePoint[], origin: number, end: number): StateSpan[] {
  const spans: StateSpan[] = [];
  points.forEach((p, i) => {
    const to = (i + 1 < points.length ? points[i + 1].at : end) - origin;
    const last = spans[spans.length - 1];
    if (last && last.status === p.status) last.to = to;
    else spans.push({ from: p.at - origin, to, status: p.status });
  });
  return spans;
}

/** First poll at or after `after` whose status satisfies `test`. */
export function firstAt(points: StatePoint[], after: number, test: (status: string) => boolean): number | undefined {
  return points.find((p) => p.at >= after && test(p.status))?.at;
}

/** Polls one server's status on the admin socket until stopped (or `maxMs`, a bound). */
export function pollState(lab: LabOutputs, pool: string, server: string, maxMs = 180_000) {
  const points: StatePoint[] = [];
  let stopped = false;
  const started = Date.now();
  const loop = (async () => {
    while (!stopped && Date.now() - started < maxMs) {
      const status = await serverStatus(lab, pool, server).catch(() => "ERROR");
      points.push({ at: Date.now(), status });
      await sleep(20);
    }
  })();
  return {
    points,
    latest: () => points[points.length - 1]?.status ?? "",
    async stop(): Promise<StatePoint[]> {
      stopped = true;
      await loop;
      return points;
    },
  };
}

/** The steady open-loop keep-alive load (bench/load.ts) through `url` around `action`: SETTLE_MS before and after. */
export async function underLoad<T>(url: string, action: () => Promise<T>): Promise<LoadSummary & { actionMs: number; value: T }> {
  const load = openLoad(url, LOAD_RATE);
  let result: { ms: number; value: T };
  try {
    await sleep(SETTLE_MS);
    result = await timed(action);
    await sleep(SETTLE_MS);
  } catch (error) {
    await load.stop();
    throw error;
  }
  return { ...summarize(await load.stop()), actionMs: result.ms, value: result.value };
}
