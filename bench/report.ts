/**
 * The bench's results, the table printed at the end (also bench/LATEST.md), and the timelines.
 * Pure: results in, text out.
 */
import { ConfigName, RestoreCheck } from "./lb";
import { LOAD_RATE, LoadSummary, SETTLE_MS, SLOW_MS } from "./measure";
import { FailoverRun, FailureKind } from "./scenarios/failover";
import { EdgeLimitsRun, LIMITS_DURATION_S, LIMITS_ROUNDS } from "./scenarios/edgeLimits";
import { AFTER_ANSWER_MS, ANCHOR_MEMBER, DARK_BOUND_MS, HostDiesRun } from "./scenarios/hostDies";
import { LbNodeRun, RESTART_AFTER_MS } from "./scenarios/lbNode";
import { LocalityRun, Movement, TRACK_COUNT } from "./scenarios/locality";
import { AS_DEPLOYED, BISECT_LOAD, BisectRun, CannonResult, OVERHEAD_LOAD, OverheadRun } from "./scenarios/overhead";
import { PREVIEW_TARGET_RATIO, PreviewCost, PreviewSeries } from "./scenarios/previewCost";
import { REAPPLIES, ReconfigResult, ReconfigWindow } from "./scenarios/reconfig";
import { RolloutResult, Variant, VariantRun } from "./scenarios/rollout";
import { HaproxyProcess, RELOAD_EVERY_MS, RESTART_EVERY_MS, SoakResult } from "./scenarios/soak";
import { ColdStart, ScaleSpeed, Timed } from "./scenarios/toolSpeed";
import { TimelinePanel, timelineSvg } from "./svg";

/** The project's values the targets and bounds are derived from (stack/settings.ts DEFAULTS). */
export interface ProjectTimings {
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  healthCheckFall: number;
  serverTimeoutMs: number;
  fastIntervalMs: number;
}

export interface Results {
  startedAt: string;
  finishedAt?: string;
  elapsedS?: number;
  host: Record<string, unknown>;
  settings: { project: ProjectTimings & Record<string, unknown>; anchor: Record<string, unknown> };
  cold?: ColdStart;
  overhead?: Record<ConfigName, OverheadRun>;
  overheadBisect?: BisectRun;
  lbNode?: Partial<Record<ConfigName, LbNodeRun>>;
  failover: Partial<Record<FailureKind, Partial<Record<ConfigName, FailoverRun>>>>;
  reconfig?: ReconfigResult;
  locality?: Record<ConfigName, LocalityRun>;
  scale?: ScaleSpeed;
  preview?: PreviewCost;
  soak?: SoakResult;
  limits?: EdgeLimitsRun;
  rollout?: RolloutResult;
  hostDies?: Partial<Record<ConfigName, HostDiesRun>>;
  finalDestroyMs?: number;
  restores: RestoreCheck[];
  anchorFiles: Record<string, string>;
  files: string[];
  errors: string[];
}

export interface Row {
  scenario: string;
  measure: string;
  target: string;
  project: string;
  anchor: string;
  /** Whether the project's figure meets the target ("" when there is no target). */
  meets: "yes" | "NO" | "";
}

export const seconds = (ms: number | null | undefined) =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? "n/a" : `${(ms / 1000).toFixed(2)} s`;
export const millis = (ms: number | null | undefined) =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? "n/a" : ms >= 1000 ? seconds(ms) : `${Math.round(ms)} ms`;
/** "N of M", with how the failed ones ended (e.g. `503 x20, timeout x3`). */
export function failures(l: LoadSummary): string {
  const kinds = Object.entries(l.outcomes)
    .filter(([outcome]) => !/^[23]\d\d$/.test(outcome))
    .map(([outcome, n]) => `${outcome} x${n}`);
  return `${l.failed} of ${l.ok + l.failed}${kinds.length ? ` (${kinds.join(", ")})` : ""}`;
}
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const verdict = (ok: boolean | undefined): Row["meets"] => (ok === undefined ? "" : ok ? "yes" : "NO");

/** When the project notices a hung server: next check (<= inter), timeout check, then fall - 1 x (fastinter + timeout check). */
export function hangDetectionMs(t: ProjectTimings): number {
  return t.healthCheckIntervalMs + t.healthCheckTimeoutMs + (t.healthCheckFall - 1) * (t.fastIntervalMs + t.healthCheckTimeoutMs);
}

/**
 * The latency bound of scenario 2 from the project's config: a GET already sent to the hung server
 * gets no answer; after serverTimeoutMs, `retry-on response-timeout` with redispatch sends it to a
 * live server (one normal answer: 250 ms allowed on this noisy host). Health checks mark the server
 * DOWN within hangDetectionMs, which only keeps new requests away: since WebSockets moved to
 * api_ws, api_pool no longer cuts (or releases) the requests it holds on a DOWN server.
 */
export function hangBoundMs(t: ProjectTimings): number {
  return t.serverTimeoutMs + 250;
}

