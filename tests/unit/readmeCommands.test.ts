/**
 * The operator commands of the README and docs/ are all accounted for: tests/lab/readme-commands.test.ts
 * runs each one the plan says it runs, and the plan gives a reason for every other.
 */
import { PLAN, commandsIn, shownCommands, stripComment } from "../readmeCommands";

describe("how commands are found", () => {
  test("comments go from a # that starts a word outside quotes", () => {
    expect(stripComment("pulumi up -s lab   # hitless")).toBe("pulumi up -s lab");
    expect(stripComment(`echo 'a # b' "c # d" e#f  # gone`)).toBe(`echo 'a # b' "c # d" e#f`);
    expect(stripComment("# a heading")).toBe("");
  });

  test("only the bash blocks of the section asked for; a for loop is one command over its lines", () => {
    const markdown = [
      "# Title",
      "## Commands",
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
      "## Commands",
      "```bash",
      "npm run build",
      "```",
    ].join("\n");
    expect(commandsIn(markdown, "Commands")).toEqual([
      "pulumi config set -s lab a 1",
      "for c in x y; do\n  echo $c; done",
      "npm run build",
    ]);
  });

  test("a command left open at the end of its block is an error", () => {
    expect(() => commandsIn("## Operations\n```bash\nfor c in x; do\n```\n", "Operations")).toThrow("never ends");
  });

  test("a section that is not there is an error, not zero commands", () => {
    expect(() => commandsIn("## Operations\n```bash\nnpm run build\n```\n", "Commands")).toThrow('no "## Commands" section');
  });
});

describe.each(PLAN.map((source) => [`${source.file}, "${source.section}"`, source] as const))("%s as it stands", (_where, source) => {
  const commands = shownCommands(source);

  test("every command is run by the lab tier or excluded with a reason", () => {
    expect(commands.filter((c) => !(c in source.commands))).toEqual([]);
  });

  test("the plan names no command the section no longer shows", () => {
    expect(Object.keys(source.commands).filter((c) => !commands.includes(c))).toEqual([]);
  });
});

describe("the plan as a whole", () => {
  const commands = PLAN.flatMap(shownCommands);

  test("the list-value commands use --path (a JSON list would be stored as a string)", () => {
    expect(commands.filter((c) => /drainServers/.test(c) && /set/.test(c) && !/--path/.test(c))).toEqual([]);
    expect(commands.length).toBeGreaterThan(20);
  });
});
