/**
 * Failure modes beyond the seed's drill, on the real lab: old HAProxy workers bounded by
 * hard-stop-after, HAProxy itself killed, a backend whose network is cut, a backend that answers
 * every request with 503, a second stack that would take the lab's containers, a full disk in the
 * HAProxy container during `pulumi up`, and the Incus daemon restarted during `pulumi up`. Each
 * prints its figures; the lab is left as it was found.
 */
import * as fs from "fs";
import { BASH, DELETE_SCRIPT, OWNER_KEY } from "../../components/incus/incusScripts";
import {
  LabOutputs,
  admin,
  get,
  holdsVirtualIp,
  incus,
  openSocket,
  outputs,
  pulumi,
  run,
  serverStatus,
  servingNode,
  steadyLoad,
  waitAllUp,
  waitFor,
} from "./harness";

jest.setTimeout(10 * 60_000);

const figures: Record<string, string | number> = {};
let lab: LabOutputs;
const LOAD_RATE = 50;
const path = (p: string) => lab.lbUrl.replace(/\/$/, "") + p;
const inHaproxy = (script: string, ...args: string[]) => incus("exec", lab.haproxyContainer, "--", "sh", "-euc", script, "sh", ...args);
/**
 * The lines of a failed `pulumi up` that say why: the steps' own messages, without Pulumi's
 * progress lines and the script text it repeats after "exit status 1: running".
 */
const reason = (message: string) =>
  message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /error|refus|No space|keeps serving|failed|connect/i.test(line) && !/^(error: exit status|pulumi|[~+-] )/.test(line))
    .filter((line, i, all) => all.indexOf(line) === i)
    .map((line) => (line.length > 240 ? `${line.slice(0, 240)}...` : line))
    .slice(0, 8)
    .join(" | ");
const haproxyProcesses = async (node: string) => Number(await incus("exec", node, "--", "sh", "-c", "pgrep -c -x haproxy || true"));

beforeAll(async () => {
  await pulumi("up", "--yes", "--skip-preview");
  lab = await outputs();
  await waitAllUp(lab, 120_000);
});

afterAll(() => {
  console.log(
    `failure-mode figures:\n${Object.entries(figures)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join("\n")}`,
  );
});

test("hard-stop-after bounds the old workers that open WebSockets keep alive across reloads", async () => {
  const limitSeconds = 4;
  await pulumi("config", "set", "veza-infra:hardStopAfterSeconds", String(limitSeconds));
  try {
    await pulumi("up", "--yes", "--skip-preview");
    // The sockets go through the node clients reach (with the pair, the virtual IP's holder).
    const node = await servingNode(lab);
    const baseline = await haproxyProcesses(node);
    const reloads = 3;
    const sockets = [];
    for (let i = 0; i < reloads; i++) {
      sockets.push(await openSocket(lab.lbUrl));
      await incus("exec", node, "--", "systemctl", "reload", "haproxy");
    }
    const piled = await haproxyProcesses(node);
    figures["haproxy processes: idle / after 3 reloads with 3 sockets open"] = `${baseline} / ${piled}`;
    expect(piled).toBeGreaterThan(baseline);
    const settledMs = await waitFor(
      "the old workers to exit",
      async () => (await haproxyProcesses(node)) === baseline,
      (limitSeconds + 10) * 1000,
      200,
    );
    figures[`old workers gone after the last reload (hard-stop-after ${limitSeconds}s), ms`] = settledMs;
    // Their sockets were cut; the clients see a close and reconnect, as the seed requires of them.
    const closes = await Promise.all(
      sockets.map((s) => Promise.race([s.closed, new Promise<number>((r) => setTimeout(() => r(-1), 2_000))])),
    );
    expect(closes.filter((code) => code === -1)).toEqual([]);
  } finally {
    await pulumi("config", "rm", "veza-infra:hardStopAfterSeconds");
    await pulumi("up", "--yes", "--skip-preview");
  }
});

