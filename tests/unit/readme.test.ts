import * as fs from "fs";
import * as path from "path";
import { load } from "js-yaml";
import { configFeeds } from "../../stack/configFeeds";

const root = path.join(__dirname, "..", "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
const rows = new Map(
  readme
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => [line.split(" | ")[0], line]),
);

test("the README's configuration table lists every key of Pulumi.yaml with its default", () => {
  const project = load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default: unknown }> };
  for (const [key, declared] of Object.entries(project.config)) {
    expect(rows.get(`| \`${key}\``)).toContain(`| \`${JSON.stringify(declared.default)}\` |`);
  }
});

test("the README's configuration table says which component argument each key feeds", () => {
  for (const [key, feeds] of Object.entries(configFeeds())) {
    expect(rows.get(`| \`veza-infra:${key}\``)).toMatch(new RegExp(` \\| ${feeds.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\|$`));
  }
});
