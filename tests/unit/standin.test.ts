/**
 * lab/standin.js: the stand-in for backend-api / stream-server used in lab containers. Each test
 * spawns the real script with plain `node` on an ephemeral loopback port; its `ws` is npm's here.
 * The WebSocket protocol itself is `ws`'s, and tested there: here only what the stand-in adds.
 */
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import WebSocket from "ws";

const SCRIPT = path.resolve(__dirname, "../../lab/standin.js");
const HOST = "127.0.0.1";

jest.setTimeout(20000);

interface Standin {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("VEZA_")) delete env[k];
  return { ...env, ...extra };
}

function spawnStandin(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [SCRIPT, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** Spawns the stand-in and waits for its first stdout line, `listening <port> ...`. */
async function startStandin(args: string[], env: Record<string, string> = {}): Promise<Standin> {
  const s = spawnStandin(args, env);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${s.stderr()}`)), 5000);
    const check = () => {
      const nl = s.stdout().indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      s.child.stdout!.off("data", check);
      const m = /^listening (\d+)\b/.exec(s.stdout().slice(0, nl));
      if (m) resolve(Number(m[1]));
      else reject(new Error(`unexpected first line: ${s.stdout().slice(0, nl)}`));
    };
    s.child.stdout!.on("data", check);
    s.exited.then(({ code }) => reject(new Error(`exited ${code} before listening; stderr: ${s.stderr()}`)));
  });
  return { child: s.child, port, stdout: s.stdout, exited: s.exited };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  reusedSocket: boolean;
  localPort: number | undefined;
}

function request(port: number, urlPath: string, opts: { agent?: http.Agent; method?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, path: urlPath, method: opts.method ?? "GET", agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          reusedSocket: req.reusedSocket,
          localPort: res.socket?.localPort,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

/** A WebSocket whose messages are queued from the start, so the greeting cannot be missed. */
function openWs(port: number, urlPath: string) {
  const ws = new WebSocket(`ws://${HOST}:${port}${urlPath}`);
  const queue: { data: Buffer; isBinary: boolean }[] = [];
  const waiters: ((m: { data: Buffer; isBinary: boolean }) => void)[] = [];
  ws.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
    const m = { data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), isBinary };
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const next = () =>
    new Promise<{ data: Buffer; isBinary: boolean }>((resolve) => {
      const m = queue.shift();
      if (m) resolve(m);
      else waiters.push(resolve);
    });
  return { ws, opened, closed, next };
}

/** Raw TCP client for upgrade requests the `ws` client will not send. */
function rawConnect(port: number) {
  const sock = net.connect(port, HOST);
  let buf = Buffer.alloc(0);
  const listeners: (() => void)[] = [];
  let ended = false;
  sock.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    listeners.splice(0).forEach((l) => l());
  });
  sock.on("error", () => undefined);
  const closed = new Promise<void>((resolve) =>
    sock.on("close", () => {
      ended = true;
      listeners.splice(0).forEach((l) => l());
      resolve();
    }),
  );
  /** Waits until `pred(buffer)` returns something, or the socket closes. */
  const until = <T>(pred: (b: Buffer) => T | undefined): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const r = pred(buf);
        if (r !== undefined) resolve(r);
        else if (ended) reject(new Error(`socket closed; got ${JSON.stringify(buf.toString("latin1"))}`));
        else listeners.push(check);
      };
      check();
    });
  const take = (n: number) => {
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  return { sock, closed, until, take, buffered: () => buf };
}

function upgradeRequest(urlPath: string, key: string, extra = ""): string {
  return (
    `GET ${urlPath} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n${extra}\r\n`
  );
}

afterAll(() => {
  for (const c of children) if (c.pid) process.kill(c.pid, "SIGKILL");
});