test("HAProxy killed with SIGKILL: systemd brings it back and the edge answers again", async () => {
  const node = await servingNode(lab);
  const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
  let result;
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const killedAt = Date.now();
    await incus("exec", node, "--", "pkill", "-KILL", "-x", "haproxy");
    // Debian's unit restarts it (Restart=always, after 100 ms).
    await waitFor("an answer from the restarted HAProxy", async () => (await get(path("/api/v1/health"))).status === 200, 60_000, 20);
    figures["haproxy SIGKILL to first answer (ms)"] = Date.now() - killedAt;
    await waitAllUp(lab, 30_000);
  } finally {
    result = await load.stop();
  }
  // What was in flight on the killed process fails; with one node so does what is sent until it is
  // back, with the pair keepalived's check may move the address meanwhile (pair.test.ts measures that).
  figures[`haproxy SIGKILL requests ok/failed (${lab.haproxyContainers.length} HAProxy node(s))`] = result.tally;
  expect(result.ok).toBeGreaterThan(0);
});

test("a backend whose network is cut is taken out with no failed request, and comes back", async () => {
  const victim = lab.backendApiContainers[0];
  const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
  let result;
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const cutAt = Date.now();
    await incus("exec", victim, "--", "ip", "link", "set", "eth0", "down");
    await waitFor("backend-api-1 DOWN", async () => (await serverStatus(lab, "api_pool", "backend-api-1")) === "DOWN", 30_000, 20);
    figures["network cut to DOWN (ms)"] = Date.now() - cutAt;
    await incus("exec", victim, "--", "ip", "link", "set", "eth0", "up");
    await waitFor("backend-api-1 UP", async () => (await serverStatus(lab, "api_pool", "backend-api-1")) === "UP", 60_000);
  } finally {
    result = await load.stop();
  }
  figures["network cut requests ok/failed"] = result.tally;
  expect(result.failures).toEqual([]);
});

test("a backend that answers every request with 503 is routed around with no failed request", async () => {
  const victim = lab.backendApiContainers[0];
  // The service stops and a server that answers 503 to everything, health check included, takes its port.
  const fake = `require("http").createServer((q, s) => { s.writeHead(503, { "x-served-by": "broken" }); s.end("unavailable\\n"); }).listen(8080)`;
  await incus("exec", victim, "--", "systemctl", "stop", "veza-backend-api");
  await incus("exec", victim, "--", "systemd-run", "--unit", "veza-broken", "/usr/bin/node", "-e", fake);
  const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
  let result;
  try {
    const startedAt = Date.now();
    await waitFor("backend-api-1 DOWN", async () => (await serverStatus(lab, "api_pool", "backend-api-1")) === "DOWN", 30_000, 20);
    figures["503 backend to DOWN (ms)"] = Date.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  } finally {
    result = await load.stop();
    await incus("exec", victim, "--", "systemctl", "stop", "veza-broken");
    await incus("exec", victim, "--", "systemctl", "start", "veza-backend-api");
    await waitFor("backend-api-1 UP", async () => (await serverStatus(lab, "api_pool", "backend-api-1")) === "UP", 60_000);
  }
  figures["503 backend requests ok/failed"] = result.tally;
  expect(result.failures).toEqual([]);
});

