import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Fleets, STATS_PASSWORD_ENV, Upstream, configHash, serverHashId, serverNames } from "../../components/haproxy/haproxyConfig";
import { DEFAULTS, Settings } from "../../stack/settings";
import { HAPROXY, OPENSSL, describeWithTools, haproxyCheck, selfSignedPem, tempDir } from "./helpers/tools";
import { haproxyOptionsFromSettings, HaproxySettings, stackHaproxyConfig } from "../../stack/componentArgs";

const GOLDEN_DIR = path.join(__dirname, "..", "golden");

const settings = (overrides: Partial<Settings> = {}): HaproxySettings => ({ ...DEFAULTS, ...overrides });
const fleet = (base: string, count: number, firstOctet = 11): Upstream[] =>
  Array.from({ length: count }, (_, i) => ({ name: `${base}-${i + 1}`, address: `10.77.0.${firstOctet + i}` }));
const fleets = (apiCount: number, streamCount: number): Fleets => ({
  backendApi: fleet("backend-api", apiCount),
  streamServer: fleet("stream-server", streamCount, 100),
});

/** The `server` lines of one backend, split into words. */
function serverLines(config: string, backend: string): string[][] {
  const section = config.split(`\nbackend ${backend}\n`)[1].split("\n\n")[0];
  return section
    .split("\n")
    .filter((line) => line.startsWith("    server "))
    .map((line) => line.trim().split(/\s+/));
}

/** Server name to its `id` in stream_pool. */
function streamIds(config: string): Map<string, number> {
  return new Map(serverLines(config, "stream_pool").map((words) => [words[1], Number(words[words.indexOf("id") + 1])]));
}

/** The pair's two nodes, by container name, as HaproxyPair gives them. */
const PEERS: Upstream[] = [
  { name: "lab-haproxy", address: "10.77.0.5" },
  { name: "lab-haproxy-2", address: "10.77.0.6" },
];

/** The variants kept as golden files: one per shape of config. */
const GOLDEN: Record<string, { settings: HaproxySettings; fleets: Fleets; peers?: Upstream[] }> = {
  "haproxy-default": { settings: settings(), fleets: fleets(2, 2) },
  "haproxy-pair": {
    settings: settings({ clientAddressSource: "x-forwarded-for", trustedProxies: ["192.0.2.0/24", "198.51.100.7/32"] }),
    fleets: fleets(2, 2),
    peers: PEERS,
  },
  "haproxy-tls": {
    settings: settings({
      tlsCertPath: "/anywhere/veza.pem",
      gracefulDrainSeconds: 0,
      stickyCookieName: "VEZA'#$ID",
      streamPathPrefixes: ["/hls/", "/stream/", "/live/"],
      backendApiHealthPath: "/api/v2/health?deep=1",
      retries: 2,
      clientAddressSource: "proxy-protocol",
      trustedProxies: ["192.0.2.0/24"],
      rateLimitExemptSources: [],
    }),
    fleets: fleets(3, 3),
  },
  "haproxy-fallbacks": {
    settings: settings({
      backendApiCount: 0,
      streamServerCount: 0,
      backendApiFallbackServers: ["10.0.0.5:8080", "localhost:9080"],
      streamServerFallbackServers: ["10.0.0.6:8082"],
      rateLimitEnabled: false,
    }),
    fleets: fleets(0, 0),
  },
};

describe("golden files (UPDATE_GOLDEN=1 rewrites them)", () => {
  test.each(Object.keys(GOLDEN))("%s", (name) => {
    const file = path.join(GOLDEN_DIR, `${name}.cfg`);
    const rendered = stackHaproxyConfig(GOLDEN[name].settings, GOLDEN[name].fleets, GOLDEN[name].peers);
    if (process.env.UPDATE_GOLDEN === "1") {
      fs.mkdirSync(GOLDEN_DIR, { recursive: true });
      fs.writeFileSync(file, rendered);
    }
    expect(rendered).toBe(fs.readFileSync(file, "utf8"));
  });
});