describe("standin backend-api", () => {
  const NAME = "lab-backend-api-1";
  let s: Standin;

  beforeAll(async () => {
    s = await startStandin(["--role", "backend-api", "--port", "0", "--host", HOST, "--name", NAME]);
  });
  afterAll(async () => {
    s.child.kill("SIGTERM");
    await s.exited;
  });

  test("first stdout line is `listening <port>` with role and name", () => {
    expect(s.port).toBeGreaterThan(0);
    expect(s.stdout().split("\n")[0]).toMatch(new RegExp(`^listening ${s.port} role=backend-api name=${NAME}\\b`));
  });

  test("GET /api/v1/health -> 200 ok with X-Served-By", async () => {
    const r = await request(s.port, "/api/v1/health");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("ok");
    expect(r.headers["x-served-by"]).toBe(NAME);
  });

  test("HEAD /api/v1/health -> 200 without body", async () => {
    const r = await request(s.port, "/api/v1/health", { method: "HEAD" });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.headers["x-served-by"]).toBe(NAME);
  });

  test("any other path -> 200 JSON {servedBy, path} with X-Served-By", async () => {
    for (const p of ["/", "/api/v1/tracks/42", "/whatever/else"]) {
      const r = await request(s.port, `${p}?q=1`);
      expect(r.status).toBe(200);
      expect(r.headers["x-served-by"]).toBe(NAME);
      expect(r.headers["content-type"]).toMatch(/^application\/json/);
      expect(JSON.parse(r.body.toString())).toEqual({ servedBy: NAME, path: p });
    }
    const post = await request(s.port, "/api/v1/things", { method: "POST" });
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body.toString())).toEqual({ servedBy: NAME, path: "/api/v1/things" });
  });

  test("HTTP keep-alive: two requests reuse one agent socket; Keep-Alive timeout=65", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await request(s.port, "/api/v1/health", { agent });
      const b = await request(s.port, "/api/v1/anything", { agent });
      expect(a.headers.connection).toBe("keep-alive");
      expect(a.headers["keep-alive"]).toBe("timeout=65");
      expect(a.reusedSocket).toBe(false);
      expect(b.reusedSocket).toBe(true);
      expect(b.localPort).toBe(a.localPort);
      expect(b.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  test("WebSocket upgrade outside /api/ -> 404 and the connection is closed", async () => {
    for (const p of ["/", "/ws", "/apix/ws", "/hls/live.m3u8"]) {
      const c = rawConnect(s.port);
      c.sock.write(upgradeRequest(p, crypto.randomBytes(16).toString("base64")));
      await c.closed;
      const text = c.buffered().toString("latin1");
      expect(text.startsWith("HTTP/1.1 404 ")).toBe(true);
      expect(text).toMatch(new RegExp(`\r\nX-Served-By: ${NAME}\r\n`, "i"));
    }
    // and as the ws client sees it
    const ws = new WebSocket(`ws://${HOST}:${s.port}/not-api`);
    ws.on("error", () => undefined); // terminate() before open reports an error; expected here
    const status = await new Promise<number>((resolve, reject) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => reject(new Error("upgrade outside /api/ was accepted")));
    });
    ws.terminate();
    expect(status).toBe(404);
  });

  test("unsupported Sec-WebSocket-Version -> 426 with Sec-WebSocket-Version: 13", async () => {
    const c = rawConnect(s.port);
    c.sock.write(
      `GET /api/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    await c.closed;
    const text = c.buffered().toString("latin1");
    expect(text.startsWith("HTTP/1.1 426 ")).toBe(true);
    expect(text).toMatch(/\r\nSec-WebSocket-Version: 13\r\n/i);
  });

  test("WebSocket: first message is the container name, then every message is echoed", async () => {
    const c = openWs(s.port, "/api/v1/ws?token=x");
    const servedBy = new Promise<unknown>((resolve) => c.ws.once("upgrade", (res) => resolve(res.headers["x-served-by"])));
    await c.opened;
    expect(await servedBy).toBe(NAME);
    const first = await c.next();
    expect(first.isBinary).toBe(false);
    expect(first.data.toString()).toBe(NAME);

    const texts = ["hello", "", "héllo wörld ✓ 🎵", "x".repeat(200), "y".repeat(70000)];
    for (const t of texts) {
      c.ws.send(t);
      const m = await c.next();
      expect(m.isBinary).toBe(false);
      expect(m.data.toString()).toBe(t);
    }
    const bin = crypto.randomBytes(300);
    c.ws.send(bin);
    const echoed = await c.next();
    expect(echoed.isBinary).toBe(true);
    expect(echoed.data.equals(bin)).toBe(true);
    c.ws.close(1000);
    await c.closed;
  });

  test("server keeps serving after all of the above", async () => {
    const r = await request(s.port, "/api/v1/health");
    expect(r.status).toBe(200);
  });
});

describe("standin stream-server", () => {
  const NAME = "lab-stream-server-2";
  let s: Standin;

  beforeAll(async () => {
    s = await startStandin(["--role=stream-server", "--port=0", `--host=${HOST}`, `--name=${NAME}`]);
  });
  afterAll(async () => {
    s.child.kill("SIGTERM");
    await s.exited;
  });

  test("GET /health -> 200 ok with X-Served-By", async () => {
    const r = await request(s.port, "/health");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("ok");
    expect(r.headers["x-served-by"]).toBe(NAME);
  });

  test("any path -> 200 with X-Served-By; HLS content types", async () => {
    const m3u8 = await request(s.port, "/hls/abc/index.m3u8?v=2");
    expect(m3u8.status).toBe(200);
    expect(m3u8.headers["x-served-by"]).toBe(NAME);
    expect(m3u8.headers["content-type"]).toBe("application/vnd.apple.mpegurl");
    expect(m3u8.body.toString()).toMatch(/^#EXTM3U\n/);

    const ts = await request(s.port, "/hls/abc/segment0.ts");
    expect(ts.status).toBe(200);
    expect(ts.headers["content-type"]).toBe("video/mp2t");
    expect(ts.body[0]).toBe(0x47);
    expect(ts.headers["x-served-by"]).toBe(NAME);

    const other = await request(s.port, "/stream/xyz");
    expect(other.status).toBe(200);
    expect(other.headers["x-served-by"]).toBe(NAME);
    expect(JSON.parse(other.body.toString())).toEqual({ servedBy: NAME, path: "/stream/xyz" });

    // the backend-api health path is just another path here
    const api = await request(s.port, "/api/v1/health");
    expect(api.status).toBe(200);
    expect(api.headers["x-served-by"]).toBe(NAME);
  });

  test("HTTP keep-alive: two requests reuse one agent socket", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await request(s.port, "/health", { agent });
      const b = await request(s.port, "/hls/x.m3u8", { agent });
      expect(a.headers["keep-alive"]).toBe("timeout=65");
      expect(b.reusedSocket).toBe(true);
      expect(b.localPort).toBe(a.localPort);
    } finally {
      agent.destroy();
    }
  });

  test("no WebSocket on stream-server: upgrade -> 404, even under /api/", async () => {
    for (const p of ["/api/ws", "/stream/ws"]) {
      const c = rawConnect(s.port);
      c.sock.write(upgradeRequest(p, crypto.randomBytes(16).toString("base64")));
      await c.closed;
      expect(c.buffered().toString("latin1").startsWith("HTTP/1.1 404 ")).toBe(true);
    }
  });
});

describe("standin configuration", () => {
  test("VEZA_ROLE / VEZA_PORT / VEZA_NAME env fallbacks", async () => {
    const s = await startStandin(["--host", HOST], { VEZA_ROLE: "stream-server", VEZA_PORT: "0", VEZA_NAME: "env-name" });
    const r = await request(s.port, "/health");
    expect(r.status).toBe(200);
    expect(r.headers["x-served-by"]).toBe("env-name");
    s.child.kill("SIGTERM");
    expect((await s.exited).code).toBe(0);
  });

  test("flags win over env; name defaults to os.hostname()", async () => {
    const s = await startStandin(["--role", "backend-api", "--port", "0", "--host", HOST], {
      VEZA_ROLE: "stream-server",
      VEZA_PORT: "1",
    });
    const r = await request(s.port, "/api/v1/health");
    expect(r.body.toString()).toBe("ok");
    expect(r.headers["x-served-by"]).toBe(os.hostname());
    s.child.kill("SIGTERM");
    expect((await s.exited).code).toBe(0);
  });

  test("bad role, bad port or unknown flag -> exit 2 with usage on stderr", async () => {
    for (const args of [
      ["--role", "frontend"],
      ["--role", "backend-api", "--port", "99999"],
      ["--role", "backend-api", "--bogus", "1"],
      [],
    ]) {
      const p = spawnStandin(args);
      const { code } = await p.exited;
      expect(code).toBe(2);
      expect(p.stderr()).toMatch(/usage: node standin\.js/);
    }
  });

  test("port already in use -> exit 1", async () => {
    const s = await startStandin(["--role", "backend-api", "--port", "0", "--host", HOST, "--name", "a"]);
    const p = spawnStandin(["--role", "backend-api", "--port", String(s.port), "--host", HOST, "--name", "b"]);
    expect((await p.exited).code).toBe(1);
    expect(p.stderr()).toMatch(/cannot listen/);
    s.child.kill("SIGTERM");
    await s.exited;
  });
});

describe("standin graceful shutdown", () => {
  test("SIGTERM: open WebSocket gets 1001, idle keep-alive socket is closed, exit 0 within 2 s", async () => {
    const s = await startStandin(["--role", "backend-api", "--port", "0", "--host", HOST, "--name", "term-1"]);
    const c = openWs(s.port, "/api/ws");
    await c.opened;
    expect((await c.next()).data.toString()).toBe("term-1");
    c.ws.send("still here");
    expect((await c.next()).data.toString()).toBe("still here");

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(s.port, "/api/v1/health", { agent });
    const idle = Object.values(agent.freeSockets).flat()[0];
    expect(idle).toBeDefined();
    const idleClosed = new Promise<void>((resolve) => idle!.once("close", () => resolve()));

    const t0 = Date.now();
    s.child.kill("SIGTERM");
    const [closed, exit] = await Promise.all([c.closed, s.exited]);
    const elapsed = Date.now() - t0;
    await idleClosed;
    agent.destroy();

    expect(closed.code).toBe(1001);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(elapsed).toBeLessThan(2000);
    const lines = s.stdout().trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^stopped role=backend-api name=term-1 signal=SIGTERM\b/);
  });

  test("SIGTERM: a WebSocket peer that never answers the close still cannot hold the exit past 2 s", async () => {
    const s = await startStandin(["--role", "backend-api", "--port", "0", "--host", HOST, "--name", "term-2"]);
    const c = openWs(s.port, "/api/ws");
    await c.opened;
    expect((await c.next()).data.toString()).toBe("term-2");
    // A client that reads nothing more never sees the close frame, so it never answers it.
    c.ws.pause();
    const t0 = Date.now();
    s.child.kill("SIGTERM");
    const exit = await s.exited;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(exit.code).toBe(0);
    c.ws.terminate();
  });

  test("SIGTERM with nothing open exits promptly; stream-server too", async () => {
    const s = await startStandin(["--role", "stream-server", "--port", "0", "--host", HOST, "--name", "term-3"]);
    await request(s.port, "/health");
    const t0 = Date.now();
    s.child.kill("SIGTERM");
    expect((await s.exited).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
