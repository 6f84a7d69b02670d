// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS, run by Debian's node 18 with no npm packages */
/**
 * Lab stand-in for the Veza services (`backend-api`, `stream-server`), deployed into the lab
 * containers when no real Veza binary is configured. Dependency-free CommonJS; must run on
 * Debian bookworm's `nodejs` (Node 18.x), so nothing newer than Node 18 is used.
 *
 *   node standin.js --role backend-api|stream-server [--port 8080] [--name <container>] [--host <addr>]
 *
 * Fallbacks: VEZA_ROLE, VEZA_PORT, VEZA_NAME, VEZA_HOST; name defaults to os.hostname(),
 * port to 8080 (backend-api) / 8082 (stream-server), host to all interfaces.
 * `--port 0` binds an ephemeral port. The first stdout line is always `listening <port> ...`.
 *
 * backend-api:   GET /api/v1/health -> 200 `ok`; anything else -> 200 JSON {servedBy, path};
 *                WebSocket (RFC 6455) on /api/*: first message is the name, then text/binary echo.
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
const crypto = require("crypto");
const os = require("os");

/** @typedef {"backend-api" | "stream-server"} Role */
/** @typedef {{ role: Role, port: number, name: string, host: string | undefined }} Options */

const ROLES = /** @type {const} */ (["backend-api", "stream-server"]);
/** @type {Record<Role, number>} */
const DEFAULT_PORTS = { "backend-api": 8080, "stream-server": 8082 };
/** @type {Record<Role, string>} */
const HEALTH_PATHS = { "backend-api": "/api/v1/health", "stream-server": "/health" };

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
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

// ---------------------------------------------------------------------------------------------
// WebSocket (RFC 6455), server side, no extensions, no subprotocols.
// ---------------------------------------------------------------------------------------------

/**
 * True when `buf` is well-formed UTF-8 (no ICU needed: malformed input does not round-trip).
 * @param {Buffer} buf
 * @returns {boolean}
 */
function isUtf8(buf) {
  return Buffer.from(buf.toString("utf8"), "utf8").equals(buf);
}

/**
 * @param {number} code
 * @returns {boolean}
 */