test("a second stack with the lab's name prefix is refused at preview and at up, naming the owner; its destroy deletes nothing", async () => {
  const twin = "lab-twin";
  const twinPulumi = (...args: string[]) => run("pulumi", [...args, "--stack", twin, "--non-interactive"]);
  const failureOf = (promise: Promise<string>) =>
    promise.then(
      () => "no error",
      (error: Error) => error.message,
    );
  const containers = [lab.haproxyContainer, ...lab.backendApiContainers, ...lab.streamServerContainers];
  const created = async () => Promise.all(containers.map(async (c) => JSON.parse(await incus("query", `/1.0/instances/${c}`)).created_at));
  const createdBefore = await created();
  await twinPulumi("stack", "init").catch(() => undefined);
  try {
    await twinPulumi("config", "set", "veza-infra:namePrefix", "lab-");
    const startedAt = Date.now();
    const preview = await failureOf(twinPulumi("preview"));
    figures["second stack, same prefix: preview refused in (ms)"] = Date.now() - startedAt;
    for (const container of containers) expect(preview).toContain(`container ${container} belongs to stack veza-infra/lab`);
    expect(preview).toContain("veza-infra:namePrefix");
    expect(preview).not.toMatch(/error serializing|\bat .*\.(ts|js):\d+/);
    const up = await failureOf(twinPulumi("up", "--yes", "--skip-preview"));
    expect(up).toContain(`container ${lab.haproxyContainer} belongs to stack veza-infra/lab`);
    figures["second stack, same prefix"] =
      preview
        .split("\n")
        .find((line) => line.includes("belongs to stack"))
        ?.trim()
        .replace(/^- /, "") ?? "";
    await twinPulumi("destroy", "--yes", "--skip-preview");
  } finally {
    await twinPulumi("stack", "rm", "--yes", "--force").catch(() => undefined);
  }
  // What the twin's destroy would run for a container in its state: it is left in place.
  const [shell, ...flags] = BASH;
  const left = await run(shell, [...flags, `exec 2>&1\n${DELETE_SCRIPT}`], {
    env: { ...process.env, VEZA_REF: lab.haproxyContainer, VEZA_OWNER: `veza-infra/${twin}` },
  });
  expect(left).toBe(`container ${lab.haproxyContainer} belongs to stack veza-infra/lab: left in place`);
  for (const container of [...lab.haproxyContainers, ...lab.backendApiContainers, ...lab.streamServerContainers]) {
    expect(await incus("config", "get", container, OWNER_KEY)).toBe("veza-infra/lab");
  }
  expect(await created()).toEqual(createdBefore);
  await pulumi("preview", "--expect-no-changes");
});

/**
 * /etc/haproxy, where the apply writes its candidate, becomes a 1 MiB tmpfs inside the container
 * holding a copy of its files, then is filled: the disk that is full is the container's own, never
 * the host's (the containers' root disks are a btrfs pool on the host's filesystem). The master
 * reads haproxy.cfg through the same mount, so what it would load on a reload is the tmpfs's file.
 */
const FULL_DIR = "/etc/haproxy";
const SAVED = "/run/veza-disk-full";
const FILL = `cp -a "$1/." "$2/"
mount -t tmpfs -o size=1m,mode=0755 veza-disk-full "$1"
cp -a "$2/." "$1/"
dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null || true
df -k --output=avail "$1" | tail -n 1`;
/** Back on the container's disk, as the tmpfs holds it (the up that converged wrote there). */
const UNMOUNT = `rm -rf "$2" && mkdir -p "$2" && cp -a "$1/." "$2/"
umount "$1"
cp -a "$2/." "$1/"
rm -rf "$2"`;

