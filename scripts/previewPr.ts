/**
 * The pull-request comment of a stack's preview (scripts/previewComment.ts renders it):
 *
 *   npm run preview:pr -- --stack NAME [--out FILE] [--base REF]
 *
 * Runs the real `pulumi preview --json`, then, when policy/ holds a policy pack, the preview again
 * with it (the JSON preview leaves policy results out); compares Pulumi.NAME.yaml at REF (default
 * HEAD) with the working tree's, and the haproxy.cfg each HAProxy container serves (read through
 * the `incus` client, local or remote as the stack places them) with the one the update applies.
 * Prints the Markdown, or writes it to FILE; exits 1 when the preview or the policy pack fails,
 * after writing. Needs the pinned pulumi on PATH with the stack's backend (`source scripts/env.sh`),
 * and an `incus` client that reaches the stack's Incus (docs/pr-checks.md).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LIVE_CONFIG } from "../components/haproxy/haproxyScripts";
import { INCUS_TIMEOUT_SECONDS, defaultRemote, incusFailureMessage } from "../components/incus/incusReach";
import {
  configChanges,
  plannedHaproxyConfigs,
  policyVerdict,
  previewErrors,
  previewSecrets,
  renderComment,
  scrub,
  stackConfig,
} from "./previewComment";

const REPO = path.resolve(__dirname, "..");
const POLICY_PACK = path.join(REPO, "policy");

function run(command: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: REPO, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new Error(`cannot run ${command}: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

function parseArgs(args: string[]): { stack: string; out?: string; base: string } {
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (!["--stack", "--out", "--base"].includes(flag) || value === undefined)
      throw new Error("usage: npm run preview:pr -- --stack NAME [--out FILE] [--base REF]");
    options[flag.slice(2)] = value;
  }
  if (!options.stack) throw new Error("usage: npm run preview:pr -- --stack NAME [--out FILE] [--base REF]");
  return { stack: options.stack, out: options.out, base: options.base ?? "HEAD" };
}

/**
 * haproxy.cfg as the container `ref` (`remote:name`, or a name on the client's default remote)
 * serves it; undefined when the container, or its haproxy.cfg, is not there yet.
 */
function liveConfig(ref: string): string | undefined {
  const read = run("timeout", ["-k", "5", String(INCUS_TIMEOUT_SECONDS), "incus", "file", "pull", `${ref}${LIVE_CONFIG}`, "-"]);
  if (read.status === 0) return read.stdout;
  if (/not found/i.test(read.stderr)) return undefined;
  const remote = ref.includes(":") ? ref.slice(0, ref.indexOf(":")) : defaultRemote();
  throw new Error(incusFailureMessage(`read ${ref}'s haproxy.cfg (incus file pull)`, { remote, status: read.status, output: read.stderr }));
}

function main(): number {
  const { stack, out, base } = parseArgs(process.argv.slice(2));
  const stackFile = `Pulumi.${stack}.yaml`;
  const preview = run("pulumi", ["preview", "--json", "--stack", stack, "--non-interactive"]);
  let digest;
  try {
    digest = JSON.parse(preview.stdout);
  } catch {
    throw new Error(`pulumi preview --json printed no JSON (exit ${preview.status}):\n${preview.stderr}`);
  }
  const exported = run("pulumi", ["stack", "export", "--stack", stack]);
  const state = exported.status === 0 ? JSON.parse(exported.stdout) : {};
  const before = run("git", ["show", `${base}:${stackFile}`]);
  const working = path.join(REPO, stackFile);
  const changes = configChanges(
    stackConfig(before.status === 0 ? before.stdout : undefined),
    stackConfig(fs.existsSync(working) ? fs.readFileSync(working, "utf8") : undefined),
  );

  let policy;
  if (fs.existsSync(path.join(POLICY_PACK, "PulumiPolicy.yaml"))) {
    // A preview that failed fails again with the pack, which then judges nothing: one run is enough.
    policy =
      preview.status === 0
        ? policyVerdict(
            run("pulumi", [
              "preview",
              "--stack",
              stack,
              "--non-interactive",
              "--color",
              "never",
              "--policy-pack",
              path.relative(REPO, POLICY_PACK),
            ]),
          )
        : { passed: false, report: "", notRun: "The preview failed before the pack could judge the stack: see Errors above." };
  }
  const refs = plannedHaproxyConfigs(digest).flatMap(({ refs, config }) => (config === "unknown" ? [] : refs));
  const live = new Map(refs.map((ref) => [ref, liveConfig(ref)]));

  const markdown = renderComment(stack, digest, state, changes, policy, live);
  // The job's log says why too, not only the comment.
  for (const message of previewErrors(digest)) process.stderr.write(`${scrub(message, previewSecrets(digest, state))}\n`);
  if (out) fs.writeFileSync(out, markdown);
  else process.stdout.write(markdown);
  return preview.status === 0 && (policy?.passed ?? true) ? 0 : 1;
}

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}