function isValidCloseCode(code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * Unmasked server frame (servers never mask).
 * @param {number} opcode
 * @param {Buffer} payload
 * @returns {Buffer}
 */
function encodeFrame(opcode, payload) {
  const len = payload.length;
  /** @type {Buffer} */
  let header;
  if (len < 126) {
    header = Buffer.alloc(2);
    header[1] = len;
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    header.writeUInt32BE(len >>> 0, 6);
  }
  header[0] = 0x80 | opcode;
  return Buffer.concat([header, payload]);
}

/**
 * @param {number} code
 * @param {string} reason
 * @returns {Buffer}
 */
function closePayload(code, reason) {
  const r = Buffer.from(reason, "utf8").subarray(0, 123);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

class WsConnection {
  /**
   * @param {import("net").Socket} socket
   * @param {(conn: WsConnection) => void} onGone
   */
  constructor(socket, onGone) {
    this.socket = socket;
    this.onGone = onGone;
    /** @type {Buffer} */
    this.pending = Buffer.alloc(0);
    /** @type {Buffer[]} */
    this.fragments = [];
    this.fragmentBytes = 0;
    /** Opcode of the message being reassembled, 0 when none. */
    this.fragmentOpcode = 0;
    this.closeSent = false;
    this.closeReceived = false;
    this.failed = false;
    this.gone = false;
    /** True while reading is paused until the socket drains. */
    this.throttled = false;
    /** @type {NodeJS.Timeout | undefined} */
    this.closeTimer = undefined;

    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.setKeepAlive(true, 30000);
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", () => socket.destroy());
    socket.on("end", () => {
      // Peer half-closed without (or after) a close frame: finish our side.
      socket.end();
    });
    socket.on("close", () => this.finish());
  }

  finish() {
    if (this.gone) return;
    this.gone = true;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.onGone(this);
  }

  /**
   * @param {number} opcode
   * @param {Buffer} payload
   */
  send(opcode, payload) {
    if (this.closeSent || this.socket.destroyed || !this.socket.writable) return;
    if (!this.socket.write(encodeFrame(opcode, payload)) && !this.throttled) {
      // Echo server: stop reading while the peer is not reading its echoes.
      this.throttled = true;
      this.socket.pause();
      this.socket.once("drain", () => {
        this.throttled = false;
        this.socket.resume();
      });
    }
  }

  /** @param {string} text */
  sendText(text) {
    this.send(0x1, Buffer.from(text, "utf8"));
  }

  /**
   * Starts (or answers) the closing handshake. `graceMs` bounds the wait for the peer's reply.
   * @param {number} code
   * @param {string} reason
   * @param {number} [graceMs]
   */
  close(code, reason, graceMs = 5000) {
    if (this.closeSent || this.gone) return;
    this.send(0x8, code === 1005 ? Buffer.alloc(0) : closePayload(code, reason));
    this.closeSent = true;
    if (this.closeReceived) {
      // Server closes the TCP connection first (RFC 6455 §7.1.1).
      this.socket.end();
    }
    this.closeTimer = setTimeout(() => this.socket.destroy(), graceMs);
    this.closeTimer.unref();
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): send the close code, stop parsing, close TCP.
   * @param {number} code
   * @param {string} reason
   * @returns {0} so parseFrame can `return this.fail(...)`
   */
  fail(code, reason) {
    this.failed = true;
    this.close(code, reason, 1000);
    this.socket.end();
    return 0;
  }

  /** @param {Buffer} chunk */
  onData(chunk) {
    if (this.gone || this.failed || this.closeReceived) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (!this.gone && !this.failed && !this.closeReceived) {
      const consumed = this.parseFrame();
      if (consumed === 0) break;
      this.pending = this.pending.subarray(consumed);
    }
  }

  /**
   * Parses one frame from `pending`; returns bytes consumed (0 when incomplete or failed).
   * @returns {number}
   */
  parseFrame() {
    const buf = this.pending;
    if (buf.length < 2) return 0;
    const fin = (buf[0] & 0x80) !== 0;
    const rsv = buf[0] & 0x70;
    const opcode = buf[0] & 0x0f;
    const masked = (buf[1] & 0x80) !== 0;
    let len = buf[1] & 0x7f;
    let offset = 2;

    if (rsv !== 0) return this.fail(1002, "reserved bits set");
    if (!masked) return this.fail(1002, "client frames must be masked");
    const control = opcode >= 0x8;
    if (![0x0, 0x1, 0x2, 0x8, 0x9, 0xa].includes(opcode)) return this.fail(1002, "unknown opcode");
    if (control && (!fin || len > 125)) return this.fail(1002, "bad control frame");

    if (len === 126) {
      if (buf.length < 4) return 0;
      len = buf.readUInt16BE(2);
      offset = 4;
    } else if (len === 127) {
      if (buf.length < 10) return 0;
      if (buf.readUInt32BE(2) !== 0) return this.fail(1009, "message too big");
      len = buf.readUInt32BE(6);
      offset = 10;
    }
    if (len > WS_MAX_MESSAGE || this.fragmentBytes + len > WS_MAX_MESSAGE) {
      return this.fail(1009, "message too big");
    }
    if (buf.length < offset + 4 + len) return 0;

    const mask = buf.subarray(offset, offset + 4);
    const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + len));
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
    const consumed = offset + 4 + len;

    switch (opcode) {
      case 0x9: // ping
        this.send(0xa, payload);
        return consumed;
      case 0xa: // pong
        return consumed;
      case 0x8:
        this.onClose(payload);
        return consumed;
      case 0x0: // continuation
        if (this.fragmentOpcode === 0) return this.fail(1002, "unexpected continuation frame");
        this.fragments.push(payload);
        this.fragmentBytes += payload.length;
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          const op = this.fragmentOpcode;
          this.fragments = [];
          this.fragmentBytes = 0;
          this.fragmentOpcode = 0;
          this.onMessage(op, whole);
        }
        return consumed;
      default: // 0x1 text, 0x2 binary
        if (this.fragmentOpcode !== 0) return this.fail(1002, "expected continuation frame");
        if (!fin) {
          this.fragmentOpcode = opcode;
          this.fragments = [payload];
          this.fragmentBytes = payload.length;
          return consumed;
        }
        this.onMessage(opcode, payload);
        return consumed;
    }
  }

  /**
   * Echoes a complete message (text as text, binary as binary).
   * @param {number} opcode
   * @param {Buffer} data
   */
  onMessage(opcode, data) {
    if (opcode === 0x1 && !isUtf8(data)) {
      this.fail(1007, "invalid UTF-8");
      return;
    }
    this.send(opcode, data);
  }

  /** @param {Buffer} payload */
  onClose(payload) {
    this.closeReceived = true;
    if (this.closeSent) {
      // Reply to our own close: handshake complete, server closes TCP.
      this.socket.end();
      return;
    }
    if (payload.length === 0) return this.close(1005, "");
    if (payload.length === 1) return this.close(1002, "bad close payload");
    const code = payload.readUInt16BE(0);
    const reason = payload.subarray(2);
    if (!isValidCloseCode(code) || !isUtf8(reason)) return this.close(1002, "bad close code or reason");
    // Echo the status code (RFC 6455 §5.5.1).
    this.close(code, "");
  }
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

// ---------------------------------------------------------------------------------------------

/** @param {Options} opts */
function main(opts) {
  /** @type {Set<WsConnection>} */
  const wsConnections = new Set();
  let shuttingDown = false;

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
    const accept = crypto
      .createHash("sha1")
      .update(key + WS_GUID)
      .digest("base64");
    sock.write(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n` +
        `X-Served-By: ${opts.name}\r\n` +
        "\r\n",
    );
    const conn = new WsConnection(sock, (c) => wsConnections.delete(c));
    wsConnections.add(conn);
    conn.sendText(opts.name);
    if (head && head.length > 0) conn.onData(head);
  });

  server.on("error", (err) => {
    process.stderr.write(`standin: ${opts.role} ${opts.name} cannot listen: ${err.message}\n`);
    process.exit(1);
  });

  server.listen({ port: opts.port, host: opts.host }, () => {
    const addr = server.address();
    const port = addr && typeof addr === "object" ? addr.port : opts.port;
    process.stdout.write(
      `listening ${port} role=${opts.role} name=${opts.name} host=${opts.host || "*"} pid=${process.pid}\n`,
    );
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
        `stopped role=${opts.role} name=${opts.name} signal=${signal} ms=${Date.now() - started}` +
          (forced ? " forced=true" : "") +
          "\n",
      );
      process.exit(0);
    };
    // Resolves once every connection (HTTP and upgraded) is gone.
    server.close(() => exit(false));
    // Node 18's close() leaves idle keep-alive sockets open; close them explicitly.
    if (typeof server.closeIdleConnections === "function") server.closeIdleConnections();
    for (const c of wsConnections) c.close(1001, "server shutting down", WS_CLOSE_GRACE_MS);
    setTimeout(() => {
      if (typeof server.closeAllConnections === "function") server.closeAllConnections();
      for (const c of wsConnections) c.socket.destroy();
      exit(true);
    }, SHUTDOWN_DEADLINE_MS);
  }
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main(parseOptions(process.argv.slice(2), process.env));
