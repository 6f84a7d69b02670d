import { LoadSample } from "../../bench/load";
import { HostDiesRun, containersOn, hostDiesFigures } from "../../bench/scenarios/hostDies";
import { LbNodeRun, lbNodeFigures } from "../../bench/scenarios/lbNode";
import { BISECT_VARIANTS } from "../../bench/scenarios/overhead";
import { RISE_MS, RolloutResult, instanceTiming, median, parseRolledLines, projectTimings } from "../../bench/scenarios/rollout";
import { HOST_DIES_MARKERS, ROLLOUT_MARKERS, hostDiesSection, rolloutSection, withSection } from "../../bench/report";
import { DEFAULTS } from "../../stack/settings";
import { stackHaproxyConfig } from "../../stack/componentArgs";

const deployed = stackHaproxyConfig(DEFAULTS, {
  backendApi: [{ name: "backend-api-1", address: "10.77.0.11" }],
  streamServer: [{ name: "stream-server-1", address: "10.77.0.21" }],
});

// The bisect edits the live file by its lines: a template change that moves them must fail here, not in the bench.
test.each(BISECT_VARIANTS.map((v) => [v.name, v] as const))(
  "scenario 7's bisect variant %s changes exactly its feature",
  (_name, variant) => {
    const edited = variant.edit(deployed);
    expect(edited).not.toBe(deployed);
    const removed = deployed.split("\n").filter((line) => !edited.split("\n").includes(line));
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.every((line) => /log|retry-on|observe layer4/.test(line))).toBe(true);
  },
);

const sample = (sentAt: number, at: number, ok: boolean): LoadSample => ({
  sentAt,
  at,
  ok,
  latencyMs: ok ? at - sentAt : NaN,
  outcome: ok ? "200" : "ECONNREFUSED",
  keepAliveRetry: false,
});

test("the LB-node figures split failures by when they were sent: before the stop, while down, after the first answer", () => {
  const stoppedAt = 10_000;
  const figures = lbNodeFigures(
    [
      sample(9_000, 9_005, true),
      sample(9_990, 10_300, false), // in flight at the stop
      sample(10_100, 10_400, false), // sent while down
      sample(10_500, 10_800, true), // the first answer, 800 ms after the stop
      sample(10_850, 10_900, false), // after the first answer
      sample(10_900, 10_910, true),
    ],
    stoppedAt,
    8_000,
    12_000,
  );
  expect(figures.firstAnswerMs).toBe(800);
  expect([figures.failedInFlight, figures.failedWhileDown, figures.failedAfterAnswer]).toEqual([1, 1, 1]);
  expect(figures.load.failed).toBe(3);
  expect(figures.window).toEqual({ fromMs: -2_000, toMs: 2_000 });
});

test("no answer after the stop: no first answer, every later failure counted while down", () => {
  const figures = lbNodeFigures([sample(10_100, 10_200, false), sample(10_200, 10_300, false)], 10_000, 9_000, 11_000);
  expect(figures.firstAnswerMs).toBeNull();
  expect(figures.failedWhileDown).toBe(2);
  expect(figures.failedAfterAnswer).toBe(0);
});

