/**
 * The pull-request comment of scripts/previewComment.ts on a fake preview that replaces and
 * deletes containers, changes the config and carries the stats password and a TLS key: golden
 * Markdown (UPDATE_GOLDEN=1 rewrites it), and no secret anywhere in it.
 */
import * as fs from "fs";
import * as path from "path";
import { configChanges, renderComment, secretStrings, stackConfig, unifiedDiff } from "../../scripts/previewComment";

const FIXTURES = path.join(__dirname, "..", "fixtures", "preview-pr");
const read = (file: string) => fs.readFileSync(path.join(FIXTURES, file), "utf8");
const PASSWORD = "Zq8fakeStatsPasswordFromRandom0000000000";
const KEY_BODY = "MIIEvQIBADANBgkqFAKEKEYFORTHETEST";

function comment(): string {
  const changes = configChanges(stackConfig(read("Pulumi.before.yaml")), stackConfig(read("Pulumi.after.yaml")));
  const policy = {
    passed: false,
    report: "    - [mandatory]  health-check-fall  (pulumi:pulumi:Stack: veza-infra-ops-x)\n      veza-infra:healthCheckFall is 1",
  };
  return renderComment("ops-x", JSON.parse(read("preview.json")), JSON.parse(read("state.json")), changes, policy);
}

test("the comment matches the golden Markdown", () => {
  const file = path.join(FIXTURES, "comment.md");
  if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(file, comment());
  expect(comment()).toBe(fs.readFileSync(file, "utf8"));
});

test("no secret reaches the comment: not the stats password, not the TLS key, not a secure config value", () => {
  const text = comment();
  // The fixture does put them where the comment would show them: an error message, the planned config, config values.
  expect(read("preview.json")).toContain(`admin:${PASSWORD}`);
  expect(read("Pulumi.after.yaml")).toContain(KEY_BODY);
  for (const secret of [PASSWORD, KEY_BODY, "v1:AAAAold", "v1:BBBBnew", "BEGIN PRIVATE KEY"]) expect(text).not.toContain(secret);
  expect(text).toContain('stats auth "admin:[secret]"');
});

test("a replaced or deleted container gets a warning line of its own", () => {
  const warnings = comment()
    .split("\n")
    .filter((line) => line.startsWith("> **"));
  expect(warnings).toEqual([
    "> **REPLACES CONTAINER `backend-api-2`** (`backend-api-2-launch`): its service is gone while this runs; check that this is meant.",
    "> **DELETES CONTAINER `backend-api-3`** (`backend-api-3-launch`): its service is gone while this runs; check that this is meant.",
  ]);
});

test("secretStrings finds values marked secret (their JSON plaintext too) and values of secret-named keys", () => {
  const sig = { "4dabf18193072939515e22adc298388d": "1b47061264138c4ac30d75fd1eb44270" };
  expect(
    secretStrings({
      a: { ...sig, plaintext: '{"x":"hunter22"}' },
      apiToken: "tok-1234",
      name: "plain-value",
      b: [{ myPassword: "pw-5678" }],
    }).sort(),
  ).toEqual(['{"x":"hunter22"}', "hunter22", "pw-5678", "tok-1234"].sort());
});

describe("unifiedDiff", () => {
  test("is empty for equal texts", () => expect(unifiedDiff("a\nb\n", "a\nb\n", "x", "y")).toBe(""));

  test("gives hunks with 3 lines of context, as diff -u does", () => {
    const before = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", ""].join("\n");
    const after = ["1", "2", "3", "4", "five", "6", "7", "8", "9", "10", "11", "12", "13", ""].join("\n");
    expect(unifiedDiff(before, after, "a", "b")).toBe(
      [
        "--- a",
        "+++ b",
        "@@ -2,7 +2,7 @@",
        " 2",
        " 3",
        " 4",
        "-5",
        "+five",
        " 6",
        " 7",
        " 8",
        "@@ -10,3 +10,4 @@",
        " 10",
        " 11",
        " 12",
        "+13",
      ].join("\n"),
    );
  });
});
