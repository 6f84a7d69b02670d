import { LoadSample } from "../../bench/load";
import { lbNodeFigures } from "../../bench/scenarios/lbNode";
import { BISECT_VARIANTS } from "../../bench/scenarios/overhead";
import { RISE_MS, RolloutResult, instanceTiming, median, parseRolledLines, projectTimings } from "../../bench/scenarios/rollout";
import { rolloutSection, withRolloutSection } from "../../bench/report";
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
    const once = withRolloutSection(latest, section);
    expect(once.startsWith(latest.trimEnd())).toBe(true);
    expect(once).toContain(section);
    const again = withRolloutSection(once, section.replace("1.30", "1.40"));
    expect(again).toBe(once.replace("1.30", "1.40"));
  });
});
