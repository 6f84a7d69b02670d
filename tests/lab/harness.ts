/**
 * What the lab tier and the benchmarks drive the real lab with: the pinned `pulumi` CLI (on PATH
 * through scripts/env.sh), the `incus` CLI, HAProxy's admin socket, steady open-loop HTTP load
 * and WebSocket clients (ws). Every target is one of the lab's own containers.
 */
import { execFile } from "child_process";
import * as http from "http";
import * as path from "path";
import WebSocket from "ws";
import { LoadOptions, LoadSample, openLoad } from "../../bench/load";

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

/** What `pulumi stack output` prints for a stack of this program, secrets shown. */
export interface StackOutputs {
  lbUrl: string;
  /** Every HAProxy node, in order. */
  haproxyContainers: string[];
  haproxyAddresses: string[];
  /** The pair's address ("" with one node), where `lbUrl` points. */
  virtualIp: string;
  backendApiContainers: string[];
  backendApiAddresses: string[];
  streamServerContainers: string[];
  streamServerAddresses: string[];
  statsPassword: string;
  /** Each node's exporter, in node order. */
  metricsUrls: string[];
}

/** The outputs, with the first node's container, address and exporter: the node most tests drive. */
export interface LabOutputs extends StackOutputs {
  haproxyContainer: string;
  haproxyAddress: string;
  metricsUrl: string;
}

/** Adds the first node's fields to a stack's outputs. */
export function withFirstNode<T extends StackOutputs>(raw: T): T & LabOutputs {
  return { ...raw, haproxyContainer: raw.haproxyContainers[0], haproxyAddress: raw.haproxyAddresses[0], metricsUrl: raw.metricsUrls[0] };
}

export async function outputs(): Promise<LabOutputs> {
  return withFirstNode(JSON.parse(await pulumi("stack", "output", "--json", "--show-secrets")) as StackOutputs);
}

/** Sends one command to HAProxy's runtime API inside an HAProxy container (by default the first). */
export function admin(lab: LabOutputs, command: string, container = lab.haproxyContainer): Promise<string> {
  return run("incus", ["exec", container, "--", "socat", "stdio", "/run/haproxy/admin.sock"], { input: `${command}\n` });
}

/** Whether `container` holds the pair's virtual IP on eth0. */
export async function holdsVirtualIp(lab: LabOutputs, container: string): Promise<boolean> {
  const addresses = await incus("exec", container, "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0").catch(() => "");
  return lab.virtualIp !== "" && addresses.includes(` ${lab.virtualIp}/`);
}

/** The HAProxy node clients reach through `lbUrl`: the virtual IP's holder, or the only node. */
export async function servingNode(lab: LabOutputs): Promise<string> {
  if (lab.virtualIp === "") return lab.haproxyContainer;
  for (const container of lab.haproxyContainers) if (await holdsVirtualIp(lab, container)) return container;
  throw new Error(`no HAProxy node holds ${lab.virtualIp}`);
}

/**
 * One GET on a connection of its own, given 500 ms: a pooled keep-alive connection could still
 * point at the stopped node (a frozen container's kernel keeps it open) and hang the probe.
 */
export const answers = (url: string) =>
  new Promise<boolean>((resolve) => {
    const request = http.get(url, { agent: false, timeout: 500 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(false));
  });

/** One scrape of a Prometheus exporter (HAProxy's, at a node's metrics URL), as `metric{labels}` to value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
  const samples = (await response.text()).split("\n").filter((line) => line && !line.startsWith("#"));
  return new Map(samples.map((line) => [line.slice(0, line.lastIndexOf(" ")), Number(line.slice(line.lastIndexOf(" ") + 1))]));
}

/** One row of `show stat`, keyed by its CSV header. */
export type StatRow = Record<string, string>;

/** `show stat` of the servers, keyed `pool/server`, on one HAProxy node (by default the first). */
export async function serverStats(lab: LabOutputs, container = lab.haproxyContainer): Promise<Map<string, StatRow>> {
  const [header, ...lines] = (await admin(lab, "show stat", container)).split("\n").filter((line) => line.length > 0);
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

/** Status of one server as HAProxy sees it (UP, DOWN, DRAIN, MAINT, ...), on one node (by default the first). */
export async function serverStatus(lab: LabOutputs, pool: string, server: string, container = lab.haproxyContainer): Promise<string> {
  return (await serverStats(lab, container)).get(`${pool}/${server}`)?.status ?? "ABSENT";
}

/** The status of one server on every HAProxy node, in node order. */
export function statusOnEveryNode(lab: LabOutputs, pool: string, server: string): Promise<string[]> {
  return Promise.all(lab.haproxyContainers.map((container) => serverStatus(lab, pool, server, container)));
}

/** Waits until every server of the lab's two pools is UP on every HAProxy node. */
export function waitAllUp(lab: LabOutputs, timeoutMs = 60_000): Promise<number> {
  return waitFor(
    "every server UP on every HAProxy node",
    async () => {
      for (const container of lab.haproxyContainers) {
        const stats = await serverStats(lab, container);
        if (stats.size === 0 || ![...stats.values()].every((row) => row.status === "UP")) return false;
      }
      return true;
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
   * `keepAliveRetries` counts requests sent again after a reused connection closed under them;
   * `tally` is the figure every drill prints, "ok/failed (N keep-alive retries)", so a reader sees
   * how often the keep-alive race that a retry absorbs happened beside what did fail.
   */
  stop(): Promise<{ ok: number; failures: string[]; keepAliveRetries: number; tally: string; samples: LoadSample[] }>;
}

export function steadyLoad(url: string, ratePerSecond: number, options: LoadOptions = {}): SteadyLoad {
  const load = openLoad(url, ratePerSecond, options);
  return {
    async stop() {
      const samples = await load.stop();
      const failures = samples.filter((s) => !s.ok).map((s) => `${s.outcome} sent at ${new Date(s.sentAt).toISOString()}`);
      const ok = samples.length - failures.length;
      const keepAliveRetries = samples.filter((s) => s.keepAliveRetry).length;
      const tally = `${ok}/${failures.length} (${keepAliveRetries} keep-alive retries)`;
      return { ok, failures, keepAliveRetries, tally, samples };
    },
  };
}

/**
 * Requests sent before `at` and not yet answered then: the only ones a kill at that moment can cut
 * (each was on the wire to, or inside, the node that died); every later request finds it gone.
 */
export function inFlightAt(samples: LoadSample[], at: number): number {
  return samples.filter((s) => s.sentAt <= at && s.at >= at).length;
}

/**
 * The requests a backend kill could reach: those in flight when it began and those sent before
 * HAProxy marked the server DOWN. The client talks to HAProxy, not to the server, so each of them
 * that the dying server cuts is one HAProxy's `retry-on` sends to another server; a client-side
 * reset can only come from the client's own connection to HAProxy (the keep-alive race, retried).
 */
export function killExposure(samples: LoadSample[], killedAt: number, downAt: number): string {
  const sentBeforeDown = samples.filter((s) => s.sentAt > killedAt && s.sentAt < downAt).length;
  return `in flight when the kill began: ${inFlightAt(samples, killedAt)}, sent between the kill and DOWN: ${sentBeforeDown}`;
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
