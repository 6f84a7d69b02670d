// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS, run by Debian's node 18 */
/**
 * Lab stand-in for the Veza services (`backend-api`, `stream-server`), deployed into the lab
 * containers when no real Veza binary is configured. CommonJS with one dependency, `ws`, and no
 * npm in the containers: the lab image has Debian's `node-ws` (8.11, in /usr/share/nodejs, on the
 * module path of Debian's node), the unit tests npm's `ws` from node_modules. It must run on
 * Debian bookworm's `nodejs` (Node 18.x), so nothing newer than Node 18 is used, nor anything of
 * `ws` newer than 8.11.
 *
 *   node standin.js --role backend-api|stream-server [--port 8080] [--name <container>] [--host <addr>]
 *
 * Fallbacks: VEZA_ROLE, VEZA_PORT, VEZA_NAME, VEZA_HOST; name defaults to os.hostname(),
 * port to 8080 (backend-api) / 8082 (stream-server), host to all interfaces.
 * `--port 0` binds an ephemeral port. The first stdout line is always `listening <port> ...`.
 *
 * backend-api:   GET /api/v1/health -> 200 `ok`; anything else -> 200 JSON {servedBy, path};
 *                WebSocket on /api/*: first message is the name, then text/binary echo.
 * stream-server: /health -> 200 `ok`; *.m3u8 -> tiny HLS playlist; *.ts -> one MPEG-TS packet;
 *                anything else -> 200 JSON {servedBy, path}. No WebSocket.
 * Every response carries `X-Served-By: <name>`.
 *
 * SIGTERM/SIGINT: stop accepting, close idle keep-alive sockets, close WebSockets with 1001,
 * exit 0 within 2 s (hard deadline 1.5 s). A second signal exits at once.
 * Logs one line at start (`listening ...`) and one at stop (`stopped ...`), nothing per request.
 */
"use strict";

const http = require("http");
const os = require("os");
const { WebSocketServer } = require("ws");

/** @typedef {"backend-api" | "stream-server"} Role */
/** @typedef {{ role: Role, port: number, name: string, host: string | undefined }} Options */

const ROLES = /** @type {const} */ (["backend-api", "stream-server"]);
/** @type {Record<Role, number>} */
const DEFAULT_PORTS = { "backend-api": 8080, "stream-server": 8082 };
/** @type {Record<Role, string>} */
const HEALTH_PATHS = { "backend-api": "/api/v1/health", "stream-server": "/health" };

const WS_MAX_MESSAGE = 1024 * 1024;
/** HAProxy reuses idle upstream connections; keep them well past its own idle timers. */
const KEEP_ALIVE_MS = 65000;
const HEADERS_TIMEOUT_MS = 66000;
/** How long a WebSocket peer gets to answer our close frame during shutdown. */
const WS_CLOSE_GRACE_MS = 1000;
/** Hard deadline after SIGTERM; the contract is "exit within 2 s". */
const SHUTDOWN_DEADLINE_MS = 1500;

const USAGE =
  "usage: node standin.js --role backend-api|stream-server [--port N] [--name NAME] [--host ADDR]\n" +
  "       (env fallbacks: VEZA_ROLE, VEZA_PORT, VEZA_NAME, VEZA_HOST)\n";

/**
 * @param {string} message
 * @returns {never}
 */
function usageError(message) {
  process.stderr.write(`standin: ${message}\n${USAGE}`);
  process.exit(2);
}

/**
 * Parses `--key value` and `--key=value`; unknown flags are an error.
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @returns {Options}
 */