test("a full disk in the HAProxy container fails the apply cleanly, the old config keeps serving, and the next up converges", async () => {
  const liveHash = () => inHaproxy(`sha256sum "$1" | cut -d " " -f 1`, `${FULL_DIR}/haproxy.cfg`);
  // As the master sees it: the file a reload would load, through its own mount namespace.
  const masterHash = () =>
    inHaproxy(`sha256sum "/proc/$(cat /run/haproxy/haproxy.pid)/root$1" | cut -d " " -f 1`, `${FULL_DIR}/haproxy.cfg`);
  const before = await liveHash();
  // The pair stages on every node before any swaps: the other node must keep its config too,
  // whichever of the two the rollout reaches first.
  const others = lab.haproxyContainers.filter((node) => node !== lab.haproxyContainer);
  const othersHash = () => Promise.all(others.map((node) => incus("exec", node, "--", "sha256sum", `${FULL_DIR}/haproxy.cfg`)));
  const othersBefore = await othersHash();
  figures["disk-full: the full node holds the virtual IP (staged last)"] = String(await holdsVirtualIp(lab, lab.haproxyContainer));
  const workerBefore = await admin(lab, "show info").then((info) => /^Pid: (\d+)/m.exec(info)?.[1]);
  const avail = await inHaproxy(FILL, FULL_DIR, SAVED);
  figures["disk-full: KiB left on the container's /etc/haproxy after filling"] = Number(avail);
  try {
    await pulumi("config", "set", "veza-infra:healthCheckFall", "3");
    const load = steadyLoad(path("/api/v1/items"), LOAD_RATE);
    let failure: string;
    let result;
    try {
      failure = await pulumi("up", "--yes", "--skip-preview").then(
        () => "no error",
        (error: Error) => error.message,
      );
    } finally {
      result = await load.stop();
    }
    figures["disk-full up: what it printed"] = reason(failure);
    figures["disk-full up: requests ok/failed under load"] = result.tally;
    expect(failure).toMatch(/No space left on device/);
    expect(failure).toMatch(/Could not write the new configuration in \S+ .*; the live one keeps serving/);
    // The old config still serves: same file, same worker, nothing lost.
    expect(await liveHash()).toBe(before);
    expect(await masterHash()).toBe(before);
    expect(await othersHash()).toEqual(othersBefore);
    expect(await admin(lab, "show info").then((info) => /^Pid: (\d+)/m.exec(info)?.[1])).toBe(workerBefore);
    expect(result.failures).toEqual([]);
    // Nothing half-written stays behind to hold the space.
    expect(await inHaproxy(`ls -A "$1"`, FULL_DIR)).not.toMatch(/\.tmp|\.next/);

    await inHaproxy(`rm -f "$1/filler"`, FULL_DIR);
    await pulumi("up", "--yes", "--skip-preview");
    const converged = await liveHash();
    expect(converged).not.toBe(before);
    expect(converged).toBe(JSON.parse(await pulumi("stack", "output", "haproxyConfigHash", "--json")));
    expect(await masterHash()).toBe(converged);
    expect(await inHaproxy(`grep -c " fall 3 " "$1" || true`, `${FULL_DIR}/haproxy.cfg`)).not.toBe("0");
    await waitAllUp(lab, 60_000);
    await pulumi("preview", "--expect-no-changes");
  } finally {
    await pulumi("config", "rm", "veza-infra:healthCheckFall");
    await inHaproxy(`rm -f "$1/filler"`, FULL_DIR);
    await pulumi("up", "--yes", "--skip-preview");
    await inHaproxy(UNMOUNT, FULL_DIR, SAVED);
  }
  expect(await masterHash()).toBe(await liveHash());
  await pulumi("preview", "--expect-no-changes");
});

/**
 * incusd's pid, as the daemon itself reports it: the containers' `[lxc monitor]` processes are
 * named incusd too, and after one restart they are older than the daemon.
 */
