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
 *
 * Like a browser (RFC 9112 9.3.1), it sends a GET again, once, on a new connection when the reused
 * keep-alive connection it went out on failed before any byte of a response came back: the other
 * side may close an idle connection at the very moment a request is sent on it, and neither side
 * can know. Node's agent does not do this by itself. Such requests count as `keepAliveRetries`,
 * and as failures only if the second attempt fails too; a response cut after its first byte is
 * never retried, and counts as failed.
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
  /** True when the request went out again after its reused keep-alive connection closed under it. */
  keepAliveRetry: boolean;
  /** Who answered and with which release (the X-Served-By and X-Version headers), when it said so. */
  servedBy?: string;
  version?: string;
}

/** Client-side deadline of one request. */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface OpenLoad {
  /** Stops sending, waits for every request in flight (each bounded by REQUEST_TIMEOUT_MS). */
  stop(): Promise<LoadSample[]>;
}

/** How {@link openLoad} connects. */
export interface LoadOptions {
  /**
   * Every request on a connection of its own, as clients that arrive one by one do; used where
   * the address moves between nodes, since a pooled connection would stay on the node that died
   * and make every later request on it wait for its deadline.
   */
  freshConnections?: boolean;
  /** The local address every connection comes from (one of this host's), so one host can be several clients. */
  localAddress?: string;
}

export function openLoad(url: string, ratePerSecond: number, { freshConnections = false, localAddress }: LoadOptions = {}): OpenLoad {
  const agent = freshConnections ? false : new http.Agent({ keepAlive: true, maxSockets: 256 });
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
    const deadline = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const done = new Promise<void>((resolve) => {
      let finished = false;
      const finish = (ok: boolean, outcome: string, keepAliveRetry: boolean, headers: http.IncomingHttpHeaders = {}) => {
        if (finished) return;
        finished = true;
        const [servedBy, version] = [headers["x-served-by"], headers["x-version"]].map((h) => (typeof h === "string" ? h : undefined));
        samples.push({
          sentAt,
          at: Date.now(),
          ok,
          latencyMs: ok ? performance.now() - started : NaN,
          outcome,
          keepAliveRetry,
          ...(servedBy === undefined ? {} : { servedBy }),
          ...(version === undefined ? {} : { version }),
        });
        resolve();
      };
      const attempt = (retry: boolean) => {
        // The second attempt takes a connection of its own: another idle one may be stale too.
        const request = http.get(url, { agent: retry ? false : agent, signal: deadline, localAddress }, (response) => {
          response.resume();
          response.on("end", () =>
            finish(
              (response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 400,
              String(response.statusCode),
              retry,
              response.headers,
            ),
          );
          response.on("error", (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.name, retry));
        });
        request.on("error", (error: NodeJS.ErrnoException) => {
          const timedOut = error.name === "AbortError" || error.name === "TimeoutError";
          if (!retry && !timedOut && request.reusedSocket && error.code === "ECONNRESET") return attempt(true);
          finish(false, timedOut ? "timeout" : (error.code ?? error.name), retry);
        });
      };
      attempt(false);
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
      if (agent) agent.destroy();
      return samples.sort((a, b) => a.sentAt - b.sentAt);
    },
  };
}
