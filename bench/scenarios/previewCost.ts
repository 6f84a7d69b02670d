/**
 * Scenario 8: what a `pulumi preview` costs, beside the engine's floor. In one run, interleaved
 * (so a change of load on this shared host hits all three alike), ROUNDS wall times each of:
 *   - the project's no-change preview of a stack (the bench stack once it is up);
 *   - a refused preview: the same stack's config with veza-infra:healthCheckFall 0, given through
 *     --config-file as a copy in a temporary directory (the stack's own file is never edited);
 *   - the preview of bench/fixtures/trivial (one Command, one RandomPassword, plain JavaScript) on
 *     its own throwaway stack of the same backend, deployed once so its preview is no-change too;
 *   - "before": the same no-change preview run the way the project ran before issue 11 (Pulumi.yaml
 *     without `main:` and with `typescript: true`, so ts-node type-checks index.ts on every run),
 *     from a shadow of the project: a temporary directory of symlinks to every file of the project
 *     but Pulumi.yaml, which is the project's own with those two lines changed. Same project name,
 *     same backend, same stack: only how the program is run differs.
 * Only previews of the measured stack run: no resource of it is created, changed or refreshed.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dump, load } from "js-yaml";
import { REPO_DIR, timed } from "../env";
import { percentile } from "../measure";

export const PREVIEW_ROUNDS = 5;
/** Targets: the no-change and the refused preview each within 1.3x the trivial program's. */
export const PREVIEW_TARGET_RATIO = 1.3;
export const TRIVIAL_DIR = path.join(REPO_DIR, "bench", "fixtures", "trivial");
export const TRIVIAL_STACK = "bench-trivial";
/** The refused value: validation (stack/validation.ts) accepts 1..100. */
export const REFUSED_KEY = "veza-infra:healthCheckFall";

export interface PreviewSeries {
  /** Wall time of each preview, in the order run. */
  ms: number[];
  medianMs: number;
  /** What the last one printed about changes ("no changes", "+ 23 to create", ...). */
  summary: string;
}

export interface PreviewCost {
  stack: string;
  rounds: number;
  /** How Pulumi ran the program: "build" (bin/, current) or "sources" (pulumi-main.js fell back). */
  programMode: "build" | "sources";
  noChange: PreviewSeries;
  refused: PreviewSeries;
  trivial: PreviewSeries;
  /** The no-change preview with ts-node type-checking the program, as before issue 11 (absent in runs saved before it was measured). */
  typeChecked?: PreviewSeries;
  /** noChange, refused and typeChecked medians over trivial's. */
  noChangeRatio: number;
  refusedRatio: number;
  typeCheckedRatio?: number;
}

interface Outcome {
  code: number | null;
  output: string;
}

/** Runs pulumi with stdout and stderr together; resolves with the exit code (no throw on failure). */
function pulumiIn(cwd: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", [...args, "--non-interactive", "--color", "never"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

async function mustPulumi(cwd: string, args: string[]): Promise<string> {
  const outcome = await pulumiIn(cwd, args);
  if (outcome.code !== 0)
    throw new Error(`pulumi ${args.join(" ")} (in ${path.relative(REPO_DIR, cwd) || "."}) failed:\n${outcome.output}`);
  return outcome.output;
}

/** The "Resources:" lines of a preview, on one line. */
export function changeSummary(output: string): string {
  const lines = output.split("\n");
  const at = lines.findIndex((line) => line.trim() === "Resources:");
  if (at < 0) return "";
  const body: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === "") break;
    body.push(line.trim());
  }
  return body.join(", ");
}

/** The trivial program's stack, created on first use and deployed once (a local `echo`, a random password). */
async function ensureTrivialStack(): Promise<void> {
  const stacks = JSON.parse(await mustPulumi(TRIVIAL_DIR, ["stack", "ls", "--json"])) as { name: string; resourceCount?: number }[];
  const stack = stacks.find((s) => s.name === TRIVIAL_STACK);
  if (!stack) await mustPulumi(TRIVIAL_DIR, ["stack", "init", TRIVIAL_STACK, "--no-select"]);
  if (!stack || !stack.resourceCount) await mustPulumi(TRIVIAL_DIR, ["up", "--yes", "--skip-preview", "--stack", TRIVIAL_STACK]);
}

