/** The soak's pure parts: HAProxy's processes from /proc, its table rows, its picture. */
import { Results, tableRows } from "../../bench/report";
import { SoakResult, parseProcesses } from "../../bench/scenarios/soak";
import { soakSvg } from "../../bench/soakSvg";

const soak: SoakResult = {
  minutes: 2,
  rate: 50,
  load: { ok: 5998, failed: 2, outcomes: { "200": 5998, ECONNRESET: 2 }, slow: 0, p50Ms: 3, p99Ms: 30, maxMs: 200, keepAliveRetries: 1 },
  intervals: [
    { t: 0, ok: 500, slow: 0, failed: 0 },
    { t: 10_000, ok: 498, slow: 0, failed: 2 },
  ],
  samples: [
    { t: 0, processes: 2, rssKb: 20_000 },
    { t: 2_000, processes: 3, rssKb: 29_000 },
  ],
  events: [
    { t: 30_000, kind: "reload", what: "fall 3", ms: 8_000 },
    { t: 75_000, kind: "restart", what: "backend-api-1", ms: 3_000, error: "timed out" },
  ],
  start: parseProcesses("100 1 12000 8\n101 100 9000 15\n"),
  end: parseProcesses("100 1 12100 8\n102 100 9100 21\n103 100 9000 30\ngarbage\n"),
};

test("the master is the HAProxy process whose parent is not one; unreadable lines are skipped", () => {
  expect(soak.end).toEqual([
    { pid: 100, role: "master", rssKb: 12100, fds: 8 },
    { pid: 102, role: "worker", rssKb: 9100, fds: 21 },
    { pid: 103, role: "worker", rssKb: 9000, fds: 30 },
  ]);
});

test("the soak's rows name failures by kind, the processes over time and RSS / fds at both ends", () => {
  const rows = tableRows({ failover: {}, settings: { project: {} }, soak } as unknown as Results).map(
    (r) => `${r.measure}: ${r.project} [${r.meets}]`,
  );
  expect(rows).toEqual([
    expect.stringMatching(/^failed requests .*: 2 of 6000 \(ECONNRESET x2\); 1 keep-alive retries; .*\[NO\]$/),
    expect.stringMatching(/1 pulumi up \(8\.00 s\) \/ 1 restarts to UP \(3\.00 s\); 1 failed: restart at 75\.00 s/),
    expect.stringMatching(/min \/ median \/ max: 2 \/ 3 \/ 3 \(2 samples\)/),
    expect.stringMatching(/at the start: master 11\.7 MB \/ 8 fds; 1 worker\(s\) 8\.8 MB \/ 15 fds/),
    expect.stringMatching(/at the end: master 11\.8 MB \/ 8 fds; 2 worker\(s\) 17\.7 MB \/ 51 fds/),
  ]);
});

test("the picture has the process line, a band per event in both panels, and the failed bars", () => {
  const svg = soakSvg(soak);
  expect(svg).toMatch(/^<svg [^]*<\/svg>\n$/);
  expect(svg.match(/<polyline /g)).toHaveLength(1);
  expect(svg.match(/<rect [^>]*fill="#1565c0"/g)).toHaveLength(2);
  expect(svg.match(/<rect [^>]*fill="#c62828"/g)).toHaveLength(2);
  expect(svg).toContain("<title>2 failed of 500</title>");
});