function failoverRows(r: Results): Row[] {
  const rows: Row[] = [];
  const dies = r.failover.dies ?? {};
  const hangs = r.failover.hangs ?? {};
  const t = r.settings.project;
  const load = (run?: FailoverRun) => (run ? failures(run.load) : "n/a");
  const down = (run?: FailoverRun) =>
    run && run.killToDownMs !== null
      ? `${seconds(run.killToDownMs)} (${seconds(run.killToDownMs - run.commandMs)} after the command returned)`
      : "n/a";
  if (dies.project || dies.anchor) {
    rows.push(
      {
        scenario: "1 backend dies",
        measure: "failed requests (50 req/s open-loop, keep-alive)",
        target: "0",
        project: load(dies.project),
        anchor: load(dies.anchor),
        meets: verdict(dies.project && dies.project.load.failed === 0),
      },
      {
        scenario: "1 backend dies",
        measure: "kill to DOWN on the admin socket",
        target: "<= 1.5 s",
        project: down(dies.project),
        anchor: down(dies.anchor),
        meets: verdict(dies.project && dies.project.killToDownMs !== null && dies.project.killToDownMs <= 1500),
      },
      {
        scenario: "1 backend dies",
        measure: "p99 / max latency of ok requests, whole window",
        target: "",
        project: `${millis(dies.project?.load.p99Ms)} / ${millis(dies.project?.load.maxMs)}`,
        anchor: `${millis(dies.anchor?.load.p99Ms)} / ${millis(dies.anchor?.load.maxMs)}`,
        meets: "",
      },
      {
        scenario: "3 WebSocket pinned",
        measure: "kill to reconnected on the survivor, stale cookie",
        target: "<= 1.5 s",
        project: socket(dies.project),
        anchor: socket(dies.anchor),
        meets: verdict(
          dies.project?.socket &&
            dies.project.socket.reconnectedAfterMs !== null &&
            dies.project.socket.reconnectedAfterMs <= 1500 &&
            dies.project.socket.reconnectedTo !== dies.project.socket.pinnedTo,
        ),
      },
    );
  }
  if (hangs.project || hangs.anchor) {
    rows.push(
      {
        scenario: "2 backend hangs",
        measure: "failed GETs (50 req/s open-loop, keep-alive)",
        target: "0",
        project: load(hangs.project),
        anchor: load(hangs.anchor),
        meets: verdict(hangs.project && hangs.project.load.failed === 0),
      },
      {
        scenario: "2 backend hangs",
        measure: `p99 / max latency of ok GETs (bound: serverTimeoutMs ${seconds(t.serverTimeoutMs)}, then retried elsewhere)`,
        target: `<= ${seconds(hangBoundMs(t))}`,
        project: `${millis(hangs.project?.load.p99Ms)} / ${millis(hangs.project?.load.maxMs)}`,
        anchor: `${millis(hangs.anchor?.load.p99Ms)} / ${millis(hangs.anchor?.load.maxMs)}`,
        meets: verdict(hangs.project && hangs.project.load.p99Ms <= hangBoundMs(t)),
      },
      {
        scenario: "2 backend hangs",
        measure: `pause to DOWN (config: <= ${seconds(hangDetectionMs(t))})`,
        target: "",
        project: down(hangs.project),
        anchor: down(hangs.anchor),
        meets: "",
      },
    );
  }
  return rows;
}

function socket(run?: FailoverRun): string {
  const s = run?.socket;
  if (!s) return "n/a";
  if (s.reconnectedAfterMs === null)
    return s.closedAfterMs === null ? "never closed" : `closed at ${seconds(s.closedAfterMs)}, no reconnect`;
  return `${seconds(s.reconnectedAfterMs)} (closed at ${seconds(s.closedAfterMs)})${s.reconnectedTo === s.pinnedTo ? " SAME BACKEND" : ""}`;
}

function reconfigRows(c?: ReconfigResult): Row[] {
  if (!c) return [];
  const cell = (w: ReconfigWindow) => `${failures(w)}; apply ${seconds(w.actionMs)}, p99 ${millis(w.p99Ms)}`;
  const row = (measure: string, w: Record<ConfigName, ReconfigWindow>): Row => ({
    scenario: "4 reconfiguration",
    measure,
    target: "0",
    project: cell(w.project),
    anchor: cell(w.anchor),
    meets: verdict(w.project.failed === 0),
  });
  return [
    row("failed requests: health edit fall +1, then back (2 applies)", c.healthEdit),
    row("failed requests: scale-out backend-api 2 -> 3", c.scaleOut),
    row("failed requests: scale-in backend-api 3 -> 2", c.scaleIn),
    row(`failed requests: the unchanged file applied ${REAPPLIES} times in a row (project reload, anchor restart)`, c.reapplies),
  ];
}

function localityRows(l?: Record<ConfigName, LocalityRun>): Row[] {
  if (!l) return [];
  const moved = (m: Movement) => `${pct(m.movedFraction)} (${m.moved} of ${TRACK_COUNT})`;
  const rows: Row[] = [];
  for (const [step, what] of [
    ["add", "add stream-server-3"],
    ["remove", "remove stream-server-1"],
  ] as const) {
    const p = l.project[step];
    const a = l.anchor[step];
    const bound = 1.15 / p.servers;
    rows.push(
      {
        scenario: "5 hash locality",
        measure: `${what}: ids moved`,
        target: `<= ${pct(bound)} (1.15/${p.servers})`,
        project: moved(p),
        anchor: moved(a),
        meets: verdict(p.movedFraction <= bound),
      },
      {
        scenario: "5 hash locality",
        measure: `${what}: ids moved between servers that stayed`,
        target: "0",
        project: `${p.movedBetweenStayed}`,
        anchor: `${a.movedBetweenStayed}`,
        meets: verdict(p.movedBetweenStayed === 0),
      },
    );
  }
  return rows;
}

