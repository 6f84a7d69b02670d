/**
 * Scenario 9: a soak. A steady open-loop load for many minutes while the stack is tuned the daily
 * way, a `pulumi up` every RELOAD_EVERY_MS that flips healthCheckFall (one hitless reload each),
 * and a backend container restarted every RESTART_EVERY_MS, backend-api-1, -2, ... in turn. What
 * piles up shows: failed requests by kind, HAProxy's processes sampled over time (old workers a
 * reload leaves behind), and the master's and workers' RSS and open fds at the start and the end.
 */
import { API_POOL } from "../../components/haproxy/haproxyConfig";
import { DEFAULTS } from "../../stack/settings";
import { incus, serverStatus, waitFor } from "../../tests/lab/harness";
import { incusOn, pulumi, serverName, sleep, timed } from "../env";
import { openLoad } from "../load";
import { Lb } from "../lb";
import { Bucket, LOAD_RATE, LoadSummary, bucketize, summarize } from "../measure";

export const SOAK_DEFAULT_MINUTES = 10;
export const RELOAD_EVERY_MS = 30_000;
export const RESTART_EVERY_MS = 120_000;
/** How often HAProxy's processes are counted, and the width of a failed-requests interval. */
export const SAMPLE_EVERY_MS = 2_000;
export const INTERVAL_MS = 10_000;

/** One HAProxy process inside the container: the master (its parent is not HAProxy) or a worker. */
export interface HaproxyProcess {
  pid: number;
  role: "master" | "worker";
  rssKb: number;
  fds: number;
}

/** A count of HAProxy's processes, ms from the start of the soak. */
export interface ProcessSample {
  t: number;
  processes: number;
  rssKb: number;
}

/** A reload (`pulumi up`) or a backend restart: when it started (ms from the start), how long it took. */
export interface SoakEvent {
  t: number;
  kind: "reload" | "restart";
  what: string;
  ms: number;
  error?: string;
}

export interface SoakResult {
  minutes: number;
  rate: number;
  load: LoadSummary & { keepAliveRetries: number };
  intervals: Bucket[];
  samples: ProcessSample[];
  events: SoakEvent[];
  start: HaproxyProcess[];
  end: HaproxyProcess[];
}

/**
 * Inside the HAProxy container: one line per HAProxy process, `pid ppid VmRSS(kB) open-fds`. A
 * process that exits between the listing and the reading is skipped.
 */
const PROCESSES = `for pid in $(pgrep -x haproxy); do
  fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  awk -v pid="$pid" -v fds="$fds" '$1 == "PPid:" { ppid = $2 } $1 == "VmRSS:" { rss = $2 } END { if (rss != "") print pid, ppid, rss, fds }' "/proc/$pid/status" 2>/dev/null || true
done`;

/** Parses {@link PROCESSES}' lines; a process whose parent is not an HAProxy process is the master. */
export function parseProcesses(text: string): HaproxyProcess[] {
  const rows = text
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 4 && f.every(Number.isFinite));
  const pids = new Set(rows.map(([pid]) => pid));
  return rows.map(([pid, ppid, rssKb, fds]) => ({ pid, role: pids.has(ppid) ? "worker" : "master", rssKb, fds }));
}

async function processes(lb: Lb): Promise<HaproxyProcess[]> {
  return parseProcesses(await incus("exec", lb.haproxy, "--", "sh", "-c", PROCESSES));
}

/** Runs `action(1)`, `action(2)`, ... at first, first + period, ... while before `end`; a late one starts at once. */
async function every(first: number, periodMs: number, end: number, action: (i: number) => Promise<void>): Promise<void> {
  for (let i = 1; first + (i - 1) * periodMs < end; i++) {
    await sleep(Math.max(0, first + (i - 1) * periodMs - Date.now()));
    await action(i);
  }
}

export async function soak(lb: Lb, minutes: number): Promise<SoakResult> {
  const events: SoakEvent[] = [];
  const samples: ProcessSample[] = [];
  const backends = lb.out.backendApiContainers;
  const start = await processes(lb);
  const origin = Date.now();
  const end = origin + minutes * 60_000;
  const record = async (kind: SoakEvent["kind"], what: string, action: () => Promise<unknown>) => {
    const t = Date.now() - origin;
    try {
      events.push({ t, kind, what, ms: (await timed(action)).ms });
    } catch (error) {
      events.push({
        t,
        kind,
        what,
        ms: Date.now() - origin - t,
        error: error instanceof Error ? error.message.slice(0, 500) : String(error),
      });
    }
  };
  const load = openLoad(lb.url("/api/v1/items"), LOAD_RATE);
  let fallRaised = false;
  try {
    await Promise.all([
      every(origin, SAMPLE_EVERY_MS, end, async () => {
        const now = await processes(lb).catch(() => []);
        samples.push({ t: Date.now() - origin, processes: now.length, rssKb: now.reduce((sum, p) => sum + p.rssKb, 0) });
      }),
      every(origin + RELOAD_EVERY_MS, RELOAD_EVERY_MS, end, async (i) => {
        const fall = DEFAULTS.healthCheckFall + (i % 2);
        await record("reload", `fall ${fall}`, async () => {
          if (i % 2) await pulumi("config", "set", "veza-infra:healthCheckFall", String(fall));
          else await pulumi("config", "rm", "veza-infra:healthCheckFall");
          fallRaised = i % 2 === 1;
          await pulumi("up", "--yes", "--skip-preview");
        });
      }),
      // Halfway between two reloads (and so away from them), and a first one within a 2-minute run.
      every(origin + RESTART_EVERY_MS / 2 + RELOAD_EVERY_MS / 2, RESTART_EVERY_MS, end, async (i) => {
        const container = backends[(i - 1) % backends.length];
        const server = serverName(container);
        await record("restart", server, async () => {
          await incusOn(container, "restart");
          await waitFor(`${server} UP`, async () => (await serverStatus(lb.out, API_POOL, server)) === "UP", 120_000, 100);
        });
      }),
    ]);
    await sleep(Math.max(0, end - Date.now()));
    const last = await processes(lb);
    const loadSamples = await load.stop();
    return {
      minutes,
      rate: LOAD_RATE,
      load: { ...summarize(loadSamples), keepAliveRetries: loadSamples.filter((s) => s.keepAliveRetry).length },
      intervals: bucketize(loadSamples, origin, origin, end, INTERVAL_MS),
      samples,
      events,
      start,
      end: last,
    };
  } finally {
    await load.stop();
    // The stack's config as the run found it (run.ts also clears every key it changes).
    if (fallRaised) {
      await pulumi("config", "rm", "veza-infra:healthCheckFall");
      await pulumi("up", "--yes", "--skip-preview");
    }
  }
}