function parseOptions(argv, env) {
  /** @type {Record<string, string>} */
  const flags = {};
  const known = ["role", "port", "name", "host"];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (!arg.startsWith("--")) usageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const key = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.includes(key)) usageError(`unknown option --${key}`);
    let value;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) usageError(`--${key} needs a value`);
      value = argv[++i];
    }
    flags[key] = value;
  }

  const roleRaw = flags.role ?? env.VEZA_ROLE ?? "";
  if (!(/** @type {readonly string[]} */ (ROLES).includes(roleRaw))) {
    usageError(`role must be one of ${ROLES.join(", ")} (got ${JSON.stringify(roleRaw)})`);
  }
  const role = /** @type {Role} */ (roleRaw);

  const portRaw = flags.port ?? env.VEZA_PORT ?? "";
  let port = DEFAULT_PORTS[role];
  if (portRaw !== "") {
    if (!/^\d{1,5}$/.test(portRaw) || Number(portRaw) > 65535) usageError(`invalid port ${JSON.stringify(portRaw)}`);
    port = Number(portRaw);
  }

  const name = (flags.name ?? env.VEZA_NAME ?? "").trim() || os.hostname();
  // The name goes into a response header and into WebSocket text frames.
  if (!/^[\x21-\x7e]+$/.test(name)) usageError(`invalid name ${JSON.stringify(name)} (printable ASCII, no spaces)`);

  const host = (flags.host ?? env.VEZA_HOST ?? "").trim() || undefined;
  return { role, port, name, host };
}

/**
 * Request path without the query string (absolute-form targets are reduced to their path).
 * @param {string | undefined} target
 * @returns {string}
 */
function pathOf(target) {
  let t = target || "/";
  if (!t.startsWith("/")) {
    try {
      t = new URL(t).pathname;
    } catch {
      return t;
    }
  }
  const q = t.indexOf("?");
  return q >= 0 ? t.slice(0, q) : t;
}

/**
 * One MPEG-TS null packet (PID 0x1FFF), so `.ts` segment requests get plausible bytes.
 * @returns {Buffer}
 */
function nullTsPacket() {
  const b = Buffer.alloc(188, 0xff);
  b[0] = 0x47;
  b[1] = 0x1f;
  b[2] = 0xff;
  b[3] = 0x10;
  return b;
}
const TS_PACKET = nullTsPacket();

/**
 * @param {Options} opts
 * @param {string} method
 * @param {string} path
 * @returns {{ status: number, type: string, body: string | Buffer }}
 */
function route(opts, method, path) {
  if (path === HEALTH_PATHS[opts.role]) {
    return { status: 200, type: "text/plain; charset=utf-8", body: "ok" };
  }
  if (opts.role === "stream-server" && (method === "GET" || method === "HEAD")) {
    if (path.endsWith(".m3u8")) {
      const playlist =
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n" +
        `# served-by ${opts.name}\n#EXTINF:4.000,\nsegment0.ts\n#EXT-X-ENDLIST\n`;
      return { status: 200, type: "application/vnd.apple.mpegurl", body: playlist };
    }
    if (path.endsWith(".ts")) return { status: 200, type: "video/mp2t", body: TS_PACKET };
  }
  return {
    status: 200,
    type: "application/json",
    body: JSON.stringify({ servedBy: opts.name, path }) + "\n",
  };
}

/**
 * Writes a plain HTTP response on a raw (not upgraded) socket and closes it.
 * @param {import("net").Socket} socket
 * @param {number} status
 * @param {string} name
 * @param {string} body
 * @param {Record<string, string>} [extra]
 */
function rejectUpgrade(socket, status, name, body, extra = {}) {
  const headers = {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
    "X-Served-By": name,
    Connection: "close",
    ...extra,
  };
  const head =
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] || "Error"}\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("") +
    "\r\n";
  socket.on("error", () => socket.destroy());
  if (socket.writable) socket.end(head + body);
  else socket.destroy();
}

/**
 * Echoes every message back as it came (text as text, binary as binary), and stops reading while
 * the peer is not reading its echoes.
 * @param {import("ws").WebSocket} ws
 */
function echo(ws) {
  ws.on("message", (data, isBinary) => {
    ws.send(data, { binary: isBinary }, () => {
      if (ws.isPaused && ws.bufferedAmount <= WS_MAX_MESSAGE) ws.resume();
    });
    if (ws.bufferedAmount > WS_MAX_MESSAGE) ws.pause();
  });
  // ws answers a protocol error itself (close 1002, 1007 or 1009); unheard, the event would throw.
  ws.on("error", () => undefined);
}

