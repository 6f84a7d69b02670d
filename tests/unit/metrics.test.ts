/**
 * The metrics frontend on the real HAProxy, run on loopback: an allowed source scrapes the
 * Prometheus exporter, any other source is refused, and nothing else is served there.
 */
import { ChildProcess } from "child_process";
import { DEFAULTS, Settings } from "../../stack/settings";
import { freePort, get, startHaproxy, stopHaproxy } from "./helpers/localHaproxy";
import { HAPROXY, describeWithTools, tempDir } from "./helpers/tools";
import { stackHaproxyConfig } from "../../stack/componentArgs";

const FLEETS = {
  backendApi: [{ name: "backend-api-1", address: "127.0.0.20" }],
  streamServer: [{ name: "stream-server-1", address: "127.0.0.21" }],
};

describeWithTools([HAPROXY])("the metrics frontend on the real haproxy", () => {
  let haproxy: ChildProcess | undefined;
  afterEach(() => stopHaproxy(haproxy));

  /** Starts the rendered config with `sources` allowed and returns the metrics port. */
  async function start(sources: string[]): Promise<number> {
    const [httpPort, statsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const settings: Settings = { ...DEFAULTS, httpPort, statsPort, metricsPort, metricsAllowedSources: sources };
    haproxy = await startHaproxy(
      stackHaproxyConfig(settings, FLEETS),
      tempDir("metrics"),
      async () => (await get(metricsPort, "/metrics")).status > 0,
    );
    return metricsPort;
  }

  test("serves the Prometheus exporter to an allowed source, with every server's status", async () => {
    const port = await start(["10.77.0.0/24", "127.0.0.0/8"]);
    const scrape = await get(port, "/metrics");
    expect(scrape.status).toBe(200);
    expect(scrape.body).toMatch(/^haproxy_server_status\{proxy="api_pool",server="backend-api-1",state="(UP|DOWN)"\} [01]$/m);
    expect(scrape.body).toMatch(/^haproxy_backend_http_requests_total\{proxy="stream_pool"\} \d+$/m);
    expect((await get(port, "/stats")).status).toBe(404);
  }, 30_000);

  test("refuses a source outside metricsAllowedSources", async () => {
    const port = await start(["10.77.0.0/24"]);
    const scrape = await get(port, "/metrics");
    expect(scrape.status).toBe(403);
    expect(scrape.body).not.toContain("haproxy_");
  }, 30_000);
});
