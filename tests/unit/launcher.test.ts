/**
 * pulumi-main.js, what Pulumi runs: the build in bin/ only while bin/build-stamp.json matches every
 * file the build read, else the sources (ts-node, transpile-only) with one line saying why. Run in
 * a scratch project copy: a fake build and a source that export different values.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.join(__dirname, "..", "..");

const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function project(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-launcher-"));
  scratch.push(dir);
  fs.copyFileSync(path.join(REPO, "pulumi-main.js"), path.join(dir, "pulumi-main.js"));
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "commonjs", target: "ES2022" } }));
  fs.writeFileSync(path.join(dir, "index.ts"), 'export const ran: string = "sources";\n');
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "bin", "index.js"), 'exports.ran = "build";\n');
  return dir;
}

function stamp(dir: string, files: string[]): void {
  const inputs = files.map((file) => {
    const stat = fs.statSync(path.join(dir, file));
    return { file, size: stat.size, mtimeMs: stat.mtimeMs };
  });
  fs.writeFileSync(path.join(dir, "bin", "build-stamp.json"), JSON.stringify({ entry: "bin/index.js", inputs }));
}

/** What the launcher exports, and what it printed. */
function launch(dir: string): { exports: Record<string, unknown>; printed: string } {
  const out = execFileSync(
    process.execPath,
    ["-e", 'const e = require(process.argv[1]); console.log("EXPORTS " + JSON.stringify(e));', path.join(dir, "pulumi-main.js")],
    {
      env: { ...process.env, NODE_PATH: path.join(REPO, "node_modules") },
      encoding: "utf8",
    },
  );
  const lines = out.trim().split("\n");
  const last = lines.pop() ?? "";
  return { exports: JSON.parse(last.replace(/^EXPORTS /, "")) as Record<string, unknown>, printed: lines.join("\n") };
}

describe("pulumi-main.js", () => {
  test("runs the build, silently, while every stamped file is as it was", () => {
    const dir = project();
    stamp(dir, ["index.ts", "tsconfig.json"]);
    expect(launch(dir)).toEqual({ exports: { ran: "build" }, printed: "" });
  });

  test("runs the sources, saying why, when a stamped file changed since the build", () => {
    const dir = project();
    stamp(dir, ["index.ts"]);
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(path.join(dir, "index.ts"), later, later);
    const run = launch(dir);
    expect(run.exports).toEqual({ ran: "sources" });
    expect(run.printed).toBe(
      "veza-infra: index.ts changed since the build; running the TypeScript sources without type-checking, and slower (npm run build makes it fast again)",
    );
  });

  test("runs the sources when a stamped file is gone or there is no stamp", () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, "extra.ts"), "export {};\n");
    stamp(dir, ["index.ts", "extra.ts"]);
    fs.rmSync(path.join(dir, "extra.ts"));
    expect(launch(dir).printed).toMatch(/^veza-infra: extra.ts is gone since the build;/);
    fs.rmSync(path.join(dir, "bin", "build-stamp.json"));
    expect(launch(dir)).toMatchObject({
      exports: { ran: "sources" },
      printed: expect.stringMatching(/^veza-infra: no current build in bin\/;/),
    });
  });

  test("npm run build stamps every project file the compile read, and bin/ still finds templates/", () => {
    execFileSync(process.execPath, [path.join(REPO, "scripts", "build.js")], { cwd: REPO, encoding: "utf8" });
    const built = JSON.parse(fs.readFileSync(path.join(REPO, "bin", "build-stamp.json"), "utf8")) as { inputs: { file: string }[] };
    const files = built.inputs.map((input) => input.file);
    for (const file of [
      "index.ts",
      "components/common/templates.ts",
      "components/haproxy/haproxyNode.ts",
      "policy/rules.ts",
      "tsconfig.build.json",
      "package-lock.json",
    ])
      expect(files).toContain(file);
    expect(files.filter((file) => file.includes("node_modules"))).toEqual([]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled module, as pulumi-main.js loads it
    const templates = require(path.join(REPO, "bin", "components", "common", "templates.js")) as {
      renderTemplate: (file: string, view: object) => string;
    };
    expect(templates.renderTemplate("service.service.mustache", {})).toContain("[Service]");
  }, 120_000);
});