/** A copy of Pulumi.<stack>.yaml with the refused value, in a temporary directory. */
function refusedConfigFile(stack: string): { file: string; remove: () => void } {
  const own = path.join(REPO_DIR, `Pulumi.${stack}.yaml`);
  const doc = ((fs.existsSync(own) ? load(fs.readFileSync(own, "utf8")) : {}) ?? {}) as { config?: Record<string, unknown> };
  doc.config = { ...doc.config, [REFUSED_KEY]: 0 };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-preview-refused-"));
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, dump(doc));
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The project as it ran before issue 11: every entry of the project directory symlinked (node
 * resolves the symlinks, so ts-node compiles the real files with the real tsconfig.json), and a
 * Pulumi.yaml that runs index.ts with `typescript: true`, named: package.json's `main`, which
 * Pulumi ran then, is now the packed library's entry point.
 */
function typeCheckedShadow(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-preview-typechecked-"));
  for (const entry of fs.readdirSync(REPO_DIR)) {
    if (entry !== "Pulumi.yaml" && entry !== ".git") fs.symlinkSync(path.join(REPO_DIR, entry), path.join(dir, entry));
  }
  const project = fs.readFileSync(path.join(REPO_DIR, "Pulumi.yaml"), "utf8");
  const before = project.replace(/^main: .*$/m, "main: index.ts").replace(/^(\s+)typescript: false$/m, "$1typescript: true");
  if (!/^main: index\.ts$/m.test(before) || !/typescript: true/.test(before))
    throw new Error("Pulumi.yaml no longer has the `main:` and `typescript: false` lines the type-checked preview replaces");
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), before);
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const series = (ms: number[], summary: string): PreviewSeries => ({ ms, medianMs: percentile(ms, 50), summary });

/** The three previews, `rounds` times each, interleaved; `stack` is only ever previewed. */
export async function previewCost(stack: string, rounds = PREVIEW_ROUNDS): Promise<PreviewCost> {
  await ensureTrivialStack();
  const refusedConfig = refusedConfigFile(stack);
  const shadow = typeCheckedShadow();
  const times = { noChange: [] as number[], refused: [] as number[], trivial: [] as number[], typeChecked: [] as number[] };
  const summaries = { noChange: "", refused: "", trivial: "", typeChecked: "" };
  let programMode: PreviewCost["programMode"] = "build";
  try {
    // One untimed preview of each first: the plugins and files are then as warm as in daily use.
    const rounds0 = [{ timedRound: false }, ...Array.from({ length: rounds }, () => ({ timedRound: true }))];
    for (const { timedRound } of rounds0) {
      const noChange = await timed(() => pulumiIn(REPO_DIR, ["preview", "--stack", stack]));
      if (noChange.value.code !== 0) throw new Error(`the preview of ${stack} failed:\n${noChange.value.output}`);
      if (noChange.value.output.includes("running the TypeScript sources")) programMode = "sources";
      const refused = await timed(() => pulumiIn(REPO_DIR, ["preview", "--stack", stack, "--config-file", refusedConfig.file]));
      if (refused.value.code === 0 || !refused.value.output.includes(REFUSED_KEY)) {
        throw new Error(`the preview with ${REFUSED_KEY} 0 was not refused on ${REFUSED_KEY}:\n${refused.value.output}`);
      }
      const trivial = await timed(() => pulumiIn(TRIVIAL_DIR, ["preview", "--stack", TRIVIAL_STACK]));
      if (trivial.value.code !== 0) throw new Error(`the trivial program's preview failed:\n${trivial.value.output}`);
      const typeChecked = await timed(() => pulumiIn(shadow.dir, ["preview", "--stack", stack]));
      if (typeChecked.value.code !== 0) throw new Error(`the type-checked preview of ${stack} failed:\n${typeChecked.value.output}`);
      summaries.typeChecked = changeSummary(typeChecked.value.output);
      summaries.noChange = changeSummary(noChange.value.output);
      summaries.trivial = changeSummary(trivial.value.output);
      summaries.refused = `refused (exit ${refused.value.code})`;
      if (!timedRound) continue;
      times.noChange.push(noChange.ms);
      times.refused.push(refused.ms);
      times.trivial.push(trivial.ms);
      times.typeChecked.push(typeChecked.ms);
    }
  } finally {
    refusedConfig.remove();
    shadow.remove();
  }
  const noChange = series(times.noChange, summaries.noChange);
  const refused = series(times.refused, summaries.refused);
  const trivial = series(times.trivial, summaries.trivial);
  const typeChecked = series(times.typeChecked, summaries.typeChecked);
  return {
    stack,
    rounds,
    programMode,
    noChange,
    refused,
    trivial,
    typeChecked,
    noChangeRatio: noChange.medianMs / trivial.medianMs,
    refusedRatio: refused.medianMs / trivial.medianMs,
    typeCheckedRatio: typeChecked.medianMs / trivial.medianMs,
  };
}
