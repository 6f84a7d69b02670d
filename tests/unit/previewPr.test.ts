/**
 * The pull-request comment of scripts/previewComment.ts on a fake preview that replaces and
 * deletes containers, changes the config and carries the stats password and a TLS key: golden
 * Markdown (UPDATE_GOLDEN=1 rewrites it), and no secret anywhere in it.
 */
import * as fs from "fs";
import * as path from "path";
import {
  PreviewDigest,
  configChanges,
  plannedHaproxyConfigs,
  policyVerdict,
  renderComment,
  secretStrings,
  stackConfig,
  unifiedDiff,
} from "../../scripts/previewComment";

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
  const state = JSON.parse(read("state.json"));
  // What ops-x-haproxy serves: what the last update applied (the state's copy of it).
  const served = state.deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::haproxy-config")).outputs.environment
    .VEZA_CONFIG;
  return renderComment("ops-x", JSON.parse(read("preview.json")), state, changes, policy, new Map([["ops-x-haproxy", served]]));
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

test("two previews of one change, their steps and reasons in another order, give the same comment", () => {
  const preview = JSON.parse(read("preview.json")) as PreviewDigest;
  const shuffled = {
    ...preview,
    steps: [...preview.steps!].reverse().map((s) => ({ ...s, diffReasons: s.diffReasons && [...s.diffReasons].reverse() })),
  };
  expect(renderComment("ops-x", shuffled, {}, [], undefined, new Map())).toBe(
    renderComment("ops-x", preview, {}, [], undefined, new Map()),
  );
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

describe("the haproxy.cfg section, for each shape the program deploys", () => {
  const CFG = [
    "global",
    "    maxconn 4096",
    "defaults",
    "    timeout connect 250ms",
    "backend api_pool",
    "    default-server check slowstart 30s",
    "",
  ].join("\n");
  const NEXT = CFG.replace("slowstart 30s", "slowstart 20s");
  /** A preview that updates one config step, as `pulumi preview --json` gives it. */
  const previewOf = (component: string, step: string, environment: unknown): PreviewDigest => ({
    steps: [
      { op: "same", urn: "urn:pulumi:lab::veza-infra::pulumi:pulumi:Stack::veza-infra-lab" },
      {
        op: "update",
        urn: `urn:pulumi:lab::veza-infra::veza:infra:${component}$command:local:Command::${step}`,
        newState: { type: "command:local:Command", inputs: { environment } },
        diffReasons: ["environment"],
      },
    ],
  });
  const pair = (refs: string) =>
    previewOf("HaproxyPair", "haproxy-pair-config", { VEZA_REFS: refs, VEZA_CONFIG: NEXT, VEZA_VIRTUAL_IP: "10.77.0.200" });
  const section = (preview: PreviewDigest, live: Map<string, string | undefined>) => {
    const text = renderComment("lab", preview, {}, [], undefined, live);
    return text.slice(text.indexOf("### haproxy.cfg"));
  };
  const diffs = (text: string) => text.split("\n").filter((line) => line.startsWith("--- "));

  test("the pair's rollout step: one diff when both nodes serve the same file", () => {
    const text = section(
      pair("lab-haproxy lab-haproxy-2"),
      new Map([
        ["lab-haproxy", CFG],
        ["lab-haproxy-2", CFG],
      ]),
    );
    expect(text).toContain("`haproxy-pair-config` (`lab-haproxy`, `lab-haproxy-2`):");
    expect(diffs(text)).toEqual(["--- live haproxy.cfg on lab-haproxy, lab-haproxy-2"]);
    expect(text).toContain("-    default-server check slowstart 30s\n+    default-server check slowstart 20s");
  });

  test("the pair, a node changed by hand: a diff per file served, each naming its nodes", () => {
    const drifted = CFG.replace("maxconn 4096", "maxconn 9999");
    const text = section(
      pair("lab-haproxy lab-haproxy-2"),
      new Map([
        ["lab-haproxy", CFG],
        ["lab-haproxy-2", drifted],
      ]),
    );
    expect(diffs(text)).toEqual(["--- live haproxy.cfg on lab-haproxy", "--- live haproxy.cfg on lab-haproxy-2"]);
    expect(text).toContain("-    maxconn 9999\n+    maxconn 4096");
  });

  test("one node's config step, on a remote; a node with no haproxy.cfg yet; a file that does not change", () => {
    const node = previewOf("HaproxyNode", "haproxy-config", { VEZA_REF: "edge:lab-haproxy", VEZA_CONFIG: NEXT });
    const text = section(node, new Map([["edge:lab-haproxy", CFG]]));
    expect(text).toContain("`haproxy-config` (`edge:lab-haproxy`):");
    expect(diffs(text)).toEqual(["--- live haproxy.cfg on edge:lab-haproxy"]);
    expect(diffs(section(node, new Map([["edge:lab-haproxy", undefined]])))).toEqual([
      "--- /dev/null (no haproxy.cfg on edge:lab-haproxy)",
    ]);
    expect(section(node, new Map([["edge:lab-haproxy", NEXT]]))).toContain("Unchanged on edge:lab-haproxy.");
  });

  test("the file and its nodes are not known while they depend on containers not made yet", () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    expect(plannedHaproxyConfigs(pair(unknown))).toEqual([{ step: "haproxy-pair-config", refs: [], config: NEXT }]);
    const text = section(previewOf("HaproxyPair", "haproxy-pair-config", unknown), new Map());
    expect(text).toContain("Not known before the update: it depends on containers the update creates.");
  });

  test("a preview with no config step says so; a deleted one is not planned", () => {
    expect(section({ steps: [] }, new Map())).toContain("The preview has no HAProxy config step.");
    const deleted = pair("lab-haproxy lab-haproxy-2");
    deleted.steps![1].op = "delete";
    expect(plannedHaproxyConfigs(deleted)).toEqual([]);
  });
});

/** `pulumi preview --policy-pack policy` on a clone where `npm ci --prefix policy` has not run (Pulumi 3.248). */
const LOAD_FAILURE = {
  status: 1,
  stdout:
    "Previewing update (scratch19):\nLoading policy packs...: starting\n@ previewing update.....\n    pulumi:pulumi:Stack veza-infra-scratch19  error: [runtime] Running program '/work/veza-infra/policy' failed with an unhandled exception:\n    pulumi:pulumi:Stack veza-infra-scratch19  TSError: \u2a2f Unable to compile TypeScript:\n    pulumi:pulumi:Stack veza-infra-scratch19  index.ts(6,67): error TS2307: Cannot find module '@pulumi/policy' or its corresponding type declarations.\n    pulumi:pulumi:Stack veza-infra-scratch19  index.ts(32,6): error TS7006: Parameter 'args' implicitly has an 'any' type.\n    pulumi:pulumi:Stack veza-infra-scratch19  index.ts(32,12): error TS7006: Parameter 'reportViolation' implicitly has an 'any' type.\n    pulumi:pulumi:Stack veza-infra-scratch19  5 messages\nDiagnostics:\n  pulumi:pulumi:Stack (veza-infra-scratch19):\n    error: [runtime] Running program '/work/veza-infra/policy' failed with an unhandled exception:\n    TSError: \u2a2f Unable to compile TypeScript:\n    index.ts(6,67): error TS2307: Cannot find module '@pulumi/policy' or its corresponding type declarations.\n    index.ts(32,6): error TS7006: Parameter 'args' implicitly has an 'any' type.\n    index.ts(32,12): error TS7006: Parameter 'reportViolation' implicitly has an 'any' type.\n\n",
  stderr: "error: policy pack not started: could not read policy pack port: io: read/write on closed pipe\n",
};

describe("the service restarts section", () => {
  const rollout = (service: string) => `urn:pulumi:lab::veza-infra::veza:infra:FleetRollout::${service}-rollout`;
  test("names what each fleet rolls, in order, from the rollout's own line; nothing else counts", () => {
    const text = renderComment(
      "lab",
      {
        steps: [],
        diagnostics: [
          { urn: rollout("stream-server"), severity: "info", message: "stream-server rolls 1 instance: stream-server-2 first ...\n" },
          { urn: rollout("backend-api"), severity: "info", message: "backend-api rolls 2 instances: backend-api-1 first ..." },
          { urn: "urn:pulumi:lab::veza-infra::pulumi:pulumi:Stack::veza-infra-lab", severity: "info", message: "something else" },
        ],
      },
      {},
      [],
      undefined,
      new Map(),
    );
    expect(text).toContain(
      "### Service restarts\n\n- backend-api rolls 2 instances: backend-api-1 first ...\n- stream-server rolls 1 instance: stream-server-2 first ...\n",
    );
    expect(text).not.toContain("something else");
  });

  test("says so when no fleet rolls", () => {
    expect(renderComment("lab", { steps: [] }, {}, [], undefined, new Map())).toContain("No instance restarts: no fleet rolls.");
  });
});

describe("the policy verdict", () => {
  const render = (policy: ReturnType<typeof policyVerdict>) => {
    const text = renderComment("lab", { steps: [] }, {}, [], policy, new Map());
    return text.slice(text.indexOf("### Policy pack"), text.indexOf("### haproxy.cfg"));
  };

  test("passed, and failed on a mandatory rule, with the report", () => {
    const report = "Policies:\n    ✅ veza-infra@v0.1.0 (local: policy)\n\nResources:\n";
    expect(render(policyVerdict({ status: 0, stdout: report, stderr: "" }))).toBe(
      "### Policy pack: passed\n\n```\n    ✅ veza-infra@v0.1.0 (local: policy)\n```\n\n",
    );
    const broken =
      "Policies:\n    ❌ veza-infra@v0.1.0 (local: policy)\n        - [mandatory]  health-check-fall  (pulumi:pulumi:Stack: veza-infra-lab)\n\n";
    expect(render(policyVerdict({ status: 255, stdout: broken, stderr: "" }))).toContain(
      "### Policy pack: **FAILED** (a mandatory rule is broken)",
    );
  });

  test("a pack that could not load says so, and why, never 'No violations'", () => {
    const text = render(policyVerdict(LOAD_FAILURE));
    expect(text).toContain(
      "### Policy pack: **did not run**\n\nThe pack could not load or run (pulumi exited with status 1); Pulumi said:",
    );
    expect(text).toContain("error TS2307: Cannot find module '@pulumi/policy'");
    expect(text).toContain("error: policy pack not started");
    // The diagnostics once, not the progress lines that repeat them.
    expect(text.split("Cannot find module")).toHaveLength(2);
    expect(text).not.toContain("No violations");
    expect(text).not.toContain("FAILED");
  });
});
