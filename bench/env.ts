/**
 * The bench's own stack and its guards. Every `pulumi` command here names the `bench` stack
 * explicitly (never the selected stack, never `lab`), and every `incus` command that changes a
 * container first checks the container is one of the bench's (`bench-` prefix).
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { LabOutputs, REPO, StackOutputs, incus, run, withFirstNode } from "../tests/lab/harness";

export const BENCH_STACK = "bench";
/** Prefix of every container the bench stack makes (Pulumi.bench.yaml) and of the raw ones it launches. */
export const BENCH_PREFIX = "bench-";
export const REPO_DIR = REPO;
export const BENCH_DIR = path.join(REPO, "bench");
export const RESULTS_DIR = path.join(BENCH_DIR, "results");

/** Stack outputs of the bench stack, secrets shown. */
export interface BenchOutputs extends LabOutputs {
  haproxyConfigHash: string;
}

/**
 * Puts the pinned `pulumi` on PATH with the state backend and passphrase, as `source scripts/env.sh`
 * does, so `npm run bench` works from a plain shell.
 */
export function loadToolchainEnv(): void {
  const dump = execFileSync("bash", ["-c", "source scripts/env.sh >/dev/null && env -0"], { cwd: REPO, encoding: "utf8" });
  for (const entry of dump.split("\0")) {
    const eq = entry.indexOf("=");
    const key = entry.slice(0, eq);
    if (key === "PATH" || key.startsWith("PULUMI_")) process.env[key] = entry.slice(eq + 1);
  }
}

/** `pulumi <args> --stack bench --non-interactive`. */
export function pulumi(...args: string[]): Promise<string> {
  return run("pulumi", [...args, "--stack", BENCH_STACK, "--non-interactive"]);
}

export async function benchOutputs(): Promise<BenchOutputs> {
  return withFirstNode(
    JSON.parse(await pulumi("stack", "output", "--json", "--show-secrets")) as StackOutputs & { haproxyConfigHash: string },
  );
}

/** Creates the bench stack in the state backend when it is missing (Pulumi.bench.yaml keeps its salt). */
export async function ensureStack(): Promise<void> {
  const stacks = JSON.parse(await run("pulumi", ["stack", "ls", "--json", "--non-interactive"])) as { name: string }[];
  if (!stacks.some((s) => s.name === BENCH_STACK)) await run("pulumi", ["stack", "init", BENCH_STACK, "--no-select", "--non-interactive"]);
}

/** Refuses any container that is not the bench's own. */
export function ours(container: string): string {
  if (!container.startsWith(BENCH_PREFIX)) throw new Error(`refusing to touch ${container}: not a ${BENCH_PREFIX}* container`);
  return container;
}

/** `incus <verb> ... <container>` on a bench container only. */
export function incusOn(container: string, ...args: string[]): Promise<string> {
  return incus(...args, ours(container));
}

/** The logical server name (HAProxy server, cookie value) of a bench container. */
export function serverName(container: string): string {
  return ours(container).slice(BENCH_PREFIX.length);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wall-clock duration of `action` in milliseconds. */
export async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await action();
  return { ms: performance.now() - started, value };
}
