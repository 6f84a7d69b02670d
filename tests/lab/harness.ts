/**
 * What the lab tier and the benchmarks drive the real lab with: the pinned `pulumi` CLI (on PATH
 * through scripts/env.sh), the `incus` CLI, HAProxy's admin socket, steady open-loop HTTP load
 * and WebSocket clients (ws). Every target is one of the lab's own containers.
 */
import { execFile } from "child_process";
import * as path from "path";
import WebSocket from "ws";
import { LoadSample, openLoad } from "../../bench/load";

export const REPO = path.resolve(__dirname, "..", "..");
export const STACK = process.env.VEZA_LAB_STACK ?? "lab";

/** Runs a command and resolves with its trimmed stdout; rejects with its stderr. */
export function run(
  file: string,
  args: string[],
  options: { input?: string; cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { cwd: options.cwd ?? REPO, env: options.env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 15 * 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stderr}\n${stdout}`));
        else resolve(stdout.trim());
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export const pulumi = (...args: string[]) => run("pulumi", [...args, "--stack", STACK, "--non-interactive"]);
export const incus = (...args: string[]) => run("incus", args);

/** The lab stack's outputs, secrets shown. */
export interface LabOutputs {
  lbUrl: string;
  haproxyContainer: string;
  haproxyContainers: string[];
  haproxyAddress: string;
  backendApiContainers: string[];
  backendApiAddresses: string[];
  streamServerContainers: string[];
  streamServerAddresses: string[];
  statsPassword: string;
  metricsUrl: string;
}

export async function outputs(): Promise<LabOutputs> {
  return JSON.parse(await pulumi("stack", "output", "--json", "--show-secrets")) as LabOutputs;
}

/** Sends one command to HAProxy's runtime API inside the HAProxy container. */
export function admin(lab: LabOutputs, command: string): Promise<string> {
  return run("incus", ["exec", lab.haproxyContainer, "--", "socat", "stdio", "/run/haproxy/admin.sock"], { input: `${command}\n` });
}

/** One row of `show stat`, keyed by its CSV header. */
export type StatRow = Record<string, string>;

/** `show stat` of the servers, keyed `pool/server`. */
export async function serverStats(lab: LabOutputs): Promise<Map<string, StatRow>> {
  const [header, ...lines] = (await admin(lab, "show stat")).split("\n").filter((line) => line.length > 0);
  const fields = header.replace(/^# /, "").split(",");
  const rows = new Map<string, StatRow>();
  for (const line of lines) {
    const row = Object.fromEntries(line.split(",").map((value, i) => [fields[i], value]));
    if (row.svname !== "FRONTEND" && row.svname !== "BACKEND") rows.set(`${row.pxname}/${row.svname}`, row);
  }
  return rows;
}

/** Polls until `check` holds and resolves with the milliseconds it took; rejects after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Status of one server as HAProxy sees it (UP, DOWN, DRAIN, MAINT, ...). */
export async function serverStatus(lab: LabOutputs, pool: string, server: string): Promise<string> {
  return (await serverStats(lab)).get(`${pool}/${server}`)?.status ?? "ABSENT";
}

/** Waits until every server of the lab's two pools is UP. */
export function waitAllUp(lab: LabOutputs, timeoutMs = 60_000): Promise<number> {
  return waitFor(
    "every server UP",
    async () => {
      const stats = await serverStats(lab);
      return stats.size > 0 && [...stats.values()].every((row) => row.status === "UP");
    },
    timeoutMs,
  );
}

/** GET through the load balancer; resolves with the status and the container that served it. */
export async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; servedBy: string; setCookie: string }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return {
    status: response.status,
    servedBy: response.headers.get("x-served-by") ?? "",
    setCookie: response.headers.get("set-cookie") ?? "",
  };
}

/**
 * A steady open-loop HTTP load: one keep-alive GET every 1000/rate ms whatever happened to the
 * earlier ones (bench/load.ts), so a dead or hung backend is offered requests the whole time.
 */
export interface SteadyLoad {
  /**
   * `failures` names each failed request's outcome and send time, so a red test says what failed;
   * `keepAliveRetries` counts requests sent again after a reused connection closed under them.
   */
  stop(): Promise<{ ok: number; failures: string[]; keepAliveRetries: number; samples: LoadSample[] }>;
}

export function steadyLoad(url: string, ratePerSecond: number): SteadyLoad {
  const load = openLoad(url, ratePerSecond);
  return {
    async stop() {
      const samples = await load.stop();
      const failures = samples.filter((s) => !s.ok).map((s) => `${s.outcome} sent at ${new Date(s.sentAt).toISOString()}`);
      return { ok: samples.length - failures.length, failures, keepAliveRetries: samples.filter((s) => s.keepAliveRetry).length, samples };
    },
  };
}

/** A WebSocket through the load balancer: which backend greeted it, and the cookie it was pinned by. */
export interface PinnedSocket {
  socket: WebSocket;
  servedBy: string;
  cookie: string;
  closed: Promise<number>;
}

/** Opens a WebSocket under /api/, sending `cookie` when given; resolves once the backend has greeted it. */
export function openSocket(lbUrl: string, cookie = ""): Promise<PinnedSocket> {
  const url = lbUrl.replace(/^http/, "ws").replace(/\/$/, "") + "/api/v1/ws";
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: cookie ? { Cookie: cookie } : {}, handshakeTimeout: 5_000 });
    let pinnedBy = cookie;
    socket.on("upgrade", (response) => {
      const set = response.headers["set-cookie"]?.[0];
      if (set) pinnedBy = set.split(";")[0];
    });
    const closed = new Promise<number>((resolveClosed) => socket.on("close", (code) => resolveClosed(code)));
    socket.once("message", (data) => resolve({ socket, servedBy: data.toString(), cookie: pinnedBy, closed }));
    socket.once("error", reject);
  });
}
