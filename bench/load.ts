/**
 * The steady load of the failover and reconfiguration scenarios: an open-loop keep-alive HTTP GET
 * load, one request every 1000/rate ms whatever happened to the previous ones (node:http with a
 * keep-alive agent, no dependency), each with its own outcome and a 10 s deadline.
 *
 * Why not autocannon (kept for throughput, scenario 7): its rate limit lets each connection send its
 * per-second quota back to back when the second starts (50 req/s arrive as one burst per second),
 * and a connection waits for its answer before it sends again, so a request stuck on a dead server
 * holds back the ones behind it (coordinated omission). Both hide failures: measured in this bench,
 * a hung backend received no request at all between the bursts. The lab tier's steady load
 * (tests/lab/harness.ts) is this generator too.
 */
import * as http from "http";

/** One request of the load: when it was sent and ended (epoch ms), and how it ended. */
export interface LoadSample {
  sentAt: number;
  at: number;
  ok: boolean;
  latencyMs: number;
  /** HTTP status, or the error's code (ECONNRESET, ...) or "timeout". */
  outcome: string;
}

/** Client-side deadline of one request. */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface OpenLoad {
  /** Stops sending, waits for every request in flight (each bounded by REQUEST_TIMEOUT_MS). */
  stop(): Promise<LoadSample[]>;
}

export function openLoad(url: string, ratePerSecond: number): OpenLoad {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const samples: LoadSample[] = [];
  const inFlight = new Set<Promise<void>>();
  const intervalMs = 1000 / ratePerSecond;
  const origin = performance.now();
  let sent = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const fire = () => {
    const sentAt = Date.now();
    const started = performance.now();
    const done = new Promise<void>((resolve) => {
      let finished = false;
      const finish = (ok: boolean, outcome: string) => {
        if (finished) return;
        finished = true;
        samples.push({ sentAt, at: Date.now(), ok, latencyMs: ok ? performance.now() - started : NaN, outcome });
        resolve();
      };
      const request = http.get(url, { agent, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }, (response) => {
        response.resume();
        response.on("end", () => finish((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 400, String(response.statusCode)));
        response.on("error", (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.name));
      });
      request.on("error", (error: NodeJS.ErrnoException) => finish(false, error.name === "AbortError" || error.name === "TimeoutError" ? "timeout" : (error.code ?? error.name)));
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  // Catches up on missed slots, so timer jitter does not lower the rate.
  const tick = () => {
    if (stopped) return;
    const now = performance.now();
    while (origin + sent * intervalMs <= now) {
      fire();
      sent++;
    }
    timer = setTimeout(tick, Math.max(0, origin + sent * intervalMs - performance.now()));
  };
  tick();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all([...inFlight]);
      agent.destroy();
      return samples.sort((a, b) => a.sentAt - b.sentAt);
    },
  };
}
