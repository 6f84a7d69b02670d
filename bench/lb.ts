/**
 * Which haproxy.cfg the bench-haproxy container serves, and how a change reaches it:
 *
 * - `project`: the file Pulumi applied. A change is stack config plus `pulumi up -s bench` (candidate,
 *   `haproxy -c`, hitless reload); taking a server out of the ring is `state maint` on the admin socket.
 * - `anchor`: bench/anchor.cfg.mustache rendered from the same fleet. A change is applied the seed's
 *   (Ansible's) way: template to a candidate, `haproxy -c` (the template task's validate), move it in
 *   place, `systemctl restart haproxy` (the handler).
 *
 * Switching to the anchor first saves the project's live file; switching back restores it byte for
 * byte with a reload and checks that sha256 of the live file is the stack's haproxyConfigHash again.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { API_POOL, STREAM_POOL, Upstream } from "../components/haproxy/haproxyConfig";
import { DEFAULTS, SEED_DEFAULTS } from "../stack/settings";
import { admin, incus, serverStats, waitFor } from "../tests/lab/harness";
import { renderAnchor } from "./anchor";
import { BenchOutputs, benchOutputs, ours, pulumi, serverName } from "./env";

export type ConfigName = "project" | "anchor";
/** What is live: a config, or a variant of the project's file (scenario 7's bisect, {@link Lb.useVariant}). */
type Live = ConfigName | "variant";
/** Each scenario runs once per config, project first. */
export const CONFIGS: readonly ConfigName[] = ["project", "anchor"];

/** The LB's inputs a scenario asks for: fleet sizes, a health-value edit, servers out of the ring. */
export interface Shape {
  backendApiCount: number;
  streamServerCount: number;
  /** Added to the config's own `fall` (project 2, anchor 3): the bench's health-value edit. */
  fallDelta: number;
  /** Servers taken out: `state maint` with the project, left out of the rendered file with the anchor. */
  removed: string[];
}

export const BASE: Shape = Object.freeze({ backendApiCount: 2, streamServerCount: 2, fallDelta: 0, removed: [] });

const LIVE = "/etc/haproxy/haproxy.cfg";
const CANDIDATE = `${LIVE}.bench-candidate`;
/** The project's unit environment (stats password), which its config refuses to load without. */
const SECRETS_ENV = "/etc/haproxy/veza-secrets.env";

export const sha256 = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");
const sameShape = (a: Shape, b: Shape) =>
  a.backendApiCount === b.backendApiCount &&
  a.streamServerCount === b.streamServerCount &&
  a.fallDelta === b.fallDelta &&
  [...a.removed].sort().join() === [...b.removed].sort().join();
const poolOf = (server: string) => (server.startsWith("stream-server") ? STREAM_POOL : API_POOL);

/** One check that the project's file is back: live file, saved copy and stack output agree. */
export interface RestoreCheck {
  at: string;
  liveSha256: string;
  savedSha256: string;
  stackOutput: string;
  ok: boolean;
}

export class Lb {
  live: Live = "project";
  out!: BenchOutputs;
  /** The stack's current shape (what `pulumi up` last applied) and the project's runtime removals. */
  private stack: Shape = { ...BASE };
  private saved?: Buffer;
  readonly restores: RestoreCheck[] = [];
  /** Every anchor file pushed, by sha256, for the results. */
  readonly anchorFiles = new Map<string, string>();

  async refresh(): Promise<BenchOutputs> {
    this.out = await benchOutputs();
    return this.out;
  }

  get haproxy(): string {
    return ours(this.out.haproxyContainer);
  }

  url(p: string): string {
    return this.out.lbUrl.replace(/\/$/, "") + p;
  }

  /** Container of a logical server name, e.g. backend-api-1 -> bench-backend-api-1. */
  container(server: string): string {
    const found = [...this.out.backendApiContainers, ...this.out.streamServerContainers].find((c) => serverName(c) === server);
    if (!found) throw new Error(`no container for ${server} in the bench stack`);
    return found;
  }

  /** Makes `name` the live config, with `shape` (applied the project's way after restoring its file). */
  async use(name: ConfigName, shape: Shape): Promise<void> {
    if (name === "anchor") {
      if (this.live === "project") await this.saveProject();
      await this.pushAnchor(shape);
      this.live = "anchor";
      return;
    }
    if (this.live !== "project") await this.restoreProject();
    if (!sameShape(shape, this.stack)) await this.apply(shape);
  }