describe("renderHaproxyConfig", () => {
  const plain = stackHaproxyConfig(settings(), fleets(2, 2));
  const tls = stackHaproxyConfig(settings({ tlsCertPath: "/x.pem" }), fleets(2, 2));

  test("keeps the seed's process model: master-worker, admin socket handing listeners over, server state", () => {
    expect(plain).toContain("\n    master-worker\n");
    expect(plain).toContain("\n    stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners\n");
    expect(plain).toMatch(/\n    server-state-file \/var\/lib\/haproxy\/server-state-[0-9a-f]{12}\n/);
    expect(plain).toContain("\n    load-server-state-from-file global\n");
    expect(plain).toContain("\n    log /dev/log local0\n");
  });

  test("without TLS: HTTP only, no redirect, no Secure cookie", () => {
    expect(plain).toContain("\n    bind :80\n");
    expect(plain).not.toMatch(/ssl-default|ssl crt|redirect|:443/);
    expect(plain).toContain('\n    cookie "VEZA_SERVERID" insert indirect nocache httponly\n');
  });

  test("with TLS: HTTPS with Mozilla Intermediate, HTTP redirected, X-Forwarded-Proto set", () => {
    expect(tls).toContain("\n    bind :443 ssl crt /etc/haproxy/certs/veza.pem alpn h2,http/1.1\n");
    expect(tls).toContain("\n    http-request redirect scheme https code 301 unless { ssl_fc }\n");
    expect(tls).toContain("\n    ssl-default-bind-options prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets\n");
    expect(tls).toContain(
      "\n    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\n",
    );
    expect(tls).toContain("\n    http-request set-header X-Forwarded-Proto https if { ssl_fc }\n");
    expect(tls).toContain("insert indirect nocache httponly secure\n");
  });

  test("routes the stream prefixes to stream_pool, WebSocket upgrades to api_ws and the rest to api_pool", () => {
    expect(plain).toContain("\n    acl is_stream path_beg /hls/ /stream/\n");
    expect(plain).toContain(
      "\n    use_backend stream_pool if is_stream\n    use_backend api_ws if { req.hdr(upgrade) -i websocket }\n    default_backend api_pool\n",
    );
  });

  test("spreads many stream prefixes over acl lines of at most 32, keeping HAProxy's 64 words a line", () => {
    const prefixes = manyPrefixes(70);
    const lines = stackHaproxyConfig(settings({ streamPathPrefixes: prefixes }), fleets(1, 1))
      .split("\n")
      .filter((line) => line.startsWith("    acl is_stream path_beg "));
    expect(lines.map((line) => line.trim().split(" ").length - 3)).toEqual([32, 32, 6]);
    expect(lines.flatMap((line) => line.trim().split(" ").slice(3))).toEqual(prefixes);
  });

  test("limits how long an old worker may keep its connections after a reload", () => {
    expect(plain).toContain("\n    hard-stop-after 300s\n");
    expect(stackHaproxyConfig(settings({ hardStopAfterSeconds: 86400 }), fleets(1, 1))).toContain("\n    hard-stop-after 86400s\n");
  });

  test("only WebSocket sessions are cut when their server goes DOWN; api_ws follows api_pool's health and pins", () => {
    expect(plain).not.toMatch(/default-server.*shutdown-sessions/);
    expect(serverLines(plain, "api_ws")).toEqual(
      serverLines(plain, "api_pool").map(([keyword, name, ...rest]) => [
        keyword,
        name,
        ...rest,
        "no-check",
        "track",
        `api_pool/${name}`,
        "on-marked-down",
        "shutdown-sessions",
      ]),
    );
  });

  test("health checks, passive checks, retries and timeouts come from the settings", () => {
    const custom = stackHaproxyConfig(
      settings({
        healthCheckIntervalMs: 2000,
        healthCheckTimeoutMs: 700,
        healthCheckFall: 4,
        healthCheckRise: 3,
        gracefulDrainSeconds: 12,
        retries: 5,
        connectTimeoutMs: 250,
        serverTimeoutMs: 9000,
        tunnelTimeoutSeconds: 60,
      }),
      fleets(1, 1),
    );
    expect(custom).toContain(
      "\n    default-server check inter 2000ms fastinter 100ms downinter 2000ms fall 4 rise 3 slowstart 12s observe layer4 error-limit 1 on-error sudden-death\n",
    );
    for (const line of [
      "timeout check 700ms",
      "retries 5",
      "timeout connect 250ms",
      "timeout server 9000ms",
      "timeout tunnel 60s",
      "option redispatch 1",
    ]) {
      expect(custom).toContain(`\n    ${line}\n`);
    }
    expect(custom).toContain("\n    retry-on conn-failure empty-response junk-response response-timeout 502 503 504\n");
    expect(custom).toContain("\n    http-request disable-l7-retry unless METH_GET || METH_OPTIONS\n");
    expect(custom).toContain("\n    http-check send meth GET uri /api/v1/health\n");
    expect(custom).toContain("\n    http-check send meth GET uri /health\n");
  });

  test("omits slowstart when the drain ramp is 0", () => {
    expect(stackHaproxyConfig(settings({ gracefulDrainSeconds: 0 }), fleets(1, 1))).not.toContain("slowstart");
  });

  test("binds the stats page on loopback only, password from the environment", () => {
    const stats = plain
      .split("\nlisten stats\n")[1]
      .split("\n")
      .filter((line) => !line.trimStart().startsWith("#"));
    expect(stats.slice(0, 5)).toEqual([
      "    bind 127.0.0.1:9100",
      "    monitor-uri /alive",
      "    stats enable",
      "    stats uri /stats",
      '    stats auth "admin:${VEZA_STATS_PASSWORD}"',
    ]);
    expect(plain).not.toContain("stats admin");
  });

  test("does not render drains: they are runtime state, so draining needs no reload", () => {
    expect(stackHaproxyConfig(settings({ drainServers: ["backend-api-1", "stream-server-2"] }), fleets(2, 2))).toBe(plain);
  });

  test("quotes the cookie name for haproxy.cfg, escaping environment expansion", () => {
    expect(stackHaproxyConfig(settings({ stickyCookieName: "a$b" }), fleets(1, 1))).toContain('\n    cookie "a\\$b" insert');
  });
});

