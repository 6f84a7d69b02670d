/**
 * The anchor the project is measured against: bench/anchor.cfg.mustache rendered from the same
 * fleet addresses with the seed's defaults table (stack/settings.ts SEED_DEFAULTS). Pure.
 */
import * as fs from "fs";
import * as path from "path";
import Mustache from "mustache";
import { ADMIN_SOCKET, Fleets } from "../components/haproxy/haproxyConfig";
import { DEFAULTS, SEED_DEFAULTS } from "../stack/settings";

const TEMPLATE = path.join(__dirname, "anchor.cfg.mustache");

/** The seed's values the anchor renders, and the timeouts the seed leaves to HAProxy/Debian defaults. */
export const ANCHOR_SETTINGS = Object.freeze({
  ...SEED_DEFAULTS,
  // Not in the seed's table: the same paths and routing as the project, so both serve the same URLs.
  backendApiHealthPath: DEFAULTS.backendApiHealthPath,
  streamServerHealthPath: DEFAULTS.streamServerHealthPath,
  streamPathPrefixes: DEFAULTS.streamPathPrefixes,
  // Stated, as rendered in the template (Debian's packaged haproxy.cfg plus a tunnel timeout).
  connectTimeoutMs: 5000,
  clientTimeoutMs: 50000,
  serverTimeoutMs: 50000,
  tunnelTimeoutSeconds: 3600,
  /** No `timeout check`: a check may last up to `inter`. */
  checkTimeoutMs: SEED_DEFAULTS.healthCheckIntervalMs,
  /** No `retries` line: HAProxy's built-in 3, to the same server (no redispatch). */
  retries: 3,
});

/** A change of the anchor's health values, e.g. the bench's health-value edit. */
export interface AnchorOverrides {
  healthCheckFall?: number;
}

/** haproxy.cfg as the seed's role would render it for these fleets (servers in the order given). */
export function renderAnchor(fleets: Fleets, overrides: AnchorOverrides = {}): string {
  const s = { ...ANCHOR_SETTINGS, ...overrides };
  if (fleets.backendApi.length === 0 || fleets.streamServer.length === 0) throw new Error("the anchor needs at least one server per pool");
  const template = fs.readFileSync(TEMPLATE, "utf8");
  const view = {
    adminSocket: ADMIN_SOCKET,
    httpPort: s.httpPort,
    statsPort: s.statsPort,
    connectTimeoutMs: s.connectTimeoutMs,
    clientTimeoutMs: s.clientTimeoutMs,
    serverTimeoutMs: s.serverTimeoutMs,
    tunnelTimeoutSeconds: s.tunnelTimeoutSeconds,
    streamPathPrefixes: s.streamPathPrefixes.join(" "),
    cookieName: s.stickyCookieName,
    backendApiHealthPath: s.backendApiHealthPath,
    streamServerHealthPath: s.streamServerHealthPath,
    intervalMs: s.healthCheckIntervalMs,
    fall: s.healthCheckFall,
    rise: s.healthCheckRise,
    slowstartSeconds: s.gracefulDrainSeconds,
    apiServers: fleets.backendApi.map((u) => ({ ...u, port: s.backendApiPort })),
    streamServers: fleets.streamServer.map((u) => ({ ...u, port: s.streamServerPort })),
  };
  return Mustache.render(template, view, {}, { escape: (value: string) => value });
}