  /**
   * Serves the project's file with `edit` applied, checked and reloaded the project's way, on the
   * stack's current shape; `use("project")` puts the file back byte for byte.
   */
  async useVariant(edit: (config: string) => string): Promise<void> {
    if (this.live !== "project") await this.restoreProject();
    await this.saveProject();
    await this.install(Buffer.from(edit((this.saved as Buffer).toString("utf8"))), `set -a; . ${SECRETS_ENV}; haproxy -c -q -f`, "reload");
    this.live = "variant";
  }

  /** Keeps the project's live file, which must be the stack's, to restore it after the anchor or a variant. */
  private async saveProject(): Promise<void> {
    if (this.stack.removed.length > 0) throw new Error("clear the project's runtime removals before switching");
    this.saved = await this.pullLive();
    const hash = sha256(this.saved);
    if (hash !== this.out.haproxyConfigHash)
      throw new Error(`live haproxy.cfg (${hash}) is not the stack's (${this.out.haproxyConfigHash})`);
  }

  /** Applies `shape` the live config's way; resolves once every server in the config is UP or MAINT. */
  async apply(shape: Shape): Promise<void> {
    if (this.live === "anchor") return this.pushAnchor(shape);
    if (this.live === "variant") throw new Error("put the project's file back (use) before applying a shape");
    const keys: [string, number, number][] = [
      ["healthCheckFall", DEFAULTS.healthCheckFall + shape.fallDelta, DEFAULTS.healthCheckFall + this.stack.fallDelta],
      ["backendApiCount", shape.backendApiCount, this.stack.backendApiCount],
      ["streamServerCount", shape.streamServerCount, this.stack.streamServerCount],
    ];
    const defaults: Record<string, number> = DEFAULTS as unknown as Record<string, number>;
    const changed = keys.filter(([, want, have]) => want !== have);
    for (const [key, want] of changed) {
      if (want === defaults[key]) await pulumi("config", "rm", `veza-infra:${key}`);
      else await pulumi("config", "set", `veza-infra:${key}`, String(want));
    }
    if (changed.length > 0) {
      await pulumi("up", "--yes", "--skip-preview");
      await this.refresh();
    }
    for (const server of shape.removed.filter((s) => !this.stack.removed.includes(s))) await this.setState(server, "maint");
    for (const server of this.stack.removed.filter((s) => !shape.removed.includes(s))) await this.setState(server, "ready");
    this.stack = { ...shape, removed: [...shape.removed] };
    await this.waitServing();
  }

  private async setState(server: string, state: "maint" | "ready"): Promise<void> {
    const answer = await admin(this.out, `set server ${poolOf(server)}/${server} state ${state}`);
    if (answer.trim() !== "") throw new Error(`set server ${server} state ${state}: ${answer}`);
  }

  /**
   * `srv_op_state` of every server (`show servers state`), keyed `pool/server`: 0 stopped,
   * 1 starting (UP, weight still ramping in slow start), 2 running (UP at full weight), 3 stopping.
   */
  async opStates(): Promise<Map<string, string>> {
    const lines = (await admin(this.out, "show servers state")).split("\n").filter((l) => /^\d+ /.test(l));
    return new Map(
      lines
        .filter((l) => l.split(" ").length > 5)
        .map((l) => {
          const f = l.split(" ");
          return [`${f[1]}/${f[3]}`, f[5]] as const;
        }),
    );
  }

  /** Every server of the live config UP at full weight (MAINT ones excepted), after a reload or restart. */
  async waitServing(timeoutMs = 120_000): Promise<number> {
    return waitFor(
      "every server UP at full weight",
      async () => {
        const stats = await serverStats(this.out);
        const ops = await this.opStates();
        return stats.size > 0 && [...stats].every(([key, r]) => r.status === "MAINT" || (r.status === "UP" && ops.get(key) === "2"));
      },
      timeoutMs,
      100,
    );
  }

