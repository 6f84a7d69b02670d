/**
 * The library as a package: what `npm pack` puts in the tarball (its prepack script compiles
 * components/ to dist/ first), the example program's pins against the project's, and the package's
 * own files found from the package, whatever the working directory.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { assetPath, assetPathFrom } from "../../components/common/assets";
import { STANDIN_PATH } from "../../components/services/serviceInstance";

const REPO = path.join(__dirname, "..", "..");
const EXAMPLE = path.join(REPO, "examples", "single-node");

interface PackageJson {
  name: string;
  version: string;
  main: string;
  types: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as PackageJson;
const ROOT = readJson(path.join(REPO, "package.json"));

/** Every file under `dir`, relative to the repository, with forward slashes. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(path.join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(REPO, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"));
}

describe("npm pack", () => {
  let packed: string[];
  beforeAll(() => {
    // --dry-run still runs prepack (even where npm is configured to ignore scripts), so the list is
    // that of a fresh compile.
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts=false"], {
      cwd: REPO,
      encoding: "utf8",
      stdio: "pipe",
    });
    packed = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((file) => file.path);
  }, 180_000);

  it("ships every library module compiled, with its type declarations", () => {
    const modules = filesUnder("components").filter((file) => file.endsWith(".ts"));
    expect(modules.length).toBeGreaterThan(0);
    const missing = modules.flatMap((file) => [`dist/${file.replace(/\.ts$/, ".js")}`, `dist/${file.replace(/\.ts$/, ".d.ts")}`]);
    expect(missing.filter((file) => !packed.includes(file))).toEqual([]);
    expect(packed).toContain(ROOT.main);
    expect(packed).toContain(ROOT.types);
  });

  it("ships the package's own assets: the templates and the stand-in", () => {
    const assets = [...filesUnder("templates"), "lab/standin.js"];
    expect(assets.filter((file) => !packed.includes(file))).toEqual([]);
  });

  it("ships no TypeScript source, test, program or tooling", () => {
    const foreign = packed.filter(
      (file) =>
        (file.endsWith(".ts") && !file.endsWith(".d.ts")) ||
        /^(tests|bin|scripts|bench|examples|policy|stack|components|node_modules)\//.test(file) ||
        /^(index\.ts|pulumi-main\.js|Pulumi\..*yaml|Pulumi\.yaml|tsconfig.*\.json)$/.test(file),
    );
    expect(foreign).toEqual([]);
  });
});

describe("the example program", () => {
  const example = readJson(path.join(EXAMPLE, "package.json"));

  it("installs the tarball npm pack writes at the repository's root", () => {
    expect(example.dependencies[ROOT.name]).toBe(`file:../../${ROOT.name}-${ROOT.version}.tgz`);
  });

  it("pins the Pulumi packages the project runs, which the library takes as peers", () => {
    for (const [name, range] of Object.entries(ROOT.peerDependencies)) {
      expect(example.dependencies[name]).toBe(ROOT.devDependencies[name]);
      expect(range).toBe(`^${ROOT.devDependencies[name]}`);
    }
  });
});

describe("the package's own files", () => {
  const standin = assetPath("lab/standin.js");
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "veza-package-"));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("are found beside the library, not in the working directory", () => {
    expect(standin).toBe(path.join(fs.realpathSync(REPO), "lab", "standin.js"));
    expect(fs.existsSync(assetPath("templates/haproxy.cfg.mustache"))).toBe(true);
  });

  it("are named as in the package when the program runs in it, even through links", () => {
    expect(STANDIN_PATH).toBe("lab/standin.js");
    expect(assetPathFrom(REPO, "lab/standin.js")).toBe("lab/standin.js");
    const linked = path.join(scratch, "linked");
    fs.mkdirSync(linked);
    fs.symlinkSync(path.join(REPO, "lab"), path.join(linked, "lab"));
    expect(assetPathFrom(linked, "lab/standin.js")).toBe("lab/standin.js");
  });

  it("are reached from another program's directory by a relative path", () => {
    const consumer = path.join(scratch, "consumer");
    fs.mkdirSync(path.join(consumer, "lab"), { recursive: true });
    fs.writeFileSync(path.join(consumer, "lab", "standin.js"), "// the consumer's own file, not the package's\n");
    const reached = assetPathFrom(consumer, "lab/standin.js");
    expect(path.isAbsolute(reached)).toBe(false);
    expect(fs.realpathSync(path.resolve(consumer, reached))).toBe(fs.realpathSync(standin));
  });
});
