/**
 * Scenario 7: what the LB costs. The same autocannon load (20 connections, as fast as it goes)
 * straight at backend-api-1 and through the LB, alternating, once per config. Then the bisect:
 * the project's file as deployed and with one feature taken out (or the request log put back),
 * each against the anchor, all through the LB on the same containers.
 */
import autocannon from "autocannon";
import { DEFAULTS } from "../../stack/settings";
import { BASE, CONFIGS, ConfigName, Lb } from "../lb";

const CONNECTIONS = 20;
/** 10 s per target and config, as two alternating 5 s runs (direct, LB, direct, LB): this host is shared. */
const DURATION_S = 5;
const ROUNDS = 2;

export interface CannonResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  errors: number;
  non2xx: number;
}

export async function cannon(url: string, durationS = DURATION_S): Promise<CannonResult> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: durationS });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export interface OverheadRun {
  /** Mean of the rounds (requests/s, latencies), sums (counts). */
  direct: CannonResult;
  viaLb: CannonResult;
  /** requests/s through the LB divided by requests/s straight at one backend. */
  ratio: number;
  rounds: { direct: CannonResult; viaLb: CannonResult }[];
}

function mean(results: CannonResult[]): CannonResult {
  const avg = (key: keyof CannonResult) => results.reduce((sum, r) => sum + r[key], 0) / results.length;
  const sum = (key: keyof CannonResult) => results.reduce((total, r) => total + r[key], 0);
  return {
    requestsPerSecond: avg("requestsPerSecond"),
    p50Ms: avg("p50Ms"),
    p99Ms: avg("p99Ms"),
    total: sum("total"),
    errors: sum("errors"),
    non2xx: sum("non2xx"),
  };
}

export async function overhead(lb: Lb): Promise<Record<ConfigName, OverheadRun>> {
  const runs = {} as Record<ConfigName, OverheadRun>;
  for (const config of CONFIGS) {
    await lb.use(config, BASE);
    const rounds: OverheadRun["rounds"] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const direct = await cannon(`http://${lb.out.backendApiAddresses[0]}:${DEFAULTS.backendApiPort}/api/v1/items`);
      rounds.push({ direct, viaLb: await cannon(lb.url("/api/v1/items")) });
    }
    const direct = mean(rounds.map((r) => r.direct));
    const viaLb = mean(rounds.map((r) => r.viaLb));
    runs[config] = { direct, viaLb, ratio: viaLb.requestsPerSecond / direct.requestsPerSecond, rounds };
  }
  await lb.use("project", BASE);
  return runs;
}

export const OVERHEAD_LOAD = `${CONNECTIONS} connections, ${ROUNDS} x ${DURATION_S} s alternating`;

/** One edit of the project's live file, for the bisect; it must change the file. */
export interface BisectVariant {
  name: string;
  edit: (config: string) => string;
}

function edited(what: string, config: string, result: string): string {
  if (result === config) throw new Error(`bisect: ${what} is not in the project's haproxy.cfg`);
  return result;
}
export const withoutLines = (pattern: RegExp) => (config: string) =>
  edited(
    String(pattern),
    config,
    config
      .split("\n")
      .filter((line) => !pattern.test(line))
      .join("\n"),
  );

/**
 * The features the issue suspected (the request log, retry-on, the passive check), one at a time.
 * "every request logged" is the file as deployed before veza-infra:logEveryRequest existed (and
 * with it set true): the before of the logging fix.
 */
export const BISECT_VARIANTS: readonly BisectVariant[] = [
  { name: "every request logged (logEveryRequest true)", edit: withoutLines(/^\s*option dontlog-normal$/) },
  { name: "no log lines at all", edit: withoutLines(/^\s*(log\s|option httplog$|option dontlog-normal$)/) },
  { name: "no retry-on", edit: withoutLines(/^\s*retry-on\s/) },
  {
    name: "no observe layer4 (passive check)",
    edit: (config) => edited("observe layer4", config, config.replace(/ observe layer4 error-limit \d+ on-error sudden-death/, "")),
  },
];
/**
 * The bisect's rounds: more and shorter than the rest of scenario 7, and summed up by the median,
 * so that a burst of other work on this shared 2-core host spoils one round of one variant, not
 * its figure.
 */
const BISECT_ROUNDS = 4;
const BISECT_DURATION_S = 4;

export const AS_DEPLOYED = "as deployed";
export const BISECT_LOAD = `${CONNECTIONS} connections, ${BISECT_ROUNDS} x ${BISECT_DURATION_S} s per variant, alternating; median`;

/** The round with the median requests/s (the upper one of an even count). */
export function median(results: CannonResult[]): CannonResult {
  return [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(results.length / 2)];
}

export interface BisectRun {
  /** Median requests/s (and its round's latencies) by variant name (AS_DEPLOYED and "anchor" included). */
  viaLb: Record<string, CannonResult>;
  /** Median requests/s of each divided by the anchor's. */
  ratioToAnchor: Record<string, number>;
  /** Every measurement in the order taken: a round goes through the list, the next one backwards. */
  rounds: { name: string; result: CannonResult }[];
}

/** One config of an alternating series: its name and how it is made live. */
export interface Step<N extends string> {
  name: N;
  apply: () => Promise<void>;
}

/**
 * `rounds` passes over `steps`, every other pass backwards, one load of `durationS` per step, so
 * that a change in this shared host's load falls on every step alike; the project's file is put
 * back after. The measurements in the order taken.
 */
export async function alternatingRounds<N extends string>(
  lb: Lb,
  steps: Step<N>[],
  rounds: number,
  durationS: number,
): Promise<{ name: N; result: CannonResult }[]> {
  const measured: { name: N; result: CannonResult }[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const step of round % 2 === 0 ? steps : [...steps].reverse()) {
        await step.apply();
        measured.push({ name: step.name, result: await cannon(lb.url("/api/v1/items"), durationS) });
      }
    }
  } finally {
    await lb.use("project", BASE);
  }
  return measured;
}

export async function overheadBisect(lb: Lb): Promise<BisectRun> {
  const steps: Step<string>[] = [
    { name: AS_DEPLOYED, apply: () => lb.use("project", BASE) },
    ...BISECT_VARIANTS.map((v) => ({ name: v.name, apply: () => lb.useVariant(v.edit) })),
    { name: "anchor", apply: () => lb.use("anchor", BASE) },
  ];
  const rounds = await alternatingRounds(lb, steps, BISECT_ROUNDS, BISECT_DURATION_S);
  const viaLb = Object.fromEntries(steps.map((s) => [s.name, median(rounds.filter((r) => r.name === s.name).map((r) => r.result))]));
  const anchor = viaLb.anchor.requestsPerSecond;
  const ratioToAnchor = Object.fromEntries(Object.entries(viaLb).map(([name, r]) => [name, r.requestsPerSecond / anchor]));
  return { viaLb, ratioToAnchor, rounds };
}