const incusdPid = async () => (JSON.parse(await incus("query", "/1.0")) as { environment: { server_pid: number } }).environment.server_pid;
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`);
/** A file under /proc; "" once its process is gone. */
const proc = (file: string) => {
  try {
    return fs.readFileSync(`/proc/${file}`, "utf8");
  } catch {
    return "";
  }
};
/** How the daemon runs: its command line, its open-files limit, and how many processes run that command line. */
const incusdRunsAs = async () => {
  const pid = await incusdPid();
  const cmdline = proc(`${pid}/cmdline`);
  const openFiles = proc(`${pid}/limits`)
    .split("\n")
    .find((line) => line.startsWith("Max open files"));
  const same = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && proc(`${p}/cmdline`) === cmdline);
  return `${cmdline.split("\0").join(" ").trim()} | ${openFiles?.replace(/\s+/g, " ")} | ${same.length} running`;
};
/** name -> "STATE pid of init" of the stack's containers (`lab-...`): an unchanged pid is a container that kept running. */
async function containers(prefix: string): Promise<Map<string, string>> {
  const rows = (await incus("list", "-c", "nsp", "-f", "csv")).split("\n").map((row) => row.split(","));
  return new Map(rows.filter(([name]) => name.startsWith(prefix)).map(([name, state, pid]) => [name, `${state} ${pid}`]));
}
const stackContainers = (o: LabOutputs & { haproxyContainers?: string[] }) =>
  [...(o.haproxyContainers ?? [o.haproxyContainer]), ...o.backendApiContainers, ...o.streamServerContainers].sort();

test("the Incus daemon restarted in the middle of pulumi up: containers keep running and the next up converges", async () => {
  const prefix = lab.haproxyContainer.slice(0, lab.haproxyContainer.indexOf("haproxy"));
  const before = await containers(prefix);
  expect([...before.keys()].sort()).toEqual(stackContainers(lab));
  const daemon = await incusdRunsAs();
  const count = lab.backendApiContainers.length + 2;
  await pulumi("config", "set", "veza-infra:backendApiCount", String(count));
  try {
    const upStarted = Date.now();
    const interrupted = pulumi("up", "--yes", "--skip-preview").then(
      () => "succeeded",
      (error: Error) => `failed: ${reason(error.message)}`,
    );
    await waitFor("a new container", async () => [...(await containers(prefix)).keys()].some((name) => !before.has(name)), 180_000, 100);
    figures["incusd restart: first new container seen (ms after up started)"] = Date.now() - upStarted;
    const pid = await incusdPid();
    const killedAt = Date.now();
    // SIGTERM: incusd exits and leaves its instances running (SIGPWR would shut them down first).
    process.kill(pid, "SIGTERM");
    const exitMs = await waitFor("incusd to exit", async () => !alive(pid), 120_000, 50);
    // The set-up's own way back: lab-host.sh finds no daemon answering and starts it as `npm run lab` does.
    await run("bash", ["scripts/lab-host.sh"]);
    const restartMs = Date.now() - killedAt;
    figures["incusd restart: SIGTERM to exit / to answering again (ms)"] = `${exitMs} / ${restartMs}`;
    figures["incusd restart: the interrupted up"] = await interrupted;
    figures["incusd restart: the daemon before / after"] = `${daemon} / ${await incusdRunsAs()}`;
    expect(await incusdRunsAs()).toBe(daemon);
    const after = await containers(prefix);
    figures["incusd restart: containers after the interrupted up"] = [...after].map(([name, state]) => `${name} ${state}`).join(", ");
    for (const [name, state] of before) expect(`${name} ${after.get(name)}`).toBe(`${name} ${state}`);

    const convergeMs = Date.now();
    await pulumi("up", "--yes", "--skip-preview");
    figures["incusd restart: the next up (ms)"] = Date.now() - convergeMs;
    const scaled = await outputs();
    expect(scaled.backendApiContainers).toHaveLength(count);
    await waitAllUp(scaled, 120_000);
    await pulumi("preview", "--expect-no-changes");
    expect([...(await containers(prefix)).keys()].sort()).toEqual(stackContainers(scaled));
  } finally {
    // Once more with the scaled config first: should the daemon come back later than a cut launch
    // step waits for it, that step's container is in no state; this up adopts it, the scale-in deletes it.
    await pulumi("up", "--yes", "--skip-preview").catch(() => undefined);
    await pulumi("config", "rm", "veza-infra:backendApiCount");
    await pulumi("up", "--yes", "--skip-preview");
  }
  lab = await outputs();
  await waitAllUp(lab, 60_000);
  expect([...(await containers(prefix)).keys()].sort()).toEqual(stackContainers(lab));
});