describe("edge protection", () => {
  const section = (config: string, header: string) => config.split(`\n${header}\n`)[1]?.split("\n\n")[0];

  test("limits by default, the lab subnet exempt, 429 with the period as Retry-After, no peers on a single node", () => {
    const config = stackHaproxyConfig(settings(), fleets(2, 2));
    const edge = section(config, "frontend edge");
    expect(edge).toContain("\n    acl limit_exempt src 10.77.0.0/24\n");
    expect(edge).toContain("\n    http-request track-sc0 src table limit_api_requests unless is_stream || limit_exempt\n");
    expect(edge).toContain("\n    acl limit_over_requests sc_http_req_rate(0) gt 300\n");
    expect(edge).toMatch(/\n {4}http-request deny status 429 .* hdr Retry-After 10 if limit_over_requests \|\| limit_over_connections\n/);
    expect(section(config, "backend limit_api_requests")).toBe("    stick-table type ip size 100k expire 10s store http_req_rate(10s)");
    expect(config).not.toMatch(/peers|HAPROXY_LOCALPEER|set-src|expect-proxy/);
  });

  test("a pair shares the request counts, never the connection counts, over its nodes' own addresses", () => {
    const config = stackHaproxyConfig(settings({ rateLimitPeriodSeconds: 60 }), fleets(1, 1), PEERS);
    expect(section(config, "peers veza_edge")).toBe("    peer lab-haproxy 10.77.0.5:10000\n    peer lab-haproxy-2 10.77.0.6:10000");
    expect(section(config, "backend limit_api_requests")).toBe(
      "    stick-table type ip size 100k expire 60s store http_req_rate(60s) peers veza_edge",
    );
    expect(section(config, "backend limit_connections")).not.toContain("peers");
  });

  test("off: no table, no tracking, no peers, the rest unchanged", () => {
    const off = stackHaproxyConfig(settings({ rateLimitEnabled: false }), fleets(2, 2), PEERS);
    expect(off).not.toMatch(/limit_|track-sc|peers|429/);
    const strip = (config: string) =>
      config
        .split("\n")
        .filter(
          (line) => !/limit_|track-sc|set-var|Per-client limits|counts, refused|Connections are counted|opens beyond the limit/.test(line),
        )
        .join("\n");
    expect(strip(stackHaproxyConfig(settings(), fleets(2, 2))).split("\n# The limits' count tables")[0]).toBe(
      off.split("\n# The password comes")[0].replace(/\n\n$/, ""),
    );
  });

  test("no exempt network: everyone is tracked", () => {
    const edge = section(stackHaproxyConfig(settings({ rateLimitExemptSources: [] }), fleets(1, 1)), "frontend edge");
    expect(edge).not.toContain("limit_exempt");
    expect(edge).toContain("\n    tcp-request session track-sc1 src table limit_connections\n");
    expect(edge).toContain("\n    http-request track-sc0 src table limit_api_requests unless is_stream\n");
  });

  test("the client's address is read only from the trusted proxies, the PROXY header or the last X-Forwarded-For entry", () => {
    const proxies = ["192.0.2.0/24", "198.51.100.7/32"];
    const pp = stackHaproxyConfig(settings({ clientAddressSource: "proxy-protocol", trustedProxies: proxies }), fleets(1, 1));
    expect(pp).toContain("\n    tcp-request connection expect-proxy layer4 if { src 192.0.2.0/24 198.51.100.7/32 }\n");
    expect(pp).not.toContain("set-src");
    const xff = stackHaproxyConfig(settings({ clientAddressSource: "x-forwarded-for", trustedProxies: proxies }), fleets(1, 1));
    expect(xff).toContain("\n    http-request set-src hdr_ip(X-Forwarded-For,-1) if { src 192.0.2.0/24 198.51.100.7/32 }\n");
    expect(xff).toContain("track-sc1 src table limit_connections unless limit_exempt || { src 192.0.2.0/24 198.51.100.7/32 }\n");
    expect(xff).not.toContain("expect-proxy");
  });

  test("peers are two nodes with Incus names and IPv4 addresses", () => {
    expect(() => stackHaproxyConfig(settings(), fleets(1, 1), PEERS.slice(0, 1))).toThrow(
      "peers: a peers section is two nodes or none (got one)",
    );
    expect(() => stackHaproxyConfig(settings(), fleets(1, 1), [PEERS[0], { name: "lab haproxy", address: "10.77.0.300" }])).toThrow(
      'peers: peer name "lab haproxy" is not letters, digits and hyphens; peer lab haproxy has address "10.77.0.300", not an IPv4 address',
    );
  });
});

