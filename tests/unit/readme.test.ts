import * as fs from "fs";
import * as path from "path";
import { load } from "js-yaml";
import { configFeeds } from "../../stack/configFeeds";

const root = path.join(__dirname, "..", "..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const rows = new Map(
  read("docs/configuration.md")
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => [line.split(" | ")[0], line]),
);

test("the configuration table (docs/configuration.md) lists every key of Pulumi.yaml with its default", () => {
  const project = load(read("Pulumi.yaml")) as { config: Record<string, { default: unknown }> };
  for (const [key, declared] of Object.entries(project.config)) {
    expect(rows.get(`| \`${key}\``)).toContain(`| \`${JSON.stringify(declared.default)}\` |`);
  }
});

test("the configuration table (docs/configuration.md) says which component argument each key feeds", () => {
  for (const [key, feeds] of Object.entries(configFeeds())) {
    expect(rows.get(`| \`veza-infra:${key}\``)).toMatch(new RegExp(` \\| ${feeds.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\|$`));
  }
});

test("the README's Stack outputs section lists every export of index.ts, in its order, and nothing else", () => {
  const exported = [...read("index.ts").matchAll(/^export const (\w+)/gm)].map(([, name]) => name);
  const section = read("README.md").split("\n## Stack outputs\n")[1]?.split("\n## ")[0] ?? "";
  const listed = [...section.matchAll(/^- `(\w+)`:/gm)].map(([, name]) => name);
  expect(listed).toEqual(exported);
});