/** @param {Options} opts */
function main(opts) {
  let shuttingDown = false;
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_MESSAGE });
  wss.on("headers", (headers) => headers.push(`X-Served-By: ${opts.name}`));

  const server = http.createServer((req, res) => {
    const path = pathOf(req.url);
    const r = route(opts, req.method || "GET", path);
    const body = typeof r.body === "string" ? Buffer.from(r.body, "utf8") : r.body;
    res.statusCode = r.status;
    res.setHeader("X-Served-By", opts.name);
    res.setHeader("Content-Type", r.type);
    res.setHeader("Content-Length", body.length);
    res.setHeader("Cache-Control", "no-store");
    if (shuttingDown) res.setHeader("Connection", "close");
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;

  server.on("upgrade", (req, socket, head) => {
    const sock = /** @type {import("net").Socket} */ (socket);
    const path = pathOf(req.url);
    if (shuttingDown) return rejectUpgrade(sock, 503, opts.name, "shutting down\n");
    if (opts.role !== "backend-api" || !path.startsWith("/api/")) {
      return rejectUpgrade(sock, 404, opts.name, "not found\n");
    }
    const upgrade = String(req.headers.upgrade || "").toLowerCase();
    const key = String(req.headers["sec-websocket-key"] || "").trim();
    if (req.method !== "GET" || upgrade !== "websocket") {
      return rejectUpgrade(sock, 400, opts.name, "websocket upgrade required\n");
    }
    if (req.headers["sec-websocket-version"] !== "13") {
      return rejectUpgrade(sock, 426, opts.name, "unsupported websocket version\n", {
        "Sec-WebSocket-Version": "13",
      });
    }
    if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
      return rejectUpgrade(sock, 400, opts.name, "bad Sec-WebSocket-Key\n");
    }
    wss.handleUpgrade(req, sock, head, (ws) => {
      ws.send(opts.name);
      echo(ws);
    });
  });

  server.on("error", (err) => {
    process.stderr.write(`standin: ${opts.role} ${opts.name} cannot listen: ${err.message}\n`);
    process.exit(1);
  });

  server.listen({ port: opts.port, host: opts.host }, () => {
    const addr = server.address();
    const port = addr && typeof addr === "object" ? addr.port : opts.port;
    process.stdout.write(`listening ${port} role=${opts.role} name=${opts.name} host=${opts.host || "*"} pid=${process.pid}\n`);
  });

  /** @param {string} signal */
  function shutdown(signal) {
    if (shuttingDown) {
      process.stdout.write(`stopped role=${opts.role} name=${opts.name} signal=${signal} forced=true\n`);
      process.exit(0);
    }
    shuttingDown = true;
    const started = Date.now();
    let done = false;
    /** @param {boolean} forced */
    const exit = (forced) => {
      if (done) return;
      done = true;
      process.stdout.write(
        `stopped role=${opts.role} name=${opts.name} signal=${signal} ms=${Date.now() - started}` + (forced ? " forced=true" : "") + "\n",
      );
      process.exit(0);
    };
    // Resolves once every connection (HTTP and upgraded) is gone.
    server.close(() => exit(false));
    // Node 18's close() leaves idle keep-alive sockets open; close them explicitly.
    if (typeof server.closeIdleConnections === "function") server.closeIdleConnections();
    for (const ws of wss.clients) ws.close(1001, "server shutting down");
    setTimeout(() => {
      for (const ws of wss.clients) ws.terminate();
    }, WS_CLOSE_GRACE_MS).unref();
    setTimeout(() => {
      if (typeof server.closeAllConnections === "function") server.closeAllConnections();
      for (const ws of wss.clients) ws.terminate();
      exit(true);
    }, SHUTDOWN_DEADLINE_MS);
  }
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main(parseOptions(process.argv.slice(2), process.env));