describe("scenario 11, version rollout", () => {
  // As `pulumi up` prints the rollout step's stderr (components/services/rolloutScripts.ts), diagnostics prefix and all.
  const output = [
    "    command:local:Command (backend-api-rollout-step):",
    "      backend-api-1: rolled in 3.4 s (drain 0.2 s, stop and start 1.6 s, UP on every node 1.6 s)",
    "      backend-api-1: canary healthy for 10 s",
    "      backend-api-2: rolled in 4.0 s (drain 0.3 s, stop and start 1.7 s, UP on every node 2.0 s)",
    "  backend-api-2: rolled in 4.0 s (drain 0.3 s, stop and start 1.7 s, UP on every node 2.0 s)",
  ].join("\n");

  test("the rollout's line per instance is read once per instance, in seconds", () => {
    expect(parseRolledLines(output)).toEqual([
      { server: "backend-api-1", rolledS: 3.4, drainS: 0.2, stopStartS: 1.6, upS: 1.6 },
      { server: "backend-api-2", rolledS: 4.0, drainS: 0.3, stopStartS: 1.7, upS: 2.0 },
    ]);
    expect(parseRolledLines("nothing to roll")).toEqual([]);
  });

  test("each instance is set against its own drain wait + the fixture's stop and start + the rise checks", () => {
    const [first, second] = projectTimings(output, 1_200, RISE_MS);
    expect(RISE_MS).toBe(DEFAULTS.healthCheckRise * DEFAULTS.healthCheckIntervalMs);
    expect(first.floorMs).toBe(200 + 1_200 + RISE_MS);
    expect(first.ratio).toBeCloseTo(3_400 / first.floorMs);
    expect(second).toMatchObject({ server: "backend-api-2", ms: 4_000, drainMs: 300 });
    expect(instanceTiming("backend-api-3", 33_000, 30_000, 1_000, 1_000)).toEqual({
      server: "backend-api-3",
      ms: 33_000,
      drainMs: 30_000,
      floorMs: 32_000,
      ratio: 33_000 / 32_000,
    });
  });

  test("median: the middle value, the mean of the two middle ones for an even count, NaN for none", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });

  test("a run of the scenario alone replaces its own section of LATEST.md and nothing else", () => {
    const result: RolloutResult = {
      riseMs: 1_000,
      runbookDrainMs: 30_000,
      canarySeconds: 10,
      drainTimeoutSeconds: 10,
      sizes: [
        {
          backends: 2,
          stopStartRunsMs: [1_100, 1_200, 1_300],
          stopStartMs: 1_200,
          variants: {
            project: {
              ok: 1_000,
              failed: 0,
              outcomes: { "200": 1_000 },
              slow: 0,
              p50Ms: 2,
              p99Ms: 9,
              maxMs: 20,
              from: "v1",
              to: "v2",
              actionMs: 30_000,
              instances: projectTimings(output, 1_200, 1_000),
              medianRatio: 1.3,
              answeredAfter: ["v2"],
              canaryMs: 10_000,
            },
          },
        },
      ],
    };
    const section = rolloutSection(result, {
      startedAt: "2026-12-06T06:00:00.000Z",
      host: { nproc: 2, commit: "abcdef0123" },
      files: ["x.json"],
    });
    expect(section).toContain(
      "| 2 | project: `pulumi up`, FleetRollout | v1 -> v2 | 0 of 1000 | 30.00 s (of which the canary's watch 10.00 s) | 1.30 |",
    );
    const latest = "# Bench: latest run\n\n| table |\n\n![soak](soak.svg)\n";
    const once = withSection(latest, section, ROLLOUT_MARKERS);
    expect(once.startsWith(latest.trimEnd())).toBe(true);
    expect(once).toContain(section);
    const again = withSection(once, section.replace("1.30", "1.40"), ROLLOUT_MARKERS);
    expect(again).toBe(once.replace("1.30", "1.40"));
  });
});