describe("pools and fallbacks", () => {
  test("the cookie value of each api server is its name", () => {
    const lines = serverLines(stackHaproxyConfig(settings(), fleets(5, 1)), "api_pool");
    expect(lines).toHaveLength(5);
    for (const words of lines) expect(words[words.indexOf("cookie") + 1]).toBe(words[1]);
  });

  test("an empty fleet uses its fallbacks, named fallback-N, kept from blocking startup", () => {
    const config = stackHaproxyConfig(settings({ backendApiFallbackServers: ["10.0.0.5:8080", "api.example.org:9080"] }), {
      backendApi: [],
      streamServer: fleet("stream-server", 1),
    });
    expect(serverLines(config, "api_pool")).toEqual([
      ["server", "fallback-1", "10.0.0.5:8080", "cookie", "fallback-1", "init-addr", "libc,none"],
      ["server", "fallback-2", "api.example.org:9080", "cookie", "fallback-2", "init-addr", "libc,none"],
    ]);
  });

  test("a pool with neither fleet nor fallbacks is refused", () => {
    expect(() => stackHaproxyConfig(settings(), { backendApi: fleet("backend-api", 1), streamServer: [] })).toThrow(
      "stream_pool would have no server: its fleet is empty and pools.streamServer.fallbacks lists none",
    );
  });

  test("bad upstreams are refused, all named", () => {
    const bad = {
      backendApi: [
        { name: "backend api", address: "10.0.0.1" },
        { name: "backend-api-2", address: "fe80::1" },
        { name: "backend-api-2", address: "10.0.0.3" },
      ],
      streamServer: fleet("stream-server", 1),
    };
    expect(() => stackHaproxyConfig(settings(), bad)).toThrow(
      'api_pool: server name "backend api" is not letters, digits and hyphens; backend-api-2 has address "fe80::1", not an IPv4 address; server name backend-api-2 appears twice',
    );
  });

  test("serverNames lists every server HAProxy will have, by backend", () => {
    expect(
      serverNames(haproxyOptionsFromSettings(settings({ streamServerFallbackServers: ["10.0.0.6:8082"] })), {
        backendApi: fleet("backend-api", 2),
        streamServer: [],
      }),
    ).toEqual([
      { backend: "api_pool", server: "backend-api-1" },
      { backend: "api_pool", server: "backend-api-2" },
      { backend: "api_ws", server: "backend-api-1" },
      { backend: "api_ws", server: "backend-api-2" },
      { backend: "stream_pool", server: "fallback-1" },
    ]);
  });
});

