/**
 * A rendered haproxy.cfg run for real on this host, as a plain user: every listener on loopback,
 * the admin socket and server-state file in a temporary directory, no switch to user haproxy.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { ADMIN_SOCKET, SERVER_STATE_FILE, STATS_PASSWORD_ENV } from "../../../components/haproxy/haproxyConfig";
import { TEST_STATS_PASSWORD } from "./tools";

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** One GET on loopback, without keep-alive. */
export function get(port: number, uri: string): Promise<{ status: number; body: string }> {
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

/** `config` made runnable without root, with files under `dir` and `bind :PORT` on loopback only. */
export function loopbackConfig(config: string, dir: string): string {
  return config
    .split(ADMIN_SOCKET)
    .join(path.join(dir, "admin.sock"))
    .split(SERVER_STATE_FILE)
    .join(path.join(dir, "server-state"))
    .replace(/^ {4}(user|group) haproxy\n/gm, "")
    .replace(/^( {4}bind ):(\d+)$/gm, "$1127.0.0.1:$2");
}

/** Starts HAProxy on {@link loopbackConfig} of `config` and waits until `ready` answers true. */
export async function startHaproxy(config: string, dir: string, ready: () => Promise<boolean>): Promise<ChildProcess> {
  const file = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(file, loopbackConfig(config, dir));
  const started = spawn("haproxy", ["-db", "-f", file], {
    env: { ...process.env, [STATS_PASSWORD_ENV]: TEST_STATS_PASSWORD },
    stdio: "ignore",
  });
  for (let attempt = 0; !(await ready().catch(() => false)); attempt++) {
    if (attempt > 100 || started.exitCode !== null) {
      started.kill("SIGTERM");
      throw new Error("haproxy did not start serving on loopback");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return started;
}

/** Stops a HAProxy started by {@link startHaproxy}, if it still runs. */
export async function stopHaproxy(running: ChildProcess | undefined): Promise<void> {
  if (!running || running.exitCode !== null) return;
  const exited = new Promise((resolve) => running.once("exit", resolve));
  running.kill("SIGTERM");
  await exited;
}
