import { LoadSample } from "../../bench/load";
import { lbNodeFigures } from "../../bench/scenarios/lbNode";
import { BISECT_VARIANTS } from "../../bench/scenarios/overhead";
import { renderHaproxyConfig } from "../../components/haproxyConfig";
import { DEFAULTS } from "../../components/settings";

const deployed = renderHaproxyConfig(DEFAULTS, {
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
