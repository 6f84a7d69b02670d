/**
 * Scenario 7: what the LB costs. The same autocannon load (20 connections, 10 s, as fast as it
 * goes) straight at backend-api-1 and then through the LB, back to back, once per config.
 */
import autocannon from "autocannon";
import { DEFAULTS } from "../../components/settings";
import { BASE, CONFIGS, ConfigName, Lb } from "../lb";

const CONNECTIONS = 20;
const DURATION_S = 10;

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
  direct: CannonResult;
  viaLb: CannonResult;
  /** requests/s through the LB divided by requests/s straight at one backend. */
  ratio: number;
}

export async function overhead(lb: Lb): Promise<Record<ConfigName, OverheadRun>> {
  const runs = {} as Record<ConfigName, OverheadRun>;
  for (const config of CONFIGS) {
    await lb.use(config, BASE);
    const direct = await cannon(`http://${lb.out.backendApiAddresses[0]}:${DEFAULTS.backendApiPort}/api/v1/items`);
    const viaLb = await cannon(lb.url("/api/v1/items"));
    runs[config] = { direct, viaLb, ratio: viaLb.requestsPerSecond / direct.requestsPerSecond };
  }
  await lb.use("project", BASE);
  return runs;
}

export const OVERHEAD_LOAD = `${CONNECTIONS} connections, ${DURATION_S} s`;