describe("scenario 13, host dies", () => {
  test("without a revival, the figures are scenario 9's and when the last failure was sent", () => {
    const samples = [sample(9_990, 10_300, false), sample(10_100, 10_400, false), sample(10_500, 10_800, true)];
    expect(hostDiesFigures(samples, 10_000, 8_000, 12_000)).toEqual({
      ...lbNodeFigures(samples, 10_000, 8_000, 12_000),
      lastFailedSentMs: 100,
    });
    expect(hostDiesFigures([sample(10_500, 10_800, true)], 10_000, 8_000, 12_000).lastFailedSentMs).toBeNull();
  });

  test("the containers on a member, by the stack's containerMembers", () => {
    const stack = { containerMembers: { "cl-haproxy-2": "m2", "cl-haproxy": "m3", "cl-backend-api-1": "m2" } };
    expect(containersOn(stack, "m2")).toEqual(["cl-backend-api-1", "cl-haproxy-2"]);
    expect(containersOn(stack, "m1")).toEqual([]);
  });

  const figures = (firstAnswerMs: number, ok: number, failed: number) => ({
    firstAnswerMs,
    failedInFlight: 0,
    failedWhileDown: failed,
    failedAfterAnswer: 0,
    load: { ok, failed, outcomes: { "200": ok, ...(failed ? { timeout: failed } : {}) }, slow: 0, p50Ms: 2, p99Ms: 5, maxMs: 9 },
    buckets: [],
    window: { fromMs: -2_000, toMs: 5_000 },
  });
  const hostDies: Partial<Record<"project" | "anchor", HostDiesRun>> = {
    project: {
      config: "project",
      member: "m3",
      containers: ["cl-backend-api-2", "cl-haproxy"],
      victim: "cl-haproxy",
      killCommandMs: 250,
      lastFailedSentMs: 600,
      ...figures(700, 400, 10),
    },
    anchor: {
      config: "anchor",
      member: "m2",
      containers: ["cl-backend-api-1", "cl-haproxy"],
      victim: "cl-haproxy",
      killCommandMs: 300,
      lastFailedSentMs: 29_900,
      reviveAtMs: 20_300,
      ...figures(30_000, 300, 1_500),
    },
  };
  const run = {
    startedAt: "2026-12-06T21:00:00.000Z",
    host: { nproc: 2, commit: "abcdef0123", command: "npm run bench -- --only hostdies" },
    files: ["x.json"],
  };

  test("the section sets the project against the anchor, side by side and as a ratio", () => {
    const section = hostDiesSection(hostDies, undefined, run);
    expect(section.startsWith(HOST_DIES_MARKERS.begin)).toBe(true);
    expect(section.endsWith(HOST_DIES_MARKERS.end)).toBe(true);
    expect(section).toContain("| t = 0 -> first answer to a request sent after t = 0 | 0.70 s | 30.00 s |");
    expect(section).toContain("| command started -> that first answer | 0.95 s | 30.30 s |");
    expect(section).toContain("| last failed request sent at | 0.60 s | 29.90 s |");
    expect(section).toContain(
      "| anything answered before it was brought back | nothing brought back: the other node took over | no answer within 20.30 s; `revive-member` at 20.30 s |",
    );
    expect(section).toContain("| brought back -> first answer |  | 9.70 s |");
    expect(section).toContain("| requests answered / sent | 400 / 410 (97.6 %) | 300 / 1800 (16.7 %) |");
    expect(section).toContain(
      "command started -> first answer 0.95 s (project, at most) against 30.30 s (anchor): the anchor's outage 31.9x the project's",
    );
    expect(section).toContain("Scenario 9 did not run in this one");
  });

  test("an anchor that answered before it was brought back is reported so", () => {
    const early = { ...hostDies, anchor: { ...hostDies.anchor!, ...figures(1_500, 900, 10) } };
    expect(hostDiesSection(early, undefined, run)).toContain("| yes, at 1.50 s; `revive-member` at 20.30 s |");
  });

  test("with scenario 9 in the same run, its two columns come first", () => {
    const stopped = (config: "project" | "anchor", victim: string): LbNodeRun => ({
      config,
      victim,
      stopCommandMs: 400,
      ...figures(900, 450, 5),
    });
    const section = hostDiesSection(
      hostDies,
      {
        project: stopped("project", "bench-haproxy"),
        anchor: { ...stopped("anchor", "bench-haproxy"), startAtMs: 5_000, startCommandMs: 300 },
      },
      run,
    );
    expect(section).toContain(
      "| figure | 9 LB node dies: project (pair) | 9 LB node dies: anchor (seed's one node) | 13 host dies: project (cluster stack) |",
    );
    expect(section).toContain("| t = 0 -> first answer to a request sent after t = 0 | 0.90 s | 0.90 s | 0.70 s | 30.00 s |");
    expect(section).toContain("| last failed request sent at | n/a | n/a | 0.60 s | 29.90 s |");
    expect(section).toContain("- 9 LB node dies:");
    expect(section).not.toContain("did not run");
  });

  test("a partial run replaces the host-dies section and leaves the rollout's", () => {
    const latest = withSection(
      "# Bench: latest run\n\n| table |\n",
      "<!-- version rollout: begin -->\nR\n<!-- version rollout: end -->",
      ROLLOUT_MARKERS,
    );
    const once = withSection(latest, hostDiesSection(hostDies, undefined, run), HOST_DIES_MARKERS);
    const again = withSection(
      once,
      hostDiesSection(hostDies, undefined, { ...run, startedAt: "2026-12-07T00:00:00.000Z" }),
      HOST_DIES_MARKERS,
    );
    expect(again).toBe(once.replace("2026-12-06T21:00:00.000Z", "2026-12-07T00:00:00.000Z"));
    expect(again).toContain("\nR\n");
  });
});
