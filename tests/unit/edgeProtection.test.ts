/**
 * Edge protection on the real HAProxy, run on loopback (Linux answers on all of 127.0.0.0/8, so
 * each client below has an address of its own): the per-client API request limit and connection
 * limit answered 429 with Retry-After, the exempt networks, the client's address from a trusted
 * proxy's PROXY header or X-Forwarded-For and from nobody else, and the exporter's counters a
 * dashboard and monitoring/alerts.yml read.
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { load } from "js-yaml";
import { LIMIT_THROTTLED } from "../../components/haproxy/haproxyConfig";
import { DEFAULTS, Settings } from "../../stack/settings";
import { freePort, startHaproxy, stopHaproxy } from "./helpers/localHaproxy";
import { HAPROXY, describeWithTools, tempDir } from "./helpers/tools";
import { stackHaproxyConfig } from "../../stack/componentArgs";

const LIMIT = 5;
const PERIOD = 10;
const CONNECTIONS = 3;
const EXEMPT = "127.0.0.9";
const PROXY = "127.0.0.8";

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/** One GET from `from` on a connection of its own. */
function get(port: number, from: string, uri = "/api/v1/items", headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: uri, localAddress: from, agent: false, headers }, (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, retryAfter: response.headers["retry-after"] as string | undefined, body }),
        );
      })
      .on("error", reject);
  });
}

/** `count` GETs from `from`, one after the other; their statuses. */
async function statuses(count: number, request: () => Promise<Answer>): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) result.push((await request()).status);
  return result;
}

/** A GET written by hand after `preamble` (a PROXY header) on a raw connection from `from`; the status line's code. */
function rawGet(port: number, from: string, preamble: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: from }, () =>
      socket.write(`${preamble}GET /api/v1/items HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n`),
    );
    let text = "";
    socket.on("data", (chunk) => (text += chunk));
    socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on("error", reject);
  });
}

