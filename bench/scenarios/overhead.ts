/**
 * Scenario 7: what the LB costs. The same autocannon load (20 connections, as fast as it goes)
 * straight at backend-api-1 and through the LB, alternating, once per config.
 */
import autocannon from "autocannon";
import { DEFAULTS } from "../../components/settings";
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

async function cannon(url: string): Promise<CannonResult> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
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