  private fleet(shape: Shape): { backendApi: Upstream[]; streamServer: Upstream[] } {
    const pick = (containers: string[], addresses: string[], count: number) => {
      if (count > containers.length) throw new Error(`the anchor wants ${count} servers but the stack has ${containers.length}`);
      return containers
        .slice(0, count)
        .map((c, i) => ({ name: serverName(c), address: addresses[i] }))
        .filter((u) => !shape.removed.includes(u.name));
    };
    return {
      backendApi: pick(this.out.backendApiContainers, this.out.backendApiAddresses, shape.backendApiCount),
      streamServer: pick(this.out.streamServerContainers, this.out.streamServerAddresses, shape.streamServerCount),
    };
  }

  private async pushAnchor(shape: Shape): Promise<void> {
    const config = renderAnchor(this.fleet(shape), { healthCheckFall: SEED_DEFAULTS.healthCheckFall + shape.fallDelta });
    this.anchorFiles.set(sha256(config), config);
    await this.install(Buffer.from(config), "haproxy -c -q -f", "restart");
  }

  private async restoreProject(): Promise<void> {
    if (!this.saved) throw new Error("no saved project config to restore");
    // As the project's own apply does when the live file names another state file: start without one.
    const stateFile = /^\s*server-state-file\s+(\S+)/m.exec(this.saved.toString("utf8"))?.[1];
    if (stateFile) await incus("exec", this.haproxy, "--", "rm", "-f", stateFile);
    await this.install(this.saved, `set -a; . ${SECRETS_ENV}; haproxy -c -q -f`, "reload");
    const liveSha256 = (await incus("exec", this.haproxy, "--", "sha256sum", LIVE)).split(/\s+/)[0];
    const stackOutput = await pulumi("stack", "output", "haproxyConfigHash");
    const check = { at: new Date().toISOString(), liveSha256, savedSha256: sha256(this.saved), stackOutput, ok: false };
    check.ok = check.liveSha256 === check.savedSha256 && check.liveSha256 === stackOutput;
    this.restores.push(check);
    if (!check.ok) throw new Error(`restored haproxy.cfg does not match the stack: ${JSON.stringify(check)}`);
    this.saved = undefined;
    this.live = "project";
  }

  private async pullLive(): Promise<Buffer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-bench-"));
    try {
      await incus("file", "pull", `${this.haproxy}${LIVE}`, path.join(dir, "haproxy.cfg"));
      return fs.readFileSync(path.join(dir, "haproxy.cfg"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Candidate, `haproxy -c` in the container, move in place, then restart or reload; waits for the new worker. */
  private async install(bytes: Buffer, check: string, how: "restart" | "reload"): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-bench-"));
    try {
      fs.writeFileSync(path.join(dir, "haproxy.cfg"), bytes);
      await incus(
        "file",
        "push",
        "--mode",
        "0644",
        "--uid",
        "0",
        "--gid",
        "0",
        path.join(dir, "haproxy.cfg"),
        `${this.haproxy}${CANDIDATE}`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await incus("exec", this.haproxy, "--", "sh", "-c", `${check} ${CANDIDATE}`);
    await this.cycle(how, () => incus("exec", this.haproxy, "--", "mv", CANDIDATE, LIVE));
  }

  /**
   * The live file applied again, unchanged, the live config's way: the project's hitless reload, or
   * the anchor's restart (the seed's handler). Isolates what each apply does to the traffic.
   */
  async reapply(): Promise<void> {
    await this.cycle(this.live === "anchor" ? "restart" : "reload", async () => undefined);
  }

  /** Runs `beforeCycle`, then restarts or reloads HAProxy; waits for the new worker and every server serving. */
  private async cycle(how: "restart" | "reload", beforeCycle: () => Promise<unknown>): Promise<void> {
    const before = await this.workerPid();
    await beforeCycle();
    await incus("exec", this.haproxy, "--", "systemctl", how, "haproxy");
    await waitFor(
      `a new HAProxy worker after ${how}`,
      async () => {
        const pid = await this.workerPid();
        return pid !== "" && pid !== before;
      },
      15_000,
      50,
    );
    await this.waitServing();
  }

  private async workerPid(): Promise<string> {
    const info = await admin(this.out, "show info").catch(() => "");
    return /^Pid: (\d+)/m.exec(info)?.[1] ?? "";
  }
}
