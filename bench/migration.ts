/**
 * Proves the one-time move of a running lab from the dynamic-provider releases onto
 * `@pulumi/command` and `@pulumi/random` (scripts/migrateState.ts) on real containers:
 *
 * 1. the lab stack is brought up (or found up) by the last dynamic-provider commit, from a
 *    worktree of it beside this checkout;
 * 2. under a steady open-loop load through the LB, this checkout's `npm run lab` migrates it;
 * 3. every container's creation time must be unchanged, the load must have lost no request,
 *    a second `pulumi up` must change nothing, and no dynamic resource may be left in the state.
 *
 * Usage: source scripts/env.sh && npx ts-node bench/migration.ts [--from COMMIT]   (default: the last dynamic-provider commit)
 * It leaves the lab up on this checkout's code. Not part of `npm test`: it builds the old toolchain.
 */
import * as fs from "fs";
import * as path from "path";
import { REPO, incus, outputs, pulumi, run, steadyLoad } from "../tests/lab/harness";

/** The last commit whose steps ran through the dynamic provider. */
const LAST_DYNAMIC_COMMIT = "03fa267";
const RATE = 50;

const dynamicCount = (state: string) => (state.match(/"type": "pulumi-nodejs:dynamic[^"]*"/g) ?? []).length;

async function createdAt(containers: string[]): Promise<Record<string, string>> {
  const entries = await Promise.all(
    containers.map(async (name) => [
      name,
      (JSON.parse(await incus("query", `/1.0/instances/${name}`)) as { created_at: string }).created_at,
    ]),
  );
  return Object.fromEntries(entries);
}

async function main(): Promise<void> {
  const fromIndex = process.argv.indexOf("--from");
  const from = fromIndex > 0 ? process.argv[fromIndex + 1] : LAST_DYNAMIC_COMMIT;
  const oldTree = path.join(path.dirname(REPO), `veza-infra-${from}`);
  if (!fs.existsSync(oldTree)) await run("git", ["worktree", "add", "--detach", oldTree, from]);
  console.log(`old code: ${oldTree} (${from}); npm run lab there`);
  // With its own toolchain: this checkout's on PATH has no dynamic-provider launcher.
  const oldPath = (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => !dir.includes("/veza-infra/pulumi/"))
    .join(":");
  await run("env", [`PATH=${oldPath}`, "npm", "run", "lab"], { cwd: oldTree }).catch((error: Error) => {
    throw new Error(`npm run lab in ${oldTree} (the old code) failed: ${error.message}`);
  });
  // The toolchain of this checkout first, so the load window holds the migration, not Go builds.
  await run("bash", ["scripts/toolchain.sh"]);

  const before = await outputs();
  const containers = [before.haproxyContainer, ...before.backendApiContainers, ...before.streamServerContainers];
  const createdBefore = await createdAt(containers);
  const dynamicBefore = dynamicCount(await pulumi("stack", "export"));

  const load = steadyLoad(before.lbUrl, RATE);
  const started = Date.now();
  await run("npm", ["run", "lab"]).catch((error: Error) => {
    throw new Error(`npm run lab in ${REPO} (the migration) failed: ${error.message}`);
  });
  const migrateMs = Date.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const { ok, failures } = await load.stop();

  const after = await outputs();
  const createdAfter = await createdAt(containers);
  const dynamicAfter = dynamicCount(await pulumi("stack", "export"));
  const secondUp = Date.now();
  const upOutput = await pulumi("up", "--yes", "--expect-no-changes", "--skip-preview");
  const secondUpMs = Date.now() - secondUp;
  const passwordKept = before.statsPassword === after.statsPassword;

  console.log(`dynamic resources in state: ${dynamicBefore} before, ${dynamicAfter} after`);
  console.log(`npm run lab (migration + up): ${(migrateMs / 1000).toFixed(1)} s`);
  console.log(`load at ${RATE} req/s through ${before.lbUrl}: ${failures.length} failed of ${ok + failures.length}`);
  for (const failure of failures) console.log(`  failed: ${failure}`);
  for (const name of containers) {
    console.log(
      `  ${name}: created ${createdBefore[name]} -> ${createdAfter[name]}${createdBefore[name] === createdAfter[name] ? "" : "  CHANGED"}`,
    );
  }
  console.log(`stats password kept: ${passwordKept}`);
  console.log(
    `second pulumi up (--expect-no-changes): ${(secondUpMs / 1000).toFixed(1)} s, ${upOutput.includes("unchanged") ? "no changes" : "see output"}`,
  );
  const same = containers.every((name) => createdBefore[name] === createdAfter[name]);
  if (!same || failures.length > 0 || dynamicAfter > 0 || !passwordKept) {
    console.log("MIGRATION PROOF FAILED");
    process.exitCode = 1;
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