function speedRows(cold?: ColdStart, scale?: ScaleSpeed, finalDestroyMs?: number): Row[] {
  const rows: Row[] = [];
  const rawCell = (t: Timed) =>
    t.raw
      ? `raw incus launch x${t.raw.containers}: ${seconds(t.raw.launchMs)}, ratio ${t.ratio?.toFixed(2)} (+ boot: ${seconds(t.raw.bootedMs)}, ratio ${(t.ms / t.raw.bootedMs).toFixed(2)})`
      : "";
  if (cold) {
    rows.push(
      {
        scenario: "6 tool speed",
        measure: "empty -> all servers UP (pulumi up)",
        target: "",
        project: seconds(cold.emptyToUp.ms),
        anchor: rawCell(cold.emptyToUp),
        meets: "",
      },
      {
        scenario: "6 tool speed",
        measure: "no-change pulumi preview",
        target: "",
        project: seconds(cold.preview.ms),
        anchor: "",
        meets: "",
      },
      ...(cold.upNoChange
        ? [
            {
              scenario: "6 tool speed",
              measure: "no-change pulumi up (its preview, then nothing to apply)",
              target: "",
              project: seconds(cold.upNoChange.ms),
              anchor: "",
              meets: "" as const,
            },
          ]
        : []),
      {
        scenario: "6 tool speed",
        measure: "pulumi destroy (full stack)",
        target: "",
        project: seconds(finalDestroyMs ?? cold.destroyMs),
        anchor: "",
        meets: "",
      },
    );
  }
  if (scale) {
    rows.push(
      {
        scenario: "6 tool speed",
        measure: "scale-out by 1 backend (to UP; best of 2)",
        target: "",
        project: seconds(scale.outBy1.ms),
        anchor: rawCell(scale.outBy1),
        meets: "",
      },
      {
        scenario: "6 tool speed",
        measure: "scale-out by 6 backends (to UP; best of 2)",
        target: "",
        project: seconds(scale.outBy6.ms),
        anchor: rawCell(scale.outBy6),
        meets: "",
      },
      {
        scenario: "6 tool speed",
        measure: "scale-out time, by 6 / by 1",
        target: "<= 1.5",
        project: scale.ratio6to1.toFixed(2),
        anchor: `raw incus launch: ${scale.rawRatio6to1.toFixed(2)}; raw launch + boot: ${scale.rawBootRatio6to1.toFixed(2)}`,
        meets: verdict(scale.ratio6to1 <= 1.5),
      },
    );
  }
  return rows;
}

function overheadRows(o?: Record<ConfigName, OverheadRun>): Row[] {
  if (!o) return [];
  const cell = (run: OverheadRun) =>
    `${run.ratio.toFixed(2)} (${Math.round(run.viaLb.requestsPerSecond)} vs ${Math.round(run.direct.requestsPerSecond)} req/s, p99 ${millis(run.viaLb.p99Ms)})`;
  return [
    {
      scenario: "7 LB overhead",
      measure: `req/s through the LB / direct to one backend (${OVERHEAD_LOAD})`,
      target: "",
      project: cell(o.project),
      anchor: cell(o.anchor),
      meets: "",
    },
  ];
}

function bisectRows(b?: BisectRun): Row[] {
  if (!b) return [];
  const anchor = b.viaLb.anchor;
  return Object.entries(b.viaLb)
    .filter(([name]) => name !== "anchor")
    .map(([name, run]) => ({
      scenario: "7 LB overhead",
      measure: `bisect, project's file ${name === AS_DEPLOYED ? name : `as deployed but ${name}`}: req/s through the LB / the anchor's (${BISECT_LOAD})`,
      target: "",
      project: `${b.ratioToAnchor[name].toFixed(2)} (${Math.round(run.requestsPerSecond)} req/s, p99 ${millis(run.p99Ms)})`,
      anchor: `${Math.round(anchor.requestsPerSecond)} req/s, p99 ${millis(anchor.p99Ms)}`,
      meets: "",
    }));
}

/** The issue's bound: the other node answers within 1 s of the kill. */
const TAKEOVER_BOUND_MS = 1_000;

/** What scenarios 9 and 13 both measure of an edge that lost its node or its host. */
type OutageFigures = Pick<LbNodeRun, "firstAnswerMs" | "failedInFlight" | "failedWhileDown" | "failedAfterAnswer" | "load">;

/** "in flight / while down / after the first answer of total (outcomes)". */
const lost = (run?: OutageFigures) =>
  run
    ? `${run.failedInFlight} / ${run.failedWhileDown} / ${run.failedAfterAnswer} of ${run.load.ok + run.load.failed}${failures(run.load).replace(/^\d+ of \d+/, "")}`
    : "n/a";

