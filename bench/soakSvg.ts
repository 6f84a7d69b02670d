/**
 * The soak's picture, in the style of the failover timelines (bench/svg.ts): HAProxy's processes
 * over time with the reloads and the backend restarts marked, and below it the failed requests of
 * each interval. Pure: the soak's result in, SVG text out.
 */
import { INTERVAL_MS, SoakResult } from "./scenarios/soak";
import { escapeXml, fixed, tickStep } from "./svg";

const WIDTH = 960;
const MARGIN = { left: 56, right: 16 };
const PLOT_HEIGHT = 150;
const TOP = 58;
const GAP = 60;

export function soakSvg(r: SoakResult): string {
  const span = r.minutes * 60_000;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const x = (t: number) => fixed(MARGIN.left + (Math.max(0, Math.min(span, t)) / span) * plotWidth);
  const processesTop = TOP + 22;
  const failedTop = processesTop + PLOT_HEIGHT + GAP;
  const height = failedTop + PLOT_HEIGHT + 70;
  const maxProcesses = Math.max(2, ...r.samples.map((s) => s.processes)) + 1;
  const maxFailed = Math.max(1, ...r.intervals.map((b) => b.failed));
  const reloads = r.events.filter((e) => e.kind === "reload");
  const restarts = r.events.filter((e) => e.kind === "restart");
  const failedEvents = r.events.filter((e) => e.error).length;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="16" font-weight="bold">Soak: ${r.minutes} min at ${r.rate} req/s (open-loop, keep-alive) through the LB</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#444">${escapeXml(
      `${reloads.length} pulumi up reloads (healthCheckFall flipped), ${restarts.length} backend restart(s)${failedEvents ? `, ${failedEvents} of them failed` : ""}; ${r.load.failed} failed of ${r.load.ok + r.load.failed} requests`,
    )}</text>`,
  ];
  const frame = (top: number, label: string) => {
    out.push(`<text x="${MARGIN.left}" y="${top - 8}" font-weight="bold">${escapeXml(label)}</text>`);
    out.push(`<rect x="${MARGIN.left}" y="${top}" width="${plotWidth}" height="${PLOT_HEIGHT}" fill="#fafafa" stroke="#ddd"/>`);
    const tick = tickStep(span / 1000) * 1000;
    for (let t = 0; t <= span; t += tick) {
      out.push(`<line x1="${x(t)}" y1="${top}" x2="${x(t)}" y2="${top + PLOT_HEIGHT}" stroke="#e0e0e0"/>`);
      out.push(`<text x="${x(t)}" y="${top + PLOT_HEIGHT + 14}" text-anchor="middle" fill="#555">${t / 1000}s</text>`);
    }
  };

  frame(
    processesTop,
    "HAProxy processes (master + workers), sampled every few seconds; bands: pulumi up (blue), backend restart to UP (red)",
  );
  const y = (n: number) => fixed(processesTop + PLOT_HEIGHT - (n / maxProcesses) * PLOT_HEIGHT);
  for (let n = 0; n <= maxProcesses; n++)
    out.push(`<text x="${MARGIN.left - 6}" y="${y(n) + 4}" text-anchor="end" fill="#555">${n}</text>`);
  // Each event as a band from its start to its end: the whole `pulumi up`, or restart to UP again.
  for (const e of r.events) {
    const colour = e.kind === "reload" ? "#1565c0" : "#c62828";
    const title = `${e.kind} ${e.what} at ${(e.t / 1000).toFixed(1)} s, ${(e.ms / 1000).toFixed(1)} s${e.error ? `, failed: ${e.error}` : ""}`;
    for (const top of [processesTop, failedTop])
      out.push(
        `<rect x="${x(e.t)}" y="${top}" width="${fixed(Math.max(1, x(e.t + e.ms) - x(e.t)))}" height="${PLOT_HEIGHT}" fill="${colour}" fill-opacity="${e.error ? 0.4 : 0.15}"><title>${escapeXml(title)}</title></rect>`,
      );
  }
  const points = r.samples.flatMap((s, i) => [
    ...(i > 0 ? [`${x(s.t)},${y(r.samples[i - 1].processes)}`] : []),
    `${x(s.t)},${y(s.processes)}`,
  ]);
  out.push(`<polyline points="${points.join(" ")}" fill="none" stroke="#212121" stroke-width="2"/>`);

  const stepMs = r.intervals.length > 1 ? r.intervals[1].t - r.intervals[0].t : INTERVAL_MS;
  frame(failedTop, `Failed requests per ${stepMs / 1000} s interval (by when they were sent)`);
  const barWidth = fixed(Math.max(1, (stepMs / span) * plotWidth - 1));
  for (const b of r.intervals.filter((b) => b.failed > 0)) {
    const h = fixed((b.failed / maxFailed) * PLOT_HEIGHT);
    out.push(
      `<rect x="${x(b.t)}" y="${fixed(failedTop + PLOT_HEIGHT - h)}" width="${barWidth}" height="${h}" fill="#e53935"><title>${b.failed} failed of ${b.ok + b.failed}</title></rect>`,
    );
  }
  out.push(`<text x="${MARGIN.left - 6}" y="${failedTop + 10}" text-anchor="end" fill="#c62828">${maxFailed}</text>`);
  out.push(`<text x="${MARGIN.left - 6}" y="${failedTop + PLOT_HEIGHT}" text-anchor="end" fill="#555">0</text>`);
  if (r.load.failed === 0)
    out.push(
      `<text x="${MARGIN.left + plotWidth / 2}" y="${failedTop + PLOT_HEIGHT / 2}" text-anchor="middle" fill="#2e7d32">no failed request</text>`,
    );

  const legendY = height - 20;
  let lx = MARGIN.left;
  for (const [colour, text] of [
    ["#212121", "HAProxy processes"],
    ["#9fb8dd", "pulumi up (reload)"],
    ["#eeb1b1", "backend restart to UP"],
    ["#e53935", "failed requests"],
  ]) {
    out.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${colour}"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY}">${escapeXml(text)}</text>`);
    lx += 28 + text.length * 6.5;
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
