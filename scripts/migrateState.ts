/**
 * One-time move of a stack made by the dynamic-provider releases (every `incus` step a
 * `pulumi-nodejs:dynamic/veza:ShellCommand`, the stats password among them) onto `@pulumi/command` and
 * `@pulumi/random`, without deleting or re-creating a container:
 *
 * 1. the state is saved to a backup file, then re-imported without the dynamic resources and
 *    their provider (so no old delete script ever runs: those would delete the containers);
 * 2. the stats password is imported into a `random.RandomPassword` with its current value, so
 *    HAProxy's secrets stay as they are;
 * 3. the next `pulumi up` creates the `command.local.Command` steps, whose create scripts adopt
 *    the running containers and restart nothing that did not change, then reloads HAProxy
 *    hitlessly.
 *
 * Usage (scripts/lab-up.sh and scripts/test.sh run it): ts-node scripts/migrateState.ts STACK
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Dynamic resources are typed `pulumi-nodejs:dynamic[/module]:Type` (ours: `.../veza:ShellCommand`). */
const DYNAMIC_TYPE_PREFIX = "pulumi-nodejs:dynamic";
const DYNAMIC_PROVIDER_TYPE = "pulumi:providers:pulumi-nodejs";
const PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";
const HAPROXY_NODE_TYPE = "veza:infra:HaproxyNode";
const PASSWORD_SUFFIX = "-stats-password";

/** The parts of a `pulumi stack export` this migration reads and writes. */
export interface StateResource {
  urn: string;
  type: string;
  parent?: string;
  outputs?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  [other: string]: unknown;
}
export interface StackExport {
  version: number;
  deployment: { resources?: StateResource[]; [other: string]: unknown };
  [other: string]: unknown;
}

const isDynamic = (r: StateResource) => r.type.startsWith(DYNAMIC_TYPE_PREFIX);

/** The name part of a URN: `urn:pulumi:stack::project::type::name`. */
const urnName = (urn: string) => urn.split("::").slice(3).join("::");

/** True when the stack still holds resources of the dynamic-provider releases. */
export function needsMigration(state: StackExport): boolean {
  return (state.deployment.resources ?? []).some(isDynamic);
}

/** What a stats password resource of the old releases held: its value and its HaproxyNode. */
export interface OldPassword {
  name: string;
  value: string;
  parentName: string;
  parentUrn: string;
}

/** Finds each old stats password (stdout of a dynamic step named `<node>-stats-password`). */
export function oldPasswords(state: StackExport): OldPassword[] {
  const resources = state.deployment.resources ?? [];
  return resources
    .filter((r) => isDynamic(r) && urnName(r.urn).endsWith(PASSWORD_SUFFIX))
    .map((r) => {
      const parent = resources.find((p) => p.urn === r.parent && p.type === HAPROXY_NODE_TYPE);
      const stdout = r.outputs?.stdout;
      // `--show-secrets` exports a secret as {"4dabf18193072939515e22adb298388d": ..., plaintext: "\"value\""}.
      const value = typeof stdout === "string" ? stdout : secretPlaintext(stdout);
      if (!parent || value === undefined) throw new Error(`cannot read the stats password of ${r.urn} (export with --show-secrets)`);
      return { name: urnName(r.urn), value, parentName: urnName(parent.urn), parentUrn: parent.urn };
    });
}

function secretPlaintext(value: unknown): string | undefined {
  const plaintext = (value as { plaintext?: unknown } | undefined)?.plaintext;
  if (typeof plaintext !== "string") return undefined;
  const parsed: unknown = JSON.parse(plaintext);
  return typeof parsed === "string" ? parsed : undefined;
}

/**
 * The state without the dynamic resources and their provider. Nothing else may refer to them:
 * the components only parent them, and a dependency on one would mean something this program
 * does not make, so it is refused rather than cut.
 */
