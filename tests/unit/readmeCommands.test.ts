/**
 * The README's operator commands are all accounted for: tests/lab/readme-commands.test.ts runs
 * each one the plan says it runs, and the plan gives a reason for every other.
 */
import { PLAN, currentReadmeCommands, readmeCommands, stripComment } from "../readmeCommands";

describe("how commands are found", () => {
  test("comments go from a # that starts a word outside quotes", () => {
    expect(stripComment("pulumi up -s lab   # hitless")).toBe("pulumi up -s lab");
    expect(stripComment(`echo 'a # b' "c # d" e#f  # gone`)).toBe(`echo 'a # b' "c # d" e#f`);
    expect(stripComment("# a heading")).toBe("");
  });

  test("only bash blocks of Configuration and Operations; a for loop is one command over its lines", () => {
    const readme = [
      "## Configuration",
      "```bash",
      "# heading",
      "pulumi config set -s lab a 1   # why",
      "",
      "for c in x y; do   # each",
      "  echo $c; done",
      "```",
      "```yaml",
      "a: 1",
      "```",
      "## Elsewhere",
      "```bash",
      "rm -rf /",
      "```",
      "## Operations",
      "```bash",
      "npm run build",
      "```",
    ].join("\n");
    expect(readmeCommands(readme)).toEqual(["pulumi config set -s lab a 1", "for c in x y; do\n  echo $c; done", "npm run build"]);
  });

  test("a command left open at the end of its block is an error", () => {
    expect(() => readmeCommands("## Operations\n```bash\nfor c in x; do\n```\n")).toThrow("never ends");
  });
});

describe("the README as it stands", () => {
  const commands = currentReadmeCommands();

  test("every command is run by the lab tier or excluded with a reason", () => {
    expect(commands.filter((c) => !(c in PLAN))).toEqual([]);
  });

  test("the plan names no command the README no longer shows", () => {
    expect(Object.keys(PLAN).filter((c) => !commands.includes(c))).toEqual([]);
  });

  test("the list-value commands use --path (a JSON list would be stored as a string)", () => {
    expect(commands.filter((c) => /drainServers/.test(c) && /set/.test(c) && !/--path/.test(c))).toEqual([]);
    expect(commands.length).toBeGreaterThan(20);
  });
});