function lbNodeRows(l?: Partial<Record<ConfigName, LbNodeRun>>): Row[] {
  if (!l) return [];
  const { project, anchor } = l;
  return [
    {
      scenario: "9 LB node dies",
      measure: `incus stop --force of the node clients reach, to the first answer (project: the other node of the pair; anchor: the seed's one node, incus start at +${seconds(RESTART_AFTER_MS)})`,
      target: `<= ${seconds(TAKEOVER_BOUND_MS)}`,
      project: `${seconds(project?.firstAnswerMs)}${project?.addressStayed === undefined ? "" : `; dead node back as standby, address stayed: ${project.addressStayed ? "yes" : "NO"}`}`,
      anchor: anchor
        ? `${seconds(anchor.firstAnswerMs)}, of which incus start to the first answer ${seconds((anchor.firstAnswerMs ?? NaN) - (anchor.startAtMs ?? NaN))}`
        : "n/a",
      meets: verdict(project && project.firstAnswerMs !== null && project.firstAnswerMs <= TAKEOVER_BOUND_MS),
    },
    {
      scenario: "9 LB node dies",
      measure: `failed requests (${LOAD_RATE} req/s open-loop, a fresh connection each): in flight at the stop / sent while down / sent after the first answer`,
      target: "0 after the first answer",
      project: lost(project),
      anchor: lost(anchor),
      meets: verdict(project && project.failedAfterAnswer === 0),
    },
  ];
}

function previewRows(p?: PreviewCost): Row[] {
  if (!p) return [];
  const trivial = `trivial program (bench/fixtures/trivial, ${p.trivial.summary || "no changes"}): ${seconds(p.trivial.medianMs)}`;
  const cell = (s: PreviewSeries, ratio: number) =>
    `${seconds(s.medianMs)}, ${ratio.toFixed(2)}x trivial (runs: ${s.ms.map((ms) => (ms / 1000).toFixed(2)).join(", ")})`;
  const what = p.noChange.summary && !/^\d+ unchanged$/.test(p.noChange.summary) ? `preview (${p.noChange.summary})` : "no-change preview";
  const from = p.programMode === "build" ? "bin/" : "the sources, transpile-only: bin/ was stale";
  return [
    {
      scenario: "8 preview cost",
      measure: `${what} of stack ${p.stack}, program from ${from}; median of ${p.rounds}`,
      target: `<= ${PREVIEW_TARGET_RATIO}x trivial`,
      project: cell(p.noChange, p.noChangeRatio),
      anchor: trivial,
      meets: verdict(p.noChangeRatio <= PREVIEW_TARGET_RATIO),
    },
    {
      scenario: "8 preview cost",
      measure: `refused preview (veza-infra:healthCheckFall 0) of stack ${p.stack}; median of ${p.rounds}`,
      target: `<= ${PREVIEW_TARGET_RATIO}x trivial`,
      project: cell(p.refused, p.refusedRatio),
      anchor: trivial,
      meets: verdict(p.refusedRatio <= PREVIEW_TARGET_RATIO),
    },
    // Runs saved before the "before" series existed have no typeChecked.
    ...(p.typeChecked
      ? [
          {
            scenario: "8 preview cost",
            measure: `before issue 11: the same no-change preview with ts-node type-checking index.ts (typescript: true, no main:); median of ${p.rounds}`,
            target: "",
            project: cell(p.typeChecked, p.typeChecked.medianMs / p.trivial.medianMs),
            anchor: `now (bin/): ${seconds(p.noChange.medianMs)}, ${(p.typeChecked.medianMs / p.noChange.medianMs).toFixed(2)}x faster`,
            meets: "" as const,
          },
        ]
      : []),
  ];
}

/** "master 9.1 MB / 45 fds; 1 worker 10.2 MB / 60 fds" */
function processesCell(all: HaproxyProcess[]): string {
  const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
  const workers = all.filter((p) => p.role === "worker");
  const master = all.find((p) => p.role === "master");
  const sum = (f: (p: HaproxyProcess) => number) => workers.reduce((total, p) => total + f(p), 0);
  return `${master ? `master ${mb(master.rssKb)} / ${master.fds} fds` : "no master"}; ${workers.length} worker(s) ${mb(sum((p) => p.rssKb))} / ${sum((p) => p.fds)} fds`;
}

function soakRows(s?: SoakResult): Row[] {
  if (!s) return [];
  const scenario = `10 soak (${s.minutes} min)`;
  const reloads = s.events.filter((e) => e.kind === "reload");
  const restarts = s.events.filter((e) => e.kind === "restart");
  const failedEvents = s.events.filter((e) => e.error);
  const counts = s.samples.map((p) => p.processes);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  return [
    {
      scenario,
      measure: `failed requests (${s.rate} req/s open-loop, keep-alive; pulumi up every ${RELOAD_EVERY_MS / 1000} s, a backend restart every ${RESTART_EVERY_MS / 1000} s)`,
      target: "0",
      project: `${failures(s.load)}; ${s.load.keepAliveRetries} keep-alive retries; p99 ${millis(s.load.p99Ms)}, max ${millis(s.load.maxMs)}`,
      anchor: "",
      meets: verdict(s.load.failed === 0),
    },
    {
      scenario,
      measure: "reloads / backend restarts done (median time; failed ones)",
      target: "",
      project: `${reloads.length} pulumi up (${seconds(median(reloads.map((e) => e.ms)))}) / ${restarts.length} restarts to UP (${seconds(median(restarts.map((e) => e.ms)))}); ${failedEvents.length} failed${failedEvents.length ? `: ${failedEvents.map((e) => `${e.kind} at ${seconds(e.t)}`).join(", ")}` : ""}`,
      anchor: "",
      meets: "",
    },
    {
      scenario,
      measure: "HAProxy processes, sampled every few seconds: min / median / max",
      target: "",
      project: counts.length ? `${Math.min(...counts)} / ${median(counts)} / ${Math.max(...counts)} (${counts.length} samples)` : "n/a",
      anchor: "",
      meets: "",
    },
    {
      scenario,
      measure: "HAProxy RSS / open fds at the start",
      target: "",
      project: processesCell(s.start),
      anchor: "",
      meets: "",
    },
    {
      scenario,
      measure: "HAProxy RSS / open fds at the end",
      target: "",
      project: processesCell(s.end),
      anchor: "",
      meets: "",
    },
  ];
}

