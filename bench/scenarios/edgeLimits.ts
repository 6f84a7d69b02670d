/**
 * Scenario 11: what the per-client limits cost (edge protection, issue 22). Scenario 7's
 * autocannon load (20 connections, as fast as it goes) through the LB with the limits on and off,
 * alternating, median of rounds: on is the project's file as deployed with the bench host tracked
 * (no network exempt that holds it) and limits far above what the load sends, so every request is
 * counted and none refused; off is the same file without the limits' rules and tables, served as
 * scenario 7's bisect serves its variants. The ratio on / off is the price of the tracking: the
 * median of each round's own ratio, its two sides measured back to back, so the drift of this
 * shared host's load from one round to the next cancels out.
 */
import { LIMIT_API_REQUESTS, LIMIT_CONNECTIONS, LIMIT_THROTTLED } from "../../components/haproxy/haproxyConfig";
import { pulumi } from "../env";
import { BASE, Lb } from "../lb";
import { CannonResult, alternatingRounds, cannon, median, withoutLines } from "./overhead";

export const LIMITS_ROUNDS = 10;
export const LIMITS_DURATION_S = 3;
/** An unmeasured run first: the first seconds after an `up` are slower for both sides. */
const WARM_UP_S = 2;
/** Stack config of the "on" side; run.ts removes these keys again, with the other scenarios' own. */
export const EDGE_LIMITS_KEYS = ["rateLimitExemptSources", "rateLimitApiRequests", "rateLimitConnections"];
/** A network the bench host (10.77.0.1) is not in: TEST-NET-1, which no client of the bench uses. */
const NOT_THE_HOST = "192.0.2.0/24";

export interface EdgeLimitsRun {
  /** Median round of each side. */
  on: CannonResult;
  off: CannonResult;
  /** Median over the rounds of requests/s with the limits on divided by requests/s with them off. */
  ratio: number;
  /** Each round's on / off, in round order. */
  roundRatios: number[];
  rounds: { name: "on" | "off"; result: CannonResult }[];
}

/** Every line of the limits: their rules and the three tables (the comments stay, harmless). */
const withoutLimits = withoutLines(new RegExp(`track-sc|${LIMIT_API_REQUESTS}|${LIMIT_CONNECTIONS}|${LIMIT_THROTTLED}|limit_|stick-table`));

export async function edgeLimits(lb: Lb): Promise<EdgeLimitsRun> {
  await pulumi("config", "set", "--path", "veza-infra:rateLimitExemptSources[0]", NOT_THE_HOST);
  await pulumi("config", "set", "veza-infra:rateLimitApiRequests", "1000000");
  await pulumi("config", "set", "veza-infra:rateLimitConnections", "100000");
  await pulumi("up", "--yes", "--skip-preview");
  await lb.refresh();
  await lb.waitServing();
  let rounds: EdgeLimitsRun["rounds"];
  try {
    await cannon(lb.url("/api/v1/items"), WARM_UP_S);
    rounds = await alternatingRounds(
      lb,
      [
        { name: "on", apply: () => lb.use("project", BASE) },
        { name: "off", apply: () => lb.useVariant(withoutLimits) },
      ],
      LIMITS_ROUNDS,
      LIMITS_DURATION_S,
    );
  } finally {
    for (const key of EDGE_LIMITS_KEYS) await pulumi("config", "rm", `veza-infra:${key}`);
    await pulumi("up", "--yes", "--skip-preview");
    await lb.refresh();
    await lb.waitServing();
  }
  const side = (name: "on" | "off") => rounds.filter((r) => r.name === name).map((r) => r.result);
  const roundRatios = side("on").map((on, i) => on.requestsPerSecond / side("off")[i].requestsPerSecond);
  const ratio = [...roundRatios].sort((a, b) => a - b)[Math.floor(LIMITS_ROUNDS / 2)];
  return { on: median(side("on")), off: median(side("off")), ratio, roundRatios, rounds };
}