describeWithTools([HAPROXY])("edge protection on the real haproxy", () => {
  let backend: http.Server;
  let backendPort: number;
  let haproxy: ChildProcess | undefined;
  let port: number;
  let metricsPort: number;

  beforeAll(async () => {
    backend = http.createServer((request, response) => response.end(JSON.stringify({ xff: request.headers["x-forwarded-for"] })));
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    backendPort = (backend.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => backend.close(resolve)));
  afterEach(() => stopHaproxy(haproxy));

  /** Starts the rendered config with `overrides` over tight limits, once every server is UP. */
  async function start(overrides: Partial<Settings> = {}): Promise<void> {
    [port, metricsPort] = [await freePort(), await freePort()];
    const settings: Settings = {
      ...DEFAULTS,
      httpPort: port,
      statsPort: await freePort(),
      metricsPort,
      metricsAllowedSources: ["127.0.0.0/8"],
      backendApiPort: backendPort,
      streamServerPort: backendPort,
      rateLimitApiRequests: LIMIT,
      rateLimitPeriodSeconds: PERIOD,
      rateLimitConnections: CONNECTIONS,
      rateLimitExemptSources: [`${EXEMPT}/32`],
      ...overrides,
    };
    const fleets = {
      backendApi: [{ name: "backend-api-1", address: "127.0.0.1" }],
      streamServer: [{ name: "stream-server-1", address: "127.0.0.1" }],
    };
    haproxy = await startHaproxy(stackHaproxyConfig(settings, fleets), tempDir("edge"), async () => {
      const [api, stream] = [await get(port, EXEMPT), await get(port, EXEMPT, "/hls/a.ts")];
      return api.status === 200 && stream.status === 200;
    });
  }

  test("a client over the API limit gets 429 with Retry-After; another, the stream paths and the exempt network do not", async () => {
    await start();
    expect(await statuses(LIMIT + 2, () => get(port, "127.0.0.2"))).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    const refused = await get(port, "127.0.0.2");
    expect(refused).toEqual({
      status: 429,
      retryAfter: String(PERIOD),
      body: `Too many requests from your address; retry after ${PERIOD} s.`,
    });
    expect(await statuses(3, () => get(port, "127.0.0.2", "/hls/segment-1.ts"))).toEqual([200, 200, 200]);
    expect(await statuses(LIMIT, () => get(port, "127.0.0.3"))).toEqual(Array(LIMIT).fill(200));
    expect(await statuses(4 * LIMIT, () => get(port, EXEMPT))).toEqual(Array(4 * LIMIT).fill(200));
  }, 30_000);

  test("a connection beyond the per-client limit is answered 429; the connections before it are served", async () => {
    await start({ rateLimitApiRequests: 1000 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS + 1, localAddress: "127.0.0.4" } as http.AgentOptions);
    try {
      // All at once, each on its own connection: the last is one too many while the others are open.
      const answers = await Promise.all(
        Array.from(
          { length: CONNECTIONS + 1 },
          () =>
            new Promise<number>((resolve, reject) => {
              const request = http.get({ host: "127.0.0.1", port, path: "/api/v1/slow", agent }, (response) => {
                response.resume();
                response.on("end", () => resolve(response.statusCode ?? 0));
              });
              request.on("error", reject);
            }),
        ),
      );
      expect(answers.sort()).toEqual([...Array(CONNECTIONS).fill(200), 429]);
    } finally {
      agent.destroy();
    }
  }, 30_000);

  test("off, nothing is tracked or refused", async () => {
    await start({ rateLimitEnabled: false });
    expect(await statuses(3 * LIMIT, () => get(port, "127.0.0.2"))).toEqual(Array(3 * LIMIT).fill(200));
  }, 30_000);

  test("x-forwarded-for: a trusted proxy's last entry is the client; anyone else is taken at their address", async () => {
    await start({ clientAddressSource: "x-forwarded-for", trustedProxies: [`${PROXY}/32`] });
    const via = (client: string) => () => get(port, PROXY, "/api/v1/items", { "X-Forwarded-For": `203.0.113.1, ${client}` });
    expect(await statuses(LIMIT + 1, via("198.51.100.4"))).toEqual([...Array(LIMIT).fill(200), 429]);
    // Another client behind the same proxy has a count of its own, and more connections than the
    // limit through the proxy are the proxy's, not a client's.
    expect(await statuses(CONNECTIONS + 2, via("198.51.100.5"))).toEqual(Array(CONNECTIONS + 2).fill(200));
    // The backend sees the client last in X-Forwarded-For.
    expect(JSON.parse((await via("198.51.100.6")()).body).xff).toMatch(/, 198\.51\.100\.6$/);
    // A header from an untrusted address names nobody: that address is counted.
    const forged = () => get(port, "127.0.0.5", "/api/v1/items", { "X-Forwarded-For": "198.51.100.7" });
    expect(await statuses(LIMIT + 1, forged)).toEqual([...Array(LIMIT).fill(200), 429]);
    expect((await get(port, PROXY, "/api/v1/items", { "X-Forwarded-For": "198.51.100.7" })).status).toBe(200);
  }, 30_000);

  test("proxy-protocol: a trusted proxy's header names the client; others connect plainly and cannot send one", async () => {
    await start({ clientAddressSource: "proxy-protocol", trustedProxies: [`${PROXY}/32`] });
    const proxied = (client: string) => () => rawGet(port, PROXY, `PROXY TCP4 ${client} 127.0.0.1 40000 ${port}\r\n`);
    expect(await statuses(LIMIT + 1, async () => ({ status: await proxied("198.51.100.8")(), retryAfter: "", body: "" }))).toEqual([
      ...Array(LIMIT).fill(200),
      429,
    ]);
    expect(await proxied("198.51.100.9")()).toBe(200);
    expect((await get(port, "127.0.0.6")).status).toBe(200);
    expect(await rawGet(port, "127.0.0.6", "PROXY TCP4 198.51.100.10 127.0.0.1 40000 80\r\n")).toBe(400);
  }, 30_000);

  test("the exporter counts the refusals per frontend and the throttled clients, and serves every series the alert rules read", async () => {
    await start();
    const refused = (await statuses(LIMIT + 4, () => get(port, "127.0.0.2"))).filter((status) => status === 429).length;
    const scrape = await new Promise<string>((resolve, reject) =>
      http
        .get({ host: "127.0.0.1", port: metricsPort, path: "/metrics", agent: false }, (response) => {
          let body = "";
          response.on("data", (chunk) => (body += chunk));
          response.on("end", () => resolve(body));
        })
        .on("error", reject),
    );
    expect(refused).toBe(4);
    expect(scrape).toMatch(new RegExp(`^haproxy_frontend_requests_denied_total\\{proxy="edge"\\} ${refused}$`, "m"));
    expect(scrape).toMatch(new RegExp(`^haproxy_sticktable_used\\{name="${LIMIT_THROTTLED}",type="ip"\\} 1$`, "m"));
    const rules = load(fs.readFileSync(path.join(__dirname, "..", "..", "monitoring", "alerts.yml"), "utf8")) as {
      groups: { rules: { expr: string }[] }[];
    };
    const read = new Set(rules.groups.flatMap((group) => group.rules.flatMap((rule) => rule.expr.match(/\bhaproxy_\w+/g) ?? [])));
    expect(read.size).toBeGreaterThanOrEqual(5);
    for (const metric of read) expect(scrape).toMatch(new RegExp(`^${metric}\\{`, "m"));
    expect(scrape).toContain(`name="${LIMIT_THROTTLED}"`);
  }, 30_000);
});
