/**
 * Edge protection on the real lab pair (issue 22): a client over the API limit gets 429 with
 * Retry-After while a client at a normal rate loses nothing and keeps its latency, a client of an
 * exempt network is never limited, and the over-limit client is still limited right after the
 * virtual IP moves to the other node (the request counts are shared through the peers section).
 *
 * The lab's clients all come from this host. To be three clients, two addresses of the lab
 * subnet's static range are added to the host's side of the bridge for the test (a /32 each, so no
 * route changes and nothing but these clients uses them) and removed after: the limited client and
 * the one at a normal rate connect from them, the exempt one from the host's own address. The test
 * sets tight limits with only that address exempt, and puts the stack's config back after.
 */
import * as http from "http";
import { LoadSample } from "../../bench/load";
import { percentile } from "../../bench/measure";
import { LIMIT_API_REQUESTS, LIMIT_THROTTLED } from "../../components/haproxy/haproxyConfig";
import { LAB_NETWORK } from "../../components/incus/labNetwork";
import { DEFAULTS } from "../../stack/settings";
import {
  LabOutputs,
  admin,
  answers,
  holdsVirtualIp,
  incus,
  outputs,
  pulumi,
  run,
  scrape,
  servingNode,
  steadyLoad,
  waitAllUp,
  waitFor,
} from "./harness";

jest.setTimeout(15 * 60_000);

/** API requests per period per client address, while the test runs. */
const LIMIT = 100;
const PERIOD_SECONDS = 10;
/** The client over the limit sends 5x it; the one at a normal rate half of it; the exempt one 2x. */
const OVER_RATE = 50;
const NORMAL_RATE = 5;
const EXEMPT_RATE = 20;
const WINDOW_MS = 15_000;
/** Host-side addresses of the two limited clients; the exempt one is the host's own. */
const OVER_CLIENT = "10.77.0.251";
const NORMAL_CLIENT = "10.77.0.252";
const EXEMPT_CLIENT = LAB_NETWORK.gateway;
const BRIDGE = DEFAULTS.incusNetwork;
const CHANGED = ["rateLimitApiRequests", "rateLimitPeriodSeconds", "rateLimitExemptSources"];

const figures: Record<string, string | number> = {};
let lab: LabOutputs;
const path = (p: string) => lab.lbUrl.replace(/\/$/, "") + p;
const metricsOf = (container: string) => lab.metricsUrls[lab.haproxyContainers.indexOf(container)];

/** One GET on a connection of its own from `from`: status and Retry-After. */
function getFrom(from: string, url: string): Promise<{ status: number; retryAfter: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, localAddress: from, timeout: 5_000 }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0, retryAfter: String(response.headers["retry-after"] ?? "") });
    });
    request.on("timeout", () => request.destroy(new Error(`no answer to ${url} from ${from} within 5 s`)));
    request.on("error", reject);
  });
}

/** The API request count `node` holds for `client` in its shared table (0 when it has no row). */
async function countOn(node: string, client: string): Promise<number> {
  const row = await admin(lab, `show table ${LIMIT_API_REQUESTS} key ${client}`, node);
  return Number(/http_req_rate\(\d+\)=(\d+)/.exec(row)?.[1] ?? 0);
}

const byOutcome = (samples: LoadSample[]) =>
  Object.entries(samples.reduce<Record<string, number>>((counts, s) => ({ ...counts, [s.outcome]: (counts[s.outcome] ?? 0) + 1 }), {}))
    .map(([outcome, count]) => `${outcome} x${count}`)
    .join(", ");
const p99 = (samples: LoadSample[]) =>
  percentile(
    samples.filter((s) => s.ok).map((s) => s.latencyMs),
    99,
  );

async function up(): Promise<void> {
  await pulumi("up", "--yes", "--skip-preview");
  lab = await outputs();
  await waitAllUp(lab, 120_000);
  await waitFor("the load balancer to answer", () => answers(path("/api/v1/health")), 30_000, 100);
}

beforeAll(async () => {
  const present = await run("ip", ["-4", "-o", "addr", "show", "dev", BRIDGE]);
  for (const address of [OVER_CLIENT, NORMAL_CLIENT]) {
    if (present.includes(` ${address}/`))
      throw new Error(`${address} is already on ${BRIDGE}; remove it (ip addr del ${address}/32 dev ${BRIDGE})`);
  }
  await pulumi("config", "set", "veza-infra:rateLimitApiRequests", String(LIMIT));
  await pulumi("config", "set", "veza-infra:rateLimitPeriodSeconds", String(PERIOD_SECONDS));
  await pulumi("config", "set", "--path", "veza-infra:rateLimitExemptSources[0]", `${EXEMPT_CLIENT}/32`);
  await up();
  for (const address of [OVER_CLIENT, NORMAL_CLIENT]) {
    if (address === lab.virtualIp) throw new Error(`${address} is this stack's virtual IP`);
    await run("ip", ["-4", "addr", "add", `${address}/32`, "dev", BRIDGE]);
  }
});

afterAll(async () => {
  for (const address of [OVER_CLIENT, NORMAL_CLIENT])
    await run("ip", ["-4", "addr", "del", `${address}/32`, "dev", BRIDGE]).catch(() => undefined);
  for (const key of CHANGED) await pulumi("config", "rm", `veza-infra:${key}`);
  await up();
  console.log(
    `edge protection figures:\n${Object.entries(figures)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join("\n")}`,
  );
});

