/**
 * The library as another program uses it: `npm pack` of this repository, examples/single-node
 * copied out of it and installing that tarball (not the sources by path) with its Pulumi packages
 * from the registry, then `pulumi preview` of a fresh stack of the example against the lab's
 * Incus. Read-only on the lab: a preview creates nothing, and the stack lives in a file backend of
 * its own in the scratch directory, gone with it (a removed stack would leave its checkpoint
 * behind as a .bak in the lab's backend).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO, run } from "./harness";

jest.setTimeout(15 * 60_000);

const EXAMPLE = "single-node";
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "veza-example-"));
/** The example's place in the scratch copy, as in the repository, so its `file:../../` tarball path holds. */
const exampleDir = path.join(scratch, "examples", EXAMPLE);
const backend = path.join(scratch, "backend");
const STACK = "example";

/** The pinned pulumi and the lab's passphrase (scripts/env.sh), with the scratch backend, run in the example's copy. */
const pulumi = (...args: string[]) =>
  run("bash", ["-c", 'source scripts/env.sh && cd "$0" && exec pulumi "$@"', exampleDir, ...args, "--stack", STACK, "--non-interactive"], {
    env: { ...process.env, PULUMI_BACKEND_URL: `file://${backend}` },
  });

/** One step of `pulumi preview --json`. */
interface PreviewStep {
  op: string;
  urn: string;
  newState?: { type: string; inputs?: { environment?: Record<string, string> } };
}

let steps: PreviewStep[];

beforeAll(async () => {
  const packed = JSON.parse(await run("npm", ["pack", "--pack-destination", scratch, "--json"])) as { filename: string }[];
  fs.cpSync(path.join(REPO, "examples", EXAMPLE), exampleDir, {
    recursive: true,
    filter: (source) => !/[/\\](node_modules|package-lock\.json)$/.test(source),
  });
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `../../${packed[0].filename}`], { cwd: exampleDir });
  await pulumi("stack", "init");
  steps = (JSON.parse(await pulumi("preview", "--json")) as { steps: PreviewStep[] }).steps;
});

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const created = (type: string) => steps.filter((step) => step.op === "create" && step.newState?.type === type);

it("installed the packed library, not the sources", () => {
  const installed = path.join(exampleDir, "node_modules", "veza-infra");
  expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
  expect(fs.existsSync(path.join(installed, "dist", "components", "index.d.ts"))).toBe(true);
  expect(fs.existsSync(path.join(installed, "components"))).toBe(false);
});

it("plans the edge node and its two services", () => {
  expect(created("veza:infra:HaproxyNode")).toHaveLength(1);
  expect(created("veza:infra:BackendApiInstance")).toHaveLength(1);
  expect(created("veza:infra:StreamServerInstance")).toHaveLength(1);
});

it("deploys the package's stand-in, found in the package and named relative to the program", () => {
  const programs = created("command:local:Command")
    .map((step) => step.newState?.inputs?.environment?.VEZA_PROGRAM)
    .filter((program) => program !== undefined);
  expect(programs).toEqual(["node_modules/veza-infra/lab/standin.js", "node_modules/veza-infra/lab/standin.js"]);
});
