/**
 * How a fleet takes a new release: the options of a rolling restart, what they trade, and the
 * environment and plan of the fleet's rollout step (pure; the step is {@link FleetRollout}).
 */
import { Rules, argumentPath, completed, integer, problemsOf } from "../common/rules";

/**
 * Rolling restart of one fleet, applied to every change that restarts its service (program, unit,
 * environment). New instances (a scale-out) start at once: only instances that already serve roll.
 * Each field left out takes its default.
 */
export interface RolloutOptions {
  /**
   * Instances restarted at the same time after the canary (1..31), always fewer than the fleet:
   * more is a shorter rollout with less capacity left serving. Defaults to 1.
   */
  maxUnavailable?: number;
  /**
   * Longest wait, in seconds, for a draining instance's requests to end before it stops (0..3600).
   * Requests still running then are cut and retried elsewhere by HAProxy when they are GETs;
   * WebSockets are always moved, not waited for. Longer protects slow requests and lengthens every
   * rollout by at most that much per instance. Defaults to 10 (twice HAProxy's 5 s server time-out).
   */
  drainTimeoutSeconds?: number;
  /**
   * How long, in seconds, the first instance of a rollout (the canary) serves alone on the new
   * release, watched through HAProxy's counters, before the others follow (0..3600; 0 is no watch).
   * Longer catches slower failures and lengthens every rollout by that much once. Defaults to 10.
   */
  canarySeconds?: number;
  /**
   * Errors the canary may show on any HAProxy node during its watch before the rollout stops and
   * it goes back (0..1000000): failed health checks, 5xx answers, connection and response errors.
   * Being DOWN stops it at once whatever this says. Defaults to 0.
   */
  canaryMaxErrors?: number;
}

/** The rules of {@link RolloutOptions}, by field; the same for both fleets. */
export const ROLLOUT_RULES: Rules = {
  // Below the fleet's size too (FleetRollout, or the stack, checks that): a rollout never restarts a whole fleet.
  maxUnavailable: integer(1, 31, 1),
  drainTimeoutSeconds: integer(0, 3600, 10),
  canarySeconds: integer(0, 3600, 10),
  canaryMaxErrors: integer(0, 1_000_000, 0),
};

/** `given` with every default filled in, and its problems, each naming the field. */
export function completeRollout(given: RolloutOptions = {}): { rollout: Required<RolloutOptions>; problems: string[] } {
  const rollout = completed<Required<RolloutOptions>>(ROLLOUT_RULES, given);
  return { rollout, problems: problemsOf(ROLLOUT_RULES, (field) => rollout[field as keyof RolloutOptions], argumentPath) };
}

/** One instance of a fleet as its rollout sees it. */
export interface RolloutInstance {
  /** HAProxy server name, e.g. backend-api-1. */
  server: string;
  /** Container as the incus CLI names it. */
  ref: string;
  /** sha256 of the program and of the unit the instance is to run. */
  programSha256: string;
  unitSha256: string;
}

/** What a fleet's rollout step needs besides its instances. */
export interface RolloutTarget {
  service: "backend-api" | "stream-server";
  programFile: string;
  port: number;
  healthPath: string;
  /** How long a new release may take to answer its health check, then to be seen UP by every HAProxy node. */
  startTimeoutSeconds: number;
  /** The pool the instances serve in, and the pool that tracks it for WebSockets (or ""). */
  backend: string;
  tunnelBackend: string;
  /** The HAProxy nodes' refs. */
  nodes: string[];
}

/**
 * The environment of ROLLOUT_FLEET_SCRIPT. Each instance's line carries its release's digests, so a
 * new release changes the step and its preview shows which instances get it.
 */
export function rolloutEnvironment(
  target: RolloutTarget,
  instances: readonly RolloutInstance[],
  options: Required<RolloutOptions>,
): Record<string, string> {
  return {
    VEZA_SERVICE: target.service,
    VEZA_PROGRAM_FILE: target.programFile,
    VEZA_PORT: String(target.port),
    VEZA_HEALTH_PATH: target.healthPath,
    VEZA_BACKEND: target.backend,
    VEZA_TUNNEL_BACKEND: target.tunnelBackend,
    VEZA_NODES: target.nodes.join(" "),
    VEZA_INSTANCES: instances.map((i) => `${i.server} ${i.ref} ${i.programSha256.slice(0, 16)} ${i.unitSha256.slice(0, 16)}`).join("\n"),
    VEZA_MAX_UNAVAILABLE: String(options.maxUnavailable),
    VEZA_DRAIN_TIMEOUT: String(options.drainTimeoutSeconds),
    VEZA_START_TIMEOUT: String(target.startTimeoutSeconds),
    VEZA_CANARY_SECONDS: String(options.canarySeconds),
    VEZA_CANARY_MAX_ERRORS: String(options.canaryMaxErrors),
  };
}

/**
 * The preview's sentence for a rollout of `rolling` (server names, in order): who goes first, how
 * many at a time, with which bounds. Empty when nothing rolls.
 */
export function rolloutPlan(
  service: string,
  rolling: readonly string[],
  options: Required<RolloutOptions>,
  startTimeoutSeconds: number,
): string {
  if (rolling.length === 0) return "";
  const [canary, ...rest] = rolling;
  const watch = options.canarySeconds > 0 ? `watched ${options.canarySeconds} s, at most ${options.canaryMaxErrors} errors` : "not watched";
  const batches: string[] = [];
  for (let i = 0; i < rest.length; i += options.maxUnavailable) batches.push(rest.slice(i, i + options.maxUnavailable).join(" + "));
  const then = batches.length > 0 ? `, then ${batches.join(", then ")}` : "";
  return (
    `${service} rolls ${rolling.length} instance${rolling.length === 1 ? "" : "s"}: ${canary} first (canary, ${watch})${then}; ` +
    `each drained (at most ${options.drainTimeoutSeconds} s), restarted, and back once every HAProxy node sees it UP (at most ${startTimeoutSeconds} s)`
  );
}