test("the client over the limit gets 429 with Retry-After; the one at a normal rate loses nothing, its p99 within noise; the exempt one is never limited", async () => {
  const url = path("/api/v1/items");
  const node = await servingNode(lab);
  const baseline = steadyLoad(url, NORMAL_RATE, { localAddress: NORMAL_CLIENT });
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const alone = await baseline.stop();

  const before = await scrape(metricsOf(node));
  const normal = steadyLoad(url, NORMAL_RATE, { localAddress: NORMAL_CLIENT });
  const over = steadyLoad(url, OVER_RATE, { localAddress: OVER_CLIENT });
  const exempt = steadyLoad(url, EXEMPT_RATE, { localAddress: EXEMPT_CLIENT });
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const [beside, flood, free] = [await normal.stop(), await over.stop(), await exempt.stop()];
  const refusal = await getFrom(OVER_CLIENT, url);
  const after = await scrape(metricsOf(node));

  const denied = 'haproxy_frontend_requests_denied_total{proxy="edge"}';
  const throttled = `haproxy_sticktable_used{name="${LIMIT_THROTTLED}",type="ip"}`;
  figures["limit"] = `${LIMIT} API requests per ${PERIOD_SECONDS} s per client address`;
  figures[`over the limit (${OVER_RATE} req/s for ${WINDOW_MS / 1000} s)`] = byOutcome(flood.samples);
  figures[`normal rate (${NORMAL_RATE} req/s) alone: ok/failed, p99 (ms)`] =
    `${alone.ok}/${alone.failures.length}, ${p99(alone.samples).toFixed(1)}`;
  figures[`normal rate beside the flood: ok/failed, p99 (ms)`] =
    `${beside.ok}/${beside.failures.length}, ${p99(beside.samples).toFixed(1)}`;
  figures[`exempt network (${EXEMPT_RATE} req/s)`] = byOutcome(free.samples);
  figures["exporter: requests denied on edge / clients throttled"] =
    `${(after.get(denied) ?? NaN) - (before.get(denied) ?? NaN)} / ${after.get(throttled)}`;

  const refused = flood.samples.filter((s) => s.outcome === "429").length;
  expect(flood.samples.every((s) => s.ok || s.outcome === "429")).toBe(true);
  expect(refused).toBeGreaterThan(0);
  // Refused requests count too, so a client that keeps going past the limit stays refused.
  expect(flood.ok).toBeLessThanOrEqual(LIMIT);
  expect(refusal).toEqual({ status: 429, retryAfter: String(PERIOD_SECONDS) });

  expect(alone.failures).toEqual([]);
  expect(beside.failures).toEqual([]);
  // "Within noise" on a shared 2-core host: a few milliseconds either way, never a multiple.
  expect(p99(beside.samples)).toBeLessThanOrEqual(Math.max(3 * p99(alone.samples), p99(alone.samples) + 100));

  expect(free.failures).toEqual([]);
  expect(free.ok).toBeGreaterThan(LIMIT);

  expect((after.get(denied) ?? NaN) - (before.get(denied) ?? NaN)).toBe(refused + 1);
  expect(after.get(throttled)).toBeGreaterThanOrEqual(1);
});

test("the client over the limit is still limited right after the virtual IP moves to the other node", async () => {
  expect(lab.virtualIp).not.toBe("");
  const url = path("/api/v1/items");
  const holder = await servingNode(lab);
  const other = lab.haproxyContainers.find((c) => c !== holder) as string;
  const flood = steadyLoad(url, OVER_RATE, { localAddress: OVER_CLIENT });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await flood.stop();
  // The other node holds the client's count before the address moves: it came over the peers link.
  await waitFor(
    `${other} to hold ${OVER_CLIENT}'s count above ${LIMIT}`,
    async () => (await countOn(other, OVER_CLIENT)) > LIMIT,
    10_000,
    100,
  );
  figures[`${OVER_CLIENT}'s count on the node without the address, before the move`] = await countOn(other, OVER_CLIENT);

  const stoppedAt = Date.now();
  await incus("exec", holder, "--", "systemctl", "stop", "keepalived");
  try {
    await waitFor(`${other} holding the virtual IP`, () => holdsVirtualIp(lab, other), 10_000, 20);
    const movedAt = Date.now();
    const first = await Promise.all([getFrom(OVER_CLIENT, url), getFrom(NORMAL_CLIENT, url)]);
    figures["keepalived stopped on the holder to the address on the other node (ms)"] = movedAt - stoppedAt;
    figures["first answers after the move: over-limit client, normal client"] =
      `${first[0].status}, ${first[1].status} (${Date.now() - movedAt} ms after the move)`;
    const rest = [];
    for (let i = 0; i < 4; i++) rest.push(await getFrom(OVER_CLIENT, url));
    expect(await holdsVirtualIp(lab, other)).toBe(true);
    for (const answer of [first[0], ...rest]) expect(answer).toEqual({ status: 429, retryAfter: String(PERIOD_SECONDS) });
    expect(first[1].status).toBe(200);
  } finally {
    // nopreempt: the address stays where it went; the old holder stands by again.
    await incus("exec", holder, "--", "systemctl", "start", "keepalived");
  }
});