function edgeLimitsRows(run?: EdgeLimitsRun): Row[] {
  if (!run) return [];
  const side = (r: CannonResult) => `${Math.round(r.requestsPerSecond)} req/s, p99 ${r.p99Ms} ms, ${r.non2xx} non-2xx, ${r.errors} errors`;
  return [
    {
      scenario: "11 edge limits",
      measure: `req/s through the LB with the per-client limits on (every request tracked, none refused) / off (20 connections, ${LIMITS_ROUNDS} rounds of ${LIMITS_DURATION_S} s per side back to back; median of the rounds' ratios)`,
      target: "",
      project: `${run.ratio.toFixed(2)} (rounds ${run.roundRatios.map((r) => r.toFixed(2)).join(", ")}; median rounds, on: ${side(run.on)}; off: ${side(run.off)})`,
      anchor: "",
      meets: "",
    },
  ];
}

export function tableRows(r: Results): Row[] {
  return [
    ...failoverRows(r),
    ...reconfigRows(r.reconfig),
    ...localityRows(r.locality),
    ...speedRows(r.cold, r.scale, r.finalDestroyMs),
    ...overheadRows(r.overhead),
    ...bisectRows(r.overheadBisect),
    ...lbNodeRows(r.lbNode),
    ...previewRows(r.preview),
    ...soakRows(r.soak),
    ...edgeLimitsRows(r.limits),
  ].sort((a, b) => Number(a.scenario.split(" ")[0]) - Number(b.scenario.split(" ")[0]));
}

export function markdownTable(rows: Row[]): string {
  const header = ["scenario", "measure", "target", "project", "anchor (seed) / reference", "project meets target"];
  const escape = (cell: string) => cell.replace(/\|/g, "\\|");
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${[r.scenario, r.measure, r.target, r.project, r.anchor, r.meets].map(escape).join(" | ")} |`),
  ].join("\n");
}

/** The failover timeline of one kind, project above anchor, on one time axis. */
export function failoverSvg(kind: FailureKind, runs: Partial<Record<ConfigName, FailoverRun>>): string | undefined {
  const panels: TimelinePanel[] = [];
  for (const [config, run] of Object.entries(runs) as [ConfigName, FailoverRun][]) {
    const markers = [{ t: 0, label: kind === "dies" ? "incus stop --force" : "incus pause" }];
    if (run.killToDownMs !== null) markers.push({ t: run.killToDownMs, label: `DOWN +${seconds(run.killToDownMs)}` });
    const ws = run.socket?.reconnectedAfterMs;
    panels.push({
      label: config === "project" ? "project (components/haproxyConfig.ts)" : "anchor (seed's role, bench/anchor.cfg.mustache)",
      summary: `${run.load.failed} failed / ${run.load.ok} ok, p99 ${millis(run.load.p99Ms)}, max ${millis(run.load.maxMs)}${ws ? `, WebSocket back on survivor at ${seconds(ws)}` : ""}`,
      buckets: run.buckets,
      states: run.states,
      markers,
    });
  }
  if (panels.length === 0) return undefined;
  // The project's failover is over in about a second: the same run again, zoomed in.
  const project = runs.project;
  if (project && runs.anchor) {
    const end = Math.max(2_500, (project.killToDownMs ?? 0) + 1_500);
    panels.push({ ...panels[0], label: "project, zoomed", range: [-500, end] });
  }
  const title =
    kind === "dies"
      ? "backend-api-1 dies under 50 req/s (keep-alive) through the LB"
      : "backend-api-1 hangs (frozen) under 50 req/s (keep-alive GETs) through the LB";
  return timelineSvg(
    title,
    "requests by the 100 ms they were sent in, and how they ended; band: backend-api-1 as the admin socket reports it; t = 0: the command",
    panels,
  );
}

/** The LB-node timeline: the pair's takeover above the seed's node down until restarted, on one time axis. */
export function lbNodeSvg(runs: Partial<Record<ConfigName, LbNodeRun>>): string | undefined {
  const panels: TimelinePanel[] = [];
  for (const [config, run] of Object.entries(runs) as [ConfigName, LbNodeRun][]) {
    const answered = run.firstAnswerMs ?? run.window.toMs;
    const markers = [{ t: -run.stopCommandMs, label: `incus stop --force ${run.victim}` }];
    if (run.startAtMs !== undefined) markers.push({ t: run.startAtMs, label: "incus start" });
    if (run.firstAnswerMs !== null)
      markers.push({
        t: run.firstAnswerMs,
        label: `first answer +${seconds(run.firstAnswerMs)}${config === "project" ? " (other node)" : ""}`,
      });
    panels.push({
      label: config === "project" ? "project (HAProxy pair, keepalived virtual IP)" : "anchor (the seed's one HAProxy node)",
      summary: `${run.load.failed} failed / ${run.load.ok} ok (in flight at the stop ${run.failedInFlight}, while down ${run.failedWhileDown}, after ${run.failedAfterAnswer})`,
      buckets: run.buckets,
      // The edge as the clients saw it: answering until the stop returned, then not until the first answer.
      states: [
        { from: run.window.fromMs, to: 0, status: "UP" },
        { from: 0, to: answered, status: "DOWN" },
        { from: answered, to: run.window.toMs, status: "UP" },
      ],
      markers,
    });
  }
  if (panels.length === 0) return undefined;
  return timelineSvg(
    `LB node dies (incus stop --force) under ${LOAD_RATE} req/s, a fresh connection per request`,
    "requests by the 100 ms they were sent in, and how they ended; band: the edge answering (UP/DOWN, from the load); t = 0: the stop returned",
    panels,
  );
}

export function latestMarkdown(r: Results, table: string, commit: string): string {
  const a = r.settings.anchor;
  return `# Bench: latest run

\`npm run bench\` on ${r.host.nproc} cores, ${r.startedAt} (commit ${commit}), ${r.elapsedS?.toFixed(0)} s. Results:
\`${r.files.find((f) => f.endsWith(".json")) ?? "n/a"}\`. Project and anchor measured side by side on the same
containers in one run; the anchor is bench/anchor.cfg.mustache (the seed's role: check inter ${a.healthCheckIntervalMs} fall ${a.healthCheckFall}
rise ${a.healthCheckRise}, slowstart ${a.gracefulDrainSeconds}s, on-marked-down shutdown-sessions, timeouts connect ${a.connectTimeoutMs} ms /
client ${a.clientTimeoutMs} ms / server ${a.serverTimeoutMs} ms / tunnel ${a.tunnelTimeoutSeconds} s, no timeout check, HAProxy's default retries 3
without redispatch), applied with \`systemctl restart haproxy\`.

${table}

![failover timeline](timeline-backend-dies.svg)

![LB node dies timeline](timeline-lb-node-dies.svg)
${r.soak ? "\n![soak](soak.svg)\n" : ""}${r.rollout ? `\n${rolloutSection(r.rollout, r)}\n` : ""}${r.hostDies ? `\n${hostDiesSection(r.hostDies, r.lbNode, r)}` : ""}`;
}

