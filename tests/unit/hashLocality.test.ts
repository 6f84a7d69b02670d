/**
 * The consistent-hash claim on the real HAProxy: the rendered stream_pool, run on loopback in
 * front of tiny HTTP servers that answer with their name. Adding a server may only move URIs to
 * the new one; removing one may only move that server's URIs.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { STATS_PASSWORD_ENV, Upstream, renderHaproxyConfig } from "../../components/haproxyConfig";
import { DEFAULTS } from "../../components/settings";
import { HAPROXY, TEST_STATS_PASSWORD, describeWithTools, freePort, loopbackHaproxyConfig, tempDir } from "./helpers/tools";

const URIS = Array.from({ length: 400 }, (_, i) => `/hls/track-${i}/seg-1.ts`);

function get(port: number, uri: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: uri, agent: false }, (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describeWithTools([HAPROXY])("stream_pool consistent hashing on the real haproxy", () => {
  const dir = tempDir("locality");
  const servers: http.Server[] = [];
  let haproxy: ChildProcess | undefined;
  let streamPort: number;
  let frontPort: number;
  let statsPort: number;

  /** Stream servers stream-server-1..6 on 127.0.0.21.., all on one port as in production. */
  const upstream = (n: number): Upstream => ({ name: `stream-server-${n}`, address: `127.0.0.${20 + n}` });

  beforeAll(async () => {
    [streamPort, frontPort, statsPort] = [await freePort(), await freePort(), await freePort()];
    for (let n = 1; n <= 5; n++) {
      const server = http.createServer((_request, response) => response.end(upstream(n).name));
      await new Promise<void>((resolve) => server.listen(streamPort, upstream(n).address, resolve));
      servers.push(server);
    }
  });

  afterAll(async () => {
    await stopHaproxy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function stopHaproxy(): Promise<void> {
    const running = haproxy;
    haproxy = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGTERM");
    await exited;
  }

  /** Runs the rendered config, made runnable without root and bound to loopback only. */
  async function placement(streamFleet: Upstream[]): Promise<Map<string, string>> {
    await stopHaproxy();
    const rendered = renderHaproxyConfig(
      { ...DEFAULTS, httpPort: frontPort, statsPort, streamServerPort: streamPort, gracefulDrainSeconds: 0 },
      { backendApi: [{ name: "backend-api-1", address: "127.0.0.20" }], streamServer: streamFleet },
    );
    const config = loopbackHaproxyConfig(rendered, dir, frontPort);
    const file = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(file, config);
    const started = spawn("haproxy", ["-db", "-f", file], { env: { ...process.env, [STATS_PASSWORD_ENV]: TEST_STATS_PASSWORD }, stdio: "ignore" });
    haproxy = started;
    for (let attempt = 0; ; attempt++) {
      const ready = await get(frontPort, "/hls/ready").catch(() => undefined);
      if (ready?.status === 200) break;
      if (attempt > 100 || started.exitCode !== null) throw new Error("haproxy did not start serving on loopback");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const map = new Map<string, string>();
    for (let i = 0; i < URIS.length; i += 25) {
      const batch = URIS.slice(i, i + 25);
      const answers = await Promise.all(batch.map((uri) => get(frontPort, uri)));
      batch.forEach((uri, k) => map.set(uri, answers[k].body));
    }
    return map;
  }

  test("spreads URIs evenly, adds a server by moving ~1/N of them to it only, removes one by moving only its own", async () => {
    const four = [1, 2, 3, 4].map(upstream);
    const before = await placement(four);
    for (const server of four) {
      const share = [...before.values()].filter((name) => name === server.name).length / URIS.length;
      expect(share).toBeGreaterThan(0.15);
      expect(share).toBeLessThan(0.35);
    }

    const grown = await placement([...four, upstream(5)]);
    const moved = URIS.filter((uri) => grown.get(uri) !== before.get(uri));
    for (const uri of moved) expect(grown.get(uri)).toBe("stream-server-5");
    expect(moved.length / URIS.length).toBeGreaterThan(0.1);
    expect(moved.length / URIS.length).toBeLessThan(0.3);

    const shrunk = await placement(four.filter((s) => s.name !== "stream-server-2"));
    for (const uri of URIS) {
      if (before.get(uri) === "stream-server-2") expect(shrunk.get(uri)).not.toBe("stream-server-2");
      else expect(shrunk.get(uri)).toBe(before.get(uri));
    }
  }, 60_000);
});
