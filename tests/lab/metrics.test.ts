/**
 * The Prometheus exporter during the backend drill, on the real lab (the host, 10.77.0.1, is in
 * the default metricsAllowedSources): the victim's haproxy_server_status goes DOWN and comes back
 * UP, and api_pool's request counter grows by exactly what the load generator sent.
 */
import { LabOutputs, incus, outputs, pulumi, scrape, servingNode, steadyLoad, waitAllUp, waitFor } from "./harness";

jest.setTimeout(10 * 60_000);

let lab: LabOutputs;
/** The exporter of the node the load goes through (with the pair, the virtual IP's holder): its counters see the load. */
let metricsUrl: string;
const VICTIM = "backend-api-2";
const LOAD_RATE = 50;

/** The state haproxy_server_status reports for a server of api_pool (the sample at 1). */
async function state(server: string): Promise<string | undefined> {
  const metrics = await scrape(metricsUrl);
  const prefix = `haproxy_server_status{proxy="api_pool",server="${server}",state="`;
  const current = [...metrics].find(([key, value]) => key.startsWith(prefix) && value === 1);
  return current?.[0].slice(prefix.length, -2);
}

const apiRequests = async () => (await scrape(metricsUrl)).get('haproxy_backend_http_requests_total{proxy="api_pool"}') ?? NaN;

beforeAll(async () => {
  await pulumi("up", "--yes", "--skip-preview");
  lab = await outputs();
  await waitAllUp(lab, 120_000);
  const node = await servingNode(lab);
  metricsUrl = lab.metricsUrls[lab.haproxyContainers.indexOf(node)];
});

test("metricsUrls answer the host and list every server", async () => {
  expect(lab.metricsUrls).toEqual(lab.haproxyAddresses.map((address) => `http://${address}:9101/metrics`));
  for (const server of ["backend-api-1", "backend-api-2"]) expect(await state(server)).toBe("UP");
});

test("backend drill as metrics: the victim goes DOWN and back UP, request counters match the load", async () => {
  const victim = lab.backendApiContainers.find((c) => c.endsWith(VICTIM))!;
  const before = await apiRequests();
  const load = steadyLoad(`${lab.lbUrl.replace(/\/$/, "")}/api/v1/items`, LOAD_RATE);
  let sent: { ok: number; failures: string[] };
  try {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await incus("stop", "--force", victim);
    await waitFor(`${VICTIM} DOWN in /metrics`, async () => (await state(VICTIM)) === "DOWN", 30_000, 100);
    await incus("start", victim);
    await waitFor(`${VICTIM} UP in /metrics`, async () => (await state(VICTIM)) === "UP", 60_000, 100);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  } finally {
    sent = await load.stop();
  }
  expect(sent.failures).toEqual([]);
  // Only the load generator talks to api_pool here; health checks are not HTTP requests of the
  // backend, and a request retried on another server is still one request.
  expect((await apiRequests()) - before).toBe(sent.ok + sent.failures.length);
});