export function withoutDynamicResources(state: StackExport): StackExport {
  const resources = state.deployment.resources ?? [];
  const gone = new Set(resources.filter((r) => isDynamic(r) || r.type === DYNAMIC_PROVIDER_TYPE).map((r) => r.urn));
  const kept = resources.filter((r) => !gone.has(r.urn));
  for (const r of kept) {
    const refs = [...(r.dependencies ?? []), ...Object.values(r.propertyDependencies ?? {}).flat()];
    const dangling = refs.find((urn) => gone.has(urn));
    if (dangling) throw new Error(`${r.urn} depends on ${dangling}, which the migration removes; migrate this stack by hand`);
  }
  return { ...state, deployment: { ...state.deployment, resources: kept } };
}

/**
 * After `pulumi import` of a password, its inputs are what the random provider infers from the
 * value alone (every character class on); the program asks for letters and digits only. Setting
 * `special` to false, as the program does, keeps the value and leaves no diff.
 */
export function withProgramPasswordInputs(state: StackExport): StackExport {
  const resources = (state.deployment.resources ?? []).map((r) => {
    if (r.type !== PASSWORD_TYPE || !urnName(r.urn).endsWith(PASSWORD_SUFFIX)) return r;
    return { ...r, inputs: { ...r.inputs, special: false }, outputs: { ...r.outputs, special: false } };
  });
  return { ...state, deployment: { ...state.deployment, resources } };
}

function pulumi(args: string[], input?: string): string {
  return execFileSync("pulumi", args, { encoding: "utf8", input, maxBuffer: 256 * 1024 * 1024, stdio: ["pipe", "pipe", "inherit"] });
}

function exportState(stack: string, showSecrets = false): StackExport {
  return JSON.parse(pulumi(["stack", "export", "--stack", stack, ...(showSecrets ? ["--show-secrets"] : [])])) as StackExport;
}

function importState(stack: string, state: StackExport, dir: string, label: string): void {
  const file = path.join(dir, `${label}.json`);
  fs.writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
  pulumi(["stack", "import", "--stack", stack, "--file", file]);
}

function main(stack: string): void {
  const log = (text: string) => process.stderr.write(`migrate-state: ${text}\n`);
  const state = exportState(stack);
  if (!needsMigration(state)) return;
  const stateDir = process.env.PULUMI_BACKEND_URL?.startsWith("file://")
    ? process.env.PULUMI_BACKEND_URL.slice("file://".length)
    : os.tmpdir();
  const backup = path.join(stateDir, `${stack}-before-command-migration-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(backup, JSON.stringify(state), { mode: 0o600 });
  log(`stack ${stack} was made with the dynamic-provider releases; moving it onto @pulumi/command and @pulumi/random`);
  log(`state saved to ${backup} (restore with: pulumi stack import --stack ${stack} --file ${backup})`);
  const passwords = oldPasswords(exportState(stack, true));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "veza-migrate-"));
  try {
    importState(stack, withoutDynamicResources(state), work, "without-dynamic");
    log("removed the dynamic steps from the state (their delete scripts did not run: every container stays)");
    for (const password of passwords) {
      // The value reaches the random provider as the import ID, on the command line of a local process only.
      pulumi([
        "import",
        PASSWORD_TYPE,
        password.name,
        password.value,
        "--stack",
        stack,
        "--parent",
        `${password.parentName}=${password.parentUrn}`,
        "--yes",
        "--skip-preview",
        "--generate-code=false",
        "--non-interactive",
        "--suppress-outputs",
      ]);
      log(`imported ${password.name} into random.RandomPassword with its current value`);
    }
    importState(stack, withProgramPasswordInputs(exportState(stack)), work, "password-inputs");
    log("done: the next `pulumi up` adopts the running containers through command.local.Command and restarts nothing");
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const stack = process.argv[2];
  if (!stack) {
    process.stderr.write("usage: ts-node scripts/migrateState.ts STACK\n");
    process.exit(2);
  }
  main(stack);
}
