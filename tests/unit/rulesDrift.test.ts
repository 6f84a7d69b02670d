/**
 * Every argument's rule (components/…) is the one declaration of its default and range: the TSDoc
 * of the argument, the Pulumi.yaml declaration of the stack key that feeds it (stack/fields.ts) and
 * its row in docs/configuration.md are held to it here, so none of them can drift from the code.
 */
import * as fs from "fs";
import * as path from "path";
import { load } from "js-yaml";
import * as ts from "typescript";
import { Rule } from "../../components/common/rules";
import { PORT_RANGE } from "../../components/common/checks";
import { FEEDS } from "../../stack/fields";

const ROOT = path.join(__dirname, "..", "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** The interface each feed's paths start from, and the file declaring it. */
const ARGUMENT_TYPES: Record<string, { file: string; type: string; within?: string }> = {
  HaproxyNode: { file: "components/haproxy/haproxyNode.ts", type: "HaproxyNodeArgs" },
  HaproxyPair: { file: "components/haproxy/haproxyPair.ts", type: "HaproxyPairArgs" },
  BackendApiInstance: { file: "components/services/serviceInstance.ts", type: "ServiceInstanceArgs" },
  StreamServerInstance: { file: "components/services/serviceInstance.ts", type: "ServiceInstanceArgs" },
  FleetRollout: { file: "components/services/fleetRollout.ts", type: "FleetRolloutArgs" },
  // `placement` is an Input, whose fields are the plain interface's.
  "every component's": { file: "components/incus/incusScripts.ts", type: "IncusPlacement", within: "placement." },
};

const program = ts.createProgram([...new Set(Object.values(ARGUMENT_TYPES).map(({ file }) => path.join(ROOT, file)))], {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  esModuleInterop: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();

/** The TSDoc of the argument at `argumentPath` (e.g. `listeners.httpPort`) of the named interface. */
function tsdoc(file: string, typeName: string, argumentPath: string): string | undefined {
  const source = program.getSourceFile(path.join(ROOT, file));
  const declaration = source?.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === typeName,
  );
  if (!declaration) throw new Error(`${file} declares no interface ${typeName}`);
  let type: ts.Type = checker.getTypeAtLocation(declaration);
  let symbol: ts.Symbol | undefined;
  for (const name of argumentPath.split(".")) {
    symbol = checker.getPropertyOfType(checker.getNonNullableType(type), name);
    if (!symbol) return undefined;
    type = checker.getNonNullableType(checker.getTypeOfSymbol(symbol));
  }
  return symbol && ts.displayPartsToString(symbol.getDocumentationComment(checker));
}

/** What follows "Defaults to" in a text, spaces dropped, so `["/hls/", "/stream/"]` reads as JSON does. */
const defaultsClause = (text: string) => /Defaults to (.*)$/s.exec(text)?.[1].replace(/\s+/g, "");
const json = (value: unknown) => JSON.stringify(value).replace(/\s+/g, "");
/** Every `a..b` range a text states. */
const rangesIn = (text: string) => [...text.matchAll(/(-?\d[\d_]*)\.\.(\d[\d_]*)/g)].map((m) => `${m[1]}..${m[2]}`.replace(/_/g, ""));

interface Entry {
  key: string;
  component: string;
  argumentPath: string;
  rule: Rule;
}

const entries: Entry[] = FEEDS.flatMap((feed) => {
  const rules = feed.rules(false);
  return Object.entries(feed.fields).map(([key, argumentPath]) => {
    const [, component, prefix] = /^(.*) `(.*)`$/.exec(feed.feeds(argumentPath)) ?? [];
    return { key, component, argumentPath: prefix, rule: rules[argumentPath] };
  });
});

const integerRange = (rule: Rule) => (rule.bounds ? `${rule.bounds[0]}..${rule.bounds[1]}` : undefined);
const PORTS = `${PORT_RANGE[0]}..${PORT_RANGE[1]}`;

describe.each(entries.map((e) => [`${e.component} ${e.argumentPath}`, e] as const))("%s", (_, { key, component, argumentPath, rule }) => {
  const { file, type, within = "" } = ARGUMENT_TYPES[component];
  const doc = tsdoc(file, type, argumentPath.slice(within.length)) ?? "";

  test("its TSDoc states the rule's default and range", () => {
    expect(doc).not.toBe("");
    const stated = /Required[.;]/.test(doc) ? /the stack's default is (.*)$/s.exec(doc)?.[1].replace(/\s+/g, "") : defaultsClause(doc);
    expect(stated).toContain(json(rule.default));
    const range = integerRange(rule);
    // A port's range goes without saying; any other integer says its range, and only that one.
    if (range && range !== PORTS) expect(rangesIn(doc)).toContain(range);
    if (range) expect(rangesIn(doc).filter((r) => r !== range)).toEqual([]);
  });

  test(`veza-infra:${key} in Pulumi.yaml and docs/configuration.md has the rule's default and no other range`, () => {
    const declared = (load(read("Pulumi.yaml")) as { config: Record<string, { default: unknown; description: string }> }).config[
      `veza-infra:${key}`
    ];
    expect(declared.default).toEqual(rule.default);
    const row = read("docs/configuration.md")
      .split("\n")
      .find((line) => line.startsWith(`| \`veza-infra:${key}\` |`));
    expect(row?.split(" | ")[2]).toBe(`\`${JSON.stringify(rule.default)}\``);
    const range = integerRange(rule);
    for (const text of [declared.description, row ?? ""]) {
      if (range) expect(rangesIn(text).filter((r) => r !== range)).toEqual([]);
    }
  });
});