/** The issue's bound on the project's rollout: each instance within this many times its floor. */
export const ROLLOUT_RATIO_TARGET = 1.5;
/** The comments that open and close a section of bench/LATEST.md which a partial run replaces on its own. */
export interface SectionMarkers {
  begin: string;
  end: string;
}

export const ROLLOUT_MARKERS: SectionMarkers = { begin: "<!-- version rollout: begin -->", end: "<!-- version rollout: end -->" };
const VARIANT_LABELS: Record<Variant, string> = {
  project: "project: `pulumi up`, FleetRollout",
  allAtOnce: "all at once (before the rollout): swap + restart every instance together",
  runbook: "seed's runbook by a script: drain, 30 s, restart, ready; one at a time",
};

/**
 * Scenario 12's own section of bench/LATEST.md, between markers so that a run of that scenario
 * alone (`--only rollout`) replaces it and leaves the rest of the file as the last full run wrote it.
 */
export function rolloutSection(o: RolloutResult, r: Pick<Results, "startedAt" | "host" | "files">): string {
  const rows: string[] = [];
  for (const size of o.sizes) {
    for (const [variant, run] of Object.entries(size.variants) as [Variant, VariantRun][]) {
      const target = variant === "project" ? `0; <= ${ROLLOUT_RATIO_TARGET}` : "";
      const meets = variant === "project" ? verdict(run.failed === 0 && run.medianRatio <= ROLLOUT_RATIO_TARGET) : "";
      const total = `${seconds(run.actionMs)}${run.canaryMs ? ` (of which the canary's watch ${seconds(run.canaryMs)})` : ""}`;
      const instances = run.instances
        .map((i) => `${i.server} ${seconds(i.ms)} / ${seconds(i.floorMs)} (drain ${seconds(i.drainMs)})`)
        .join("; ");
      const answered = run.answeredAfter.join(", ") === run.to ? run.to : `${run.answeredAfter.join(", ")} (expected ${run.to})`;
      rows.push(
        `| ${[size.backends, VARIANT_LABELS[variant], `${run.from} -> ${answered}`, failures(run), total, run.medianRatio.toFixed(2), instances, target, meets].join(" | ")} |`,
      );
    }
  }
  const floors = o.sizes
    .map((s) => `${s.backends} backends ${seconds(s.stopStartMs)} (runs: ${s.stopStartRunsMs.map((ms) => seconds(ms)).join(", ")})`)
    .join("; ");
  const json = r.files.find((f) => f.endsWith(".json")) ?? "n/a";
  return `${ROLLOUT_MARKERS.begin}
## 12 version rollout

\`npm run bench -- --only rollout\` on ${r.host.nproc} cores, ${r.startedAt} (commit ${String(r.host.commit).slice(0, 7)}), results
\`${json}\`. backend-api gets a new release (the Go fixture, tests/fixtures/service: 1 s to start, graceful
stop on SIGTERM) under ${LOAD_RATE} req/s open-loop keep-alive GETs through the load balancer, three ways, on 2 then 6
backends, each from every server UP at full weight; the load runs 2 s before and after each. The project's rollout runs
with every setting at its default: drain time-out ${o.drainTimeoutSeconds} s, maxUnavailable 1, canary watched
${o.canarySeconds} s (a fixed cost once per rollout, included in its duration: it is the time the canary serves alone
before the others follow). All at once: the new program pushed beside the old in every container, then in parallel
moved in place and \`systemctl restart\`; then the stack is told (config set, \`pulumi up\` finds nothing to roll).
The runbook (the seed's Operations section): \`state drain\` on every node, ${seconds(o.runbookDrainMs)}, push,
\`systemctl restart veza-backend-api\`, \`state ready\` at once, as the seed writes it.

Per instance: measured / floor, the floor being the instance's drain wait + the fixture's stop and start (a
\`systemctl restart\` until its health check answers, measured in a container held in maintenance: ${floors}) + rise checks
(healthCheckRise x healthCheckIntervalMs = ${seconds(o.riseMs)}). Measured is, for the project, the rollout's own line
(drain to UP on every node, then ready); all at once, the restart command to UP on every node; the runbook, drain to
\`ready\` returned (it does not wait for the service nor the checks, so it can come under its floor). The ratio is the
median over the instances.

| backends | variant | releases (after: answered by) | failed requests | rollout duration | per instance: median ratio to the floor | per instance: measured / floor | project's target: failed; ratio | meets |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}
${ROLLOUT_MARKERS.end}`;
}

export const HOST_DIES_MARKERS: SectionMarkers = { begin: "<!-- host dies: begin -->", end: "<!-- host dies: end -->" };

/** One column of the host-dies section's table: a run of scenario 9 or 13. */
interface OutageColumn {
  label: string;
  /** What was killed, and what t = 0 is. */
  killed: string;
  zero: string;
  /** How long the command that killed it took: t = 0 is when it returned. */
  fromCommandMs: number;
  /** Scenario 13: when the last failed request was sent (null: none). */
  lastFailedSentMs?: number | null;
  run: OutageFigures;
  /** When the bench brought back what died (the anchors), and with what. */
  back?: { atMs: number; command: string };
}

/** Scenario 9's and 13's runs, each as the project and the anchor that ran. */
interface OutagePair {
  scenario: string;
  project?: OutageColumn;
  anchor?: OutageColumn;
}

function outagePairs(lbNode: Partial<Record<ConfigName, LbNodeRun>>, hostDies: Partial<Record<ConfigName, HostDiesRun>>): OutagePair[] {
  const stopped = (run: LbNodeRun) => ({
    killed: `\`incus stop --force ${run.victim}\``,
    zero: `the stop returned (it took ${seconds(run.stopCommandMs)})`,
    fromCommandMs: run.stopCommandMs,
    run,
  });
  const killed = (run: HostDiesRun) => ({
    killed: `\`kill-member ${run.member}\` (${run.containers.join(", ")}; clients on ${run.victim})`,
    zero: `kill-member returned (it took ${seconds(run.killCommandMs)})`,
    fromCommandMs: run.killCommandMs,
    lastFailedSentMs: run.lastFailedSentMs,
    run,
  });
  const nine = "9 LB node dies";
  const thirteen = "13 host dies";
  return [
    {
      scenario: nine,
      project: lbNode.project && { label: `${nine}: project (pair)`, ...stopped(lbNode.project) },
      anchor: lbNode.anchor && {
        label: `${nine}: anchor (seed's one node)`,
        ...stopped(lbNode.anchor),
        back: lbNode.anchor.startAtMs === undefined ? undefined : { atMs: lbNode.anchor.startAtMs, command: "`incus start`" },
      },
    },
    {
      scenario: thirteen,
      project: hostDies.project && { label: `${thirteen}: project (cluster stack)`, ...killed(hostDies.project) },
      anchor: hostDies.anchor && {
        label: `${thirteen}: anchor (seed's layout, all on ${hostDies.anchor.member})`,
        ...killed(hostDies.anchor),
        back: hostDies.anchor.reviveAtMs === undefined ? undefined : { atMs: hostDies.anchor.reviveAtMs, command: "`revive-member`" },
      },
    },
  ];
}

/** Whether anything answered before what died was brought back, and how long after that the first answer came. */
function backCells(c: OutageColumn): [string, string] {
  if (!c.back) return ["nothing brought back: the other node took over", ""];
  const first = c.run.firstAnswerMs;
  const before = first !== null && first < c.back.atMs ? `yes, at ${seconds(first)}` : `no answer within ${seconds(c.back.atMs)}`;
  return [`${before}; ${c.back.command} at ${seconds(c.back.atMs)}`, first === null ? "no answer" : seconds(first - c.back.atMs)];
}

const okShare = (run: OutageFigures) => {
  const total = run.load.ok + run.load.failed;
  return `${run.load.ok} / ${total} (${pct(total ? run.load.ok / total : NaN)})`;
};

/** The command started -> the first answer to a request sent after t = 0. */
const outageMs = (c: OutageColumn) => c.fromCommandMs + (c.run.firstAnswerMs ?? NaN);

/**
 * "anchor / project" of the outage and the share answered, for one scenario run both ways. The
 * outage is counted from the command's start: the project's other node may take over before the
 * command returns (t = 0 -> first answer near 0), so its figure is an upper bound.
 */
function outageRatio({ scenario, project, anchor }: OutagePair): string | undefined {
  if (!project || !anchor || project.run.firstAnswerMs === null || anchor.run.firstAnswerMs === null) return undefined;
  const share = (c: OutageColumn) => c.run.load.ok / (c.run.load.ok + c.run.load.failed);
  return `- ${scenario}: command started -> first answer ${seconds(outageMs(project))} (project, at most) against ${seconds(outageMs(anchor))} (anchor): the anchor's outage ${(outageMs(anchor) / outageMs(project)).toFixed(1)}x the project's; requests answered ${pct(share(project))} against ${pct(share(anchor))} (the anchor's share depends on how long the bench waited before bringing it back).`;
}

/**
 * Scenario 13's own section of bench/LATEST.md, beside scenario 9 when it ran in the same run
 * (`--only lbnode,hostdies`), between markers so that a partial run replaces it alone.
 */
export function hostDiesSection(
  hostDies: Partial<Record<ConfigName, HostDiesRun>>,
  lbNode: Partial<Record<ConfigName, LbNodeRun>> | undefined,
  r: Pick<Results, "startedAt" | "host" | "files">,
): string {
  const pairs = outagePairs(lbNode ?? {}, hostDies);
  const columns = pairs.flatMap(({ project, anchor }) => [project, anchor]).filter((c): c is OutageColumn => c !== undefined);
  const row = (figure: string, cell: (c: OutageColumn) => string) => `| ${[figure, ...columns.map(cell)].join(" | ")} |`;
  const ratios = pairs.map(outageRatio).filter((line): line is string => line !== undefined);
  const json = r.files.find((f) => f.endsWith(".json")) ?? "n/a";
  const nine = lbNode
    ? "Scenario 9 ran in the same run, on the one-host lab's bench stack: the HAProxy container clients reach"
    : "Scenario 9 did not run in this one: its figures are the `9 LB node dies` rows of the table above, from the last full run. There, the HAProxy container clients reach is";
  return `${HOST_DIES_MARKERS.begin}
## 13 host dies, beside 9 LB node dies

\`${String(r.host.command ?? "npm run bench -- --only hostdies")}\` under \`flock /tmp/veza-cluster.lock\`, on ${r.host.nproc} cores, ${r.startedAt}
(commit ${String(r.host.commit).slice(0, 7)}), results \`${json}\`. Scenario 13 runs on the cluster lab (scripts/cluster-lab.sh,
docs/cluster-lab.md), built for it and torn down after: ${LOAD_RATE} req/s open loop, a fresh connection per request, to
\`GET /api/v1/items\` through the edge's address, while \`kill-member\` takes a member's links down, then SIGKILLs its daemon
and every container on it (a host losing power). Project: the \`cluster\` stack as committed (Pulumi.cluster.yaml), the HAProxy
pair and the fleets spread over m1 m2 m3; the member of the node holding the virtual IP is killed. Anchor: the seed's layout
on the same stack, every container on ${ANCHOR_MEMBER} (\`veza-infra:incusTarget\`; not m1, the database leader, whose death stalls
the Incus API) behind one HAProxy node (\`haproxyCount\` 1, reached at its own address); that member is killed, watched
${seconds(DARK_BOUND_MS)} for any answer, then revived (what the seed needs: the host back).
${nine} force-stopped, the anchor's one node started again ${seconds(RESTART_AFTER_MS)} after.
In both, t = 0 is when the killing command returned, what it killed dead for sure; requests sent while it ran count as in
flight at t = 0. Scenario 13's load runs ${seconds(SETTLE_MS)} before t = 0 and ${seconds(AFTER_ANSWER_MS)} after the first answer.

| figure | ${columns.map((c) => c.label).join(" | ")} |
| --- | ${columns.map(() => "---").join(" | ")} |
${row("what died", (c) => c.killed)}
${row("t = 0", (c) => c.zero)}
${row("t = 0 -> first answer to a request sent after t = 0", (c) => seconds(c.run.firstAnswerMs))}
${row("command started -> that first answer", (c) => seconds(outageMs(c)))}
${row("anything answered before it was brought back", (c) => backCells(c)[0])}
${row("brought back -> first answer", (c) => backCells(c)[1])}
${row("failed: in flight at t = 0 / sent while dark / sent after the first answer", (c) => lost(c.run))}
${row("last failed request sent at", (c) => (c.lastFailedSentMs === undefined ? "n/a" : c.lastFailedSentMs === null ? "none failed" : seconds(c.lastFailedSentMs)))}
${row(`answered but slower than ${SLOW_MS} ms / slowest answer`, (c) => `${c.run.load.slow} / ${millis(c.run.load.maxMs)}`)}
${row("requests answered / sent", (c) => okShare(c.run))}

Project against anchor:

${ratios.length ? ratios.join("\n") : "- (a side without a first answer: no ratio)"}
${HOST_DIES_MARKERS.end}`;
}

/** `existing` (bench/LATEST.md) with the section between `markers` replaced by `section`, or `section` appended. */
export function withSection(existing: string, section: string, markers: SectionMarkers): string {
  const begin = existing.indexOf(markers.begin);
  const end = existing.indexOf(markers.end);
  if (begin < 0 || end < begin) return `${existing.replace(/\n*$/, "")}\n\n${section}\n`;
  return existing.slice(0, begin) + section + existing.slice(end + markers.end.length);
}
