/**
 * The consistent-hash claim on the real HAProxy: the rendered stream_pool, run on loopback in
 * front of tiny HTTP servers that answer with their name. Adding a server may only move URIs to
 * the new one; removing one may only move that server's URIs. Every answer is also the one the
 * ring model (helpers/haproxyRing.ts) predicts, which is what lets the properties trust it.
 */
import { ChildProcess } from "child_process";
import * as http from "http";
import { Upstream } from "../../components/haproxy/haproxyConfig";
import { DEFAULTS } from "../../stack/settings";
import { buildRing, serverFor, streamPoolServers } from "./helpers/haproxyRing";
import { freePort, get, startHaproxy, stopHaproxy } from "./helpers/localHaproxy";
import { HAPROXY, describeWithTools, tempDir } from "./helpers/tools";
import { stackHaproxyConfig } from "../../stack/componentArgs";

const URIS = Array.from({ length: 400 }, (_, i) => `/hls/track-${i}/seg-1.ts`);

describeWithTools([HAPROXY])("stream_pool consistent hashing on the real haproxy", () => {
  const dir = tempDir("locality");
  const servers: http.Server[] = [];
  let haproxy: ChildProcess | undefined;
  let streamPort: number;
  let frontPort: number;
  let statsPort: number;
  let metricsPort: number;

  /** Stream servers stream-server-1..6 on 127.0.0.21.., all on one port as in production. */
  const upstream = (n: number): Upstream => ({ name: `stream-server-${n}`, address: `127.0.0.${20 + n}` });

  beforeAll(async () => {
    [streamPort, frontPort, statsPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    for (let n = 1; n <= 5; n++) {
      const server = http.createServer((_request, response) => response.end(upstream(n).name));
      await new Promise<void>((resolve) => server.listen(streamPort, upstream(n).address, resolve));
      servers.push(server);
    }
  });

  afterAll(async () => {
    await stopHaproxy(haproxy);
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function placement(streamFleet: Upstream[]): Promise<Map<string, string>> {
    await stopHaproxy(haproxy);
    const config = stackHaproxyConfig(
      { ...DEFAULTS, httpPort: frontPort, statsPort, metricsPort, streamServerPort: streamPort, gracefulDrainSeconds: 0 },
      { backendApi: [{ name: "backend-api-1", address: "127.0.0.20" }], streamServer: streamFleet },
    );
    haproxy = await startHaproxy(config, dir, async () => (await get(frontPort, "/hls/ready")).status === 200);
    const map = new Map<string, string>();
    for (let i = 0; i < URIS.length; i += 25) {
      const batch = URIS.slice(i, i + 25);
      const answers = await Promise.all(batch.map((uri) => get(frontPort, uri)));
      batch.forEach((uri, k) => map.set(uri, answers[k].body));
    }
    const ring = buildRing(streamPoolServers(config));
    expect(URIS.filter((uri) => serverFor(ring, uri) !== map.get(uri))).toEqual([]);
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