describe("consistent-hash server ids", () => {
  test("are FNV-1a of the name folded into 1..2^20, the ids whose ring points differ", () => {
    expect(serverHashId("")).toBe((0x811c9dc5 % 2 ** 20) + 1);
    for (const name of fleetNamesUpTo(32)) {
      expect(serverHashId(name)).toBe(serverHashId(name));
      expect(serverHashId(name)).toBeGreaterThanOrEqual(1);
      expect(serverHashId(name)).toBeLessThanOrEqual(2 ** 20);
    }
  });

  test("never collide among the names this program gives (up to 32 per pool)", () => {
    const ids = fleetNamesUpTo(32).map(serverHashId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(() => stackHaproxyConfig(settings(), fleets(32, 32))).not.toThrow();
  });

  test("stay put when a server joins or leaves: only the ring points of that server change", () => {
    const four = streamIds(stackHaproxyConfig(settings(), fleets(1, 4)));
    const five = streamIds(stackHaproxyConfig(settings(), fleets(1, 5)));
    const withoutSecond = streamIds(
      stackHaproxyConfig(settings(), {
        backendApi: fleet("backend-api", 1),
        streamServer: fleet("stream-server", 4, 100).filter((u) => u.name !== "stream-server-2"),
      }),
    );
    for (const [name, id] of four) {
      expect(five.get(name)).toBe(id);
      if (name !== "stream-server-2") expect(withoutSecond.get(name)).toBe(id);
    }
    expect(new Set(five.values()).size).toBe(5);
  });

  test("two names that would share ring points are refused", () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const name = `stream-server-x${i}`;
      const other = seen.get(serverHashId(name));
      if (other) pair = [other, name];
      seen.set(serverHashId(name), name);
    }
    const colliding = { backendApi: fleet("backend-api", 1), streamServer: pair.map((name, i) => ({ name, address: `10.0.0.${i + 1}` })) };
    expect(() => stackHaproxyConfig(settings(), colliding)).toThrow(
      `stream_pool: ${pair[0]} and ${pair[1]} hash to the same server id ${serverHashId(pair[0])}; rename one of them`,
    );
  });
});

