/**
 * Failover timelines as a plain SVG (no dependency): requests sent in each 100 ms that succeeded
 * (up; slow ones apart) and failed (down), with the victim's state from the admin socket as a band underneath, one panel per
 * config on the same time axis. Pure: data in, SVG text out.
 */
import { Bucket, SLOW_MS, StateSpan } from "./measure";

export interface TimelinePanel {
  label: string;
  summary: string;
  buckets: Bucket[];
  states: StateSpan[];
  /** Vertical markers, e.g. the kill at 0 and DOWN. */
  markers: { t: number; label: string }[];
  /** Time range of this panel in ms; by default every panel shares the range of all of them. */
  range?: [number, number];
}

const WIDTH = 960;
const MARGIN = { left: 56, right: 16 };
const PANEL_HEIGHT = 190;
const PLOT_HEIGHT = 120;
const BAND_HEIGHT = 14;
const HEADER = 58;
const FOOTER = 46;

/** Colour of an admin-socket status: UP, UP n/m (checks failing), DOWN, DOWN n/m (rising), other. */
export function stateColour(status: string): string {
  if (status === "UP") return "#2e7d32";
  if (status.startsWith("UP ")) return "#f9a825";
  if (status === "DOWN") return "#c62828";
  if (status.startsWith("DOWN ")) return "#1565c0";
  return "#9e9e9e";
}

export const escapeXml = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c] ?? c);
export const fixed = (n: number) => Number(n.toFixed(1));

/** A "nice" tick step (1, 2 or 5 x 10^k) giving about `target` ticks over `span`. */
export function tickStep(span: number, target = 12): number {
  const raw = span / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
}

export function timelineSvg(title: string, subtitle: string, panels: TimelinePanel[]): string {
  const all = panels.flatMap((p) => p.buckets);
  const stepMs = all.length > 1 ? all[1].t - all[0].t : 100;
  const shared: [number, number] = [Math.min(...all.map((b) => b.t)), Math.max(...all.map((b) => b.t + stepMs))];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const maxOk = Math.max(1, ...all.map((b) => b.ok));
  const maxFailed = Math.max(1, ...all.map((b) => b.failed));
  // Successes take the upper part of the plot, failures the lower, in proportion to their peaks.
  const okHeight = PLOT_HEIGHT * (maxOk / (maxOk + maxFailed));
  const perRequest = PLOT_HEIGHT / (maxOk + maxFailed);
  const height = HEADER + panels.length * PANEL_HEIGHT + FOOTER;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#444">${escapeXml(subtitle)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const [t0, t1] = panel.range ?? shared;
    const x = (t: number) => fixed(MARGIN.left + ((Math.max(t0, Math.min(t1, t)) - t0) / (t1 - t0)) * plotWidth);
    const tick = tickStep((t1 - t0) / 1000) * 1000;
    const top = HEADER + i * PANEL_HEIGHT;
    const plotTop = top + 22;
    const zero = plotTop + okHeight;
    const bandTop = plotTop + PLOT_HEIGHT + 6;
    out.push(
      `<text x="${MARGIN.left}" y="${top + 14}"><tspan font-weight="bold">${escapeXml(panel.label)}</tspan>  ${escapeXml(panel.summary)}</text>`,
    );
    out.push(`<rect x="${MARGIN.left}" y="${plotTop}" width="${plotWidth}" height="${PLOT_HEIGHT}" fill="#fafafa" stroke="#ddd"/>`);
    for (let t = Math.ceil(t0 / tick) * tick; t <= t1; t += tick) {
      out.push(`<line x1="${x(t)}" y1="${plotTop}" x2="${x(t)}" y2="${bandTop + BAND_HEIGHT}" stroke="#e0e0e0"/>`);
      out.push(
        `<text x="${x(t)}" y="${bandTop + BAND_HEIGHT + 14}" text-anchor="middle" fill="#555">${Number((t / 1000).toFixed(3))}s</text>`,
      );
    }
    const barWidth = fixed(Math.max(1, (stepMs / (t1 - t0)) * plotWidth - 0.5));
    for (const b of panel.buckets.filter((b) => b.t >= t0 - stepMs && b.t + stepMs <= t1)) {
      const fast = b.ok - b.slow;
      if (fast > 0)
        out.push(
          `<rect x="${x(b.t)}" y="${fixed(zero - fast * perRequest)}" width="${barWidth}" height="${fixed(fast * perRequest)}" fill="#43a047"/>`,
        );
      if (b.slow > 0)
        out.push(
          `<rect x="${x(b.t)}" y="${fixed(zero - b.ok * perRequest)}" width="${barWidth}" height="${fixed(b.slow * perRequest)}" fill="#fb8c00"/>`,
        );
      if (b.failed > 0)
        out.push(`<rect x="${x(b.t)}" y="${fixed(zero)}" width="${barWidth}" height="${fixed(b.failed * perRequest)}" fill="#e53935"/>`);
    }
    out.push(`<line x1="${MARGIN.left}" y1="${fixed(zero)}" x2="${MARGIN.left + plotWidth}" y2="${fixed(zero)}" stroke="#999"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${plotTop + 10}" text-anchor="end" fill="#2e7d32">${maxOk} ok</text>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${plotTop + PLOT_HEIGHT}" text-anchor="end" fill="#c62828">${maxFailed} failed</text>`);
    for (const s of panel.states) {
      const from = Math.max(s.from, t0);
      const to = Math.min(s.to, t1);
      if (to <= from) continue;
      out.push(
        `<rect x="${x(from)}" y="${bandTop}" width="${fixed(x(to) - x(from))}" height="${BAND_HEIGHT}" fill="${stateColour(s.status)}"><title>${escapeXml(s.status)}</title></rect>`,
      );
    }
    out.push(`<text x="${MARGIN.left - 6}" y="${bandTop + 11}" text-anchor="end" fill="#555">state</text>`);
    panel.markers.forEach((m, j) => {
      if (m.t < t0 || m.t > t1) return;
      out.push(
        `<line x1="${x(m.t)}" y1="${plotTop - 4}" x2="${x(m.t)}" y2="${bandTop + BAND_HEIGHT}" stroke="#212121" stroke-dasharray="4 3"/>`,
      );
      // Labels step down one line per marker; near the right edge they sit left of their line.
      const right = x(m.t) > MARGIN.left + plotWidth * 0.75;
      out.push(
        `<text x="${right ? x(m.t) - 4 : x(m.t) + 4}" y="${plotTop + 14 + 15 * j}" text-anchor="${right ? "end" : "start"}" fill="#212121" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(m.label)}</text>`,
      );
    });
  });
  const legendY = HEADER + panels.length * PANEL_HEIGHT + 26;
  const legend: [string, string][] = [
    ["#43a047", "ok"],
    ["#fb8c00", `ok, slower than ${SLOW_MS} ms`],
    ["#e53935", "failed"],
    [stateColour("UP"), "UP"],
    [stateColour("UP 1/2"), "UP, checks failing"],
    [stateColour("DOWN"), "DOWN"],
    [stateColour("DOWN 1/2"), "DOWN, checks passing"],
  ];
  let lx = MARGIN.left;
  for (const [colour, text] of legend) {
    out.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${colour}"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY}">${escapeXml(text)}</text>`);
    lx += 28 + text.length * 6.5;
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
