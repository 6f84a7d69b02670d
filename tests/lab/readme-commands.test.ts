/**
 * Every command the README and docs/ show an operator, run as written against the lab, in the
 * order of tests/readmeCommands.ts's PLAN and of each section (the PLAN says where they are shown,
 * which are not run, and why). Confirmations are skipped through PULUMI_SKIP_CONFIRMATIONS, which the CLI reads in
 * place of a `--yes` typed at the prompt. The stack config is put back afterwards and the lab
 * brought back to it.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PLAN, Run, shownCommands } from "../readmeCommands";
import { REPO, STACK, outputs, pulumi, waitAllUp } from "./harness";

jest.setTimeout(15 * 60_000);

const STACK_FILE = path.join(REPO, `Pulumi.${STACK}.yaml`);
const env = { ...process.env, PULUMI_SKIP_CONFIRMATIONS: "true" };
let savedConfig = "";
let containersBefore: string[] = [];

const containerList = async () => {
  const lab = await outputs();
  return [...lab.haproxyContainers, ...lab.backendApiContainers, ...lab.streamServerContainers].sort();
};

/** Runs a command with bash as a user's shell would; resolves with exit status and output. */
function shell(command: string, followMs?: number): Promise<{ status: number | null; output: string; stillRunning: boolean }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", command], { cwd: REPO, env, detached: true });
    let output = "";
    let stillRunning = false;
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer =
      followMs === undefined
        ? undefined
        : setTimeout(() => {
            stillRunning = true;
            process.kill(-(child.pid as number), "SIGTERM");
          }, followMs);
    child.on("close", (status) => {
      if (timer) clearTimeout(timer);
      resolve({ status, output: output.trim(), stillRunning });
    });
  });
}

beforeAll(async () => {
  expect(STACK).toBe("lab"); // the README's commands name the lab stack and its containers
  savedConfig = fs.readFileSync(STACK_FILE, "utf8");
  await pulumi("up", "--yes", "--skip-preview");
  containersBefore = await containerList();
});

afterAll(async () => {
  fs.writeFileSync(STACK_FILE, savedConfig);
  await pulumi("up", "--yes", "--skip-preview");
  await waitAllUp(await outputs(), 120_000);
  await pulumi("preview", "--expect-no-changes");
  expect(await containerList()).toEqual(containersBefore);
});

const commands = PLAN.flatMap((source) =>
  shownCommands(source).map((command) => [command, source.commands[command], source.file] as const),
);

test.each(commands)("%s", async (command, plan, file) => {
  if (plan === undefined) throw new Error(`shown in ${file}, not in tests/readmeCommands.ts PLAN`);
  if ("excluded" in plan) {
    console.log(`not run: ${command}\n  ${plan.excluded}`);
    return;
  }
  const { output, followMs } = plan as Run;
  const startedAt = Date.now();
  const result = await shell(command, followMs);
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log(`${seconds} s: ${command}`);
  if (followMs !== undefined) {
    expect(result.stillRunning).toBe(true);
    expect(result.output).not.toBe("");
  } else {
    if (result.status !== 0) throw new Error(`exit ${result.status}:\n${result.output.slice(-4000)}`);
  }
  if (output) expect(result.output).toMatch(new RegExp(output.source, `${output.flags}m`));
});