test("logs errors and abnormal sessions only, unless logEveryRequest asks for every request", () => {
  const defaults = (config: string) => config.slice(config.indexOf("\ndefaults\n"), config.indexOf("\nfrontend edge"));
  const quiet = defaults(stackHaproxyConfig(settings(), fleets(2, 2)));
  expect(quiet).toMatch(/^ {4}option httplog$/m);
  expect(quiet).toMatch(/^ {4}option dontlog-normal$/m);
  const everyRequest = defaults(stackHaproxyConfig(settings({ logEveryRequest: true }), fleets(2, 2)));
  expect(everyRequest).toMatch(/^ {4}option httplog$/m);
  expect(everyRequest).not.toContain("dontlog-normal");
});

test("configHash is the sha256 of the text, so any change to the config changes it", () => {
  const config = stackHaproxyConfig(settings(), fleets(2, 2));
  expect(configHash(config)).toBe(crypto.createHash("sha256").update(config).digest("hex"));
  expect(configHash(stackHaproxyConfig(settings({ healthCheckFall: 3 }), fleets(2, 2)))).not.toBe(configHash(config));
});

/** `count` distinct stream prefixes, each `length` characters long (at least 8). */
function manyPrefixes(count: number, length = 8): string[] {
  return Array.from({ length: count }, (_, i) => `/s${String(i).padStart(4, "0")}`.padEnd(length - 1, "x") + "/");
}

function fleetNamesUpTo(count: number): string[] {
  return ["stream-server", "fallback"].flatMap((base) => fleet(base, count).map((u) => u.name));
}

describeWithTools([HAPROXY, OPENSSL])("the real haproxy -c accepts every variant", () => {
  let pem: string;
  beforeAll(() => {
    pem = selfSignedPem(tempDir("pem"));
  });

  const variants: [string, HaproxySettings, Fleets, Upstream[]?][] = [
    ...Object.entries(GOLDEN).map(([name, v]): [string, HaproxySettings, Fleets, Upstream[]?] => [
      `golden ${name}`,
      v.settings,
      v.fleets,
      v.peers,
    ]),
    ...[false, true].flatMap((withTls) =>
      [1, 2, 3, 4, 5, 6, 7, 8].map((n): [string, HaproxySettings, Fleets] => [
        `${withTls ? "TLS" : "HTTP"}, ${n} server(s) per pool`,
        settings({ tlsCertPath: withTls ? "/x.pem" : "" }),
        fleets(n, n),
      ]),
    ),
    ["70 stream prefixes", settings({ streamPathPrefixes: manyPrefixes(70) }), fleets(2, 2)],
    ["200 stream prefixes", settings({ streamPathPrefixes: manyPrefixes(200) }), fleets(2, 2)],
    [
      "the most stream prefixes validation allows, each as long as allowed",
      settings({ streamPathPrefixes: manyPrefixes(1000, 256) }),
      fleets(2, 2),
    ],
    ["the longest hard-stop-after", settings({ hardStopAfterSeconds: 86400 }), fleets(1, 1)],
    ["every request logged", settings({ logEveryRequest: true }), fleets(2, 2)],
    ["limits off", settings({ rateLimitEnabled: false }), fleets(2, 2)],
    ["limits off on a pair: nothing to share, no peers", settings({ rateLimitEnabled: false }), fleets(2, 2), PEERS],
    [
      "every client limited, the tightest limits",
      settings({ rateLimitExemptSources: [], rateLimitApiRequests: 1, rateLimitPeriodSeconds: 1, rateLimitConnections: 1 }),
      fleets(1, 1),
    ],
    [
      "the widest lists, the loosest limits",
      settings({
        rateLimitExemptSources: Array.from({ length: 32 }, (_, i) => `10.${i}.0.0/16`),
        clientAddressSource: "x-forwarded-for",
        trustedProxies: Array.from({ length: 32 }, (_, i) => `172.16.${i}.0/24`),
        rateLimitApiRequests: 1_000_000,
        rateLimitPeriodSeconds: 3600,
        rateLimitConnections: 100_000,
      }),
      fleets(2, 2),
    ],
    [
      "PROXY protocol on a pair, TLS",
      settings({ tlsCertPath: "/x.pem", clientAddressSource: "proxy-protocol", trustedProxies: ["192.0.2.0/24"] }),
      fleets(2, 2),
      PEERS,
    ],
    [
      "api fleet empty, fallbacks",
      settings({ backendApiFallbackServers: ["10.0.0.5:8080"] }),
      { backendApi: [], streamServer: fleet("stream-server", 2) },
    ],
    [
      "stream fleet empty, fallbacks, TLS",
      settings({ tlsCertPath: "/x.pem", streamServerFallbackServers: ["127.0.0.1:8082", "localhost:8083"] }),
      { backendApi: fleet("backend-api", 2), streamServer: [] },
    ],
  ];

  // A pair's file is checked as each of its nodes loads it: under that node's name.
  // Rows of one length: jest hands a shorter row's test a `done` callback in the missing place.
  test.each(variants.map(([label, s, f, peers]) => [label, s, f, peers ?? []] as const))(
    "%s",
    (_label, variantSettings, variantFleets, peers) => {
      for (const node of peers.length > 0 ? peers.map((peer) => peer.name) : [undefined]) {
        const verdict = haproxyCheck(stackHaproxyConfig(variantSettings, variantFleets, peers), pem, node);
        expect(verdict.output).toContain("Configuration file is valid");
        expect(verdict.status).toBe(0);
        expect(verdict.warnings).toEqual([]);
      }
    },
  );

  test("a pair's file refuses to load on a node that is not one of its peers, whose counts would go unshared", () => {
    const verdict = haproxyCheck(stackHaproxyConfig(settings(), fleets(1, 1), PEERS), undefined, "lab-haproxy-3");
    expect(verdict.status).not.toBe(0);
    expect(verdict.output).toContain("this node (lab-haproxy-3) is not a peer of the pair: its rate-limit counts would not be shared");
  });

  test("a fallback host that does not resolve disables that server instead of stopping HAProxy", () => {
    const config = stackHaproxyConfig(settings({ backendApiFallbackServers: ["api.invalid:8080", "10.0.0.5:8080"] }), {
      backendApi: [],
      streamServer: fleet("stream-server", 1),
    });
    const verdict = haproxyCheck(config);
    expect(verdict.status).toBe(0);
    expect(verdict.warnings.join("\n")).toContain("could not resolve address 'api.invalid', disabling server");
  });

  test("the config refuses to load when the stats password is not in the environment", () => {
    const dir = tempDir("nopw");
    const file = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(file, stackHaproxyConfig(settings(), fleets(1, 1)));
    const env = { ...process.env };
    delete env[STATS_PASSWORD_ENV];
    const run = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8", env });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("VEZA_STATS_PASSWORD is not set");
  });
});

describe("server-state file name", () => {
  const stateFile = (config: string) => /server-state-file (\S+)/.exec(config)?.[1];

  test("keeps its name when a fleet scales, so health and drain states carry over the reload", () => {
    expect(stateFile(stackHaproxyConfig(settings(), fleets(2, 2)))).toBe(stateFile(stackHaproxyConfig(settings(), fleets(3, 5))));
  });

  test("changes with an upstream port, whose old value HAProxy 2.6 would otherwise take from the file", () => {
    const before = stateFile(stackHaproxyConfig(settings(), fleets(2, 2)));
    expect(stateFile(stackHaproxyConfig(settings({ backendApiPort: 9080 }), fleets(2, 2)))).not.toBe(before);
    expect(stateFile(stackHaproxyConfig(settings({ streamServerPort: 9082 }), fleets(2, 2)))).not.toBe(before);
  });
});
