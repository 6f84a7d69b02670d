/**
 * The steps that put a new haproxy.cfg, PEM or keepalived.conf live, run for real: the host
 * scripts under bash, their in-container parts under sh, each node a temporary directory
 * (VEZA_ROOT, see FILES_ROOT), and fake incus, haproxy, keepalived, systemctl, socat, journalctl,
 * ip and sleep first on PATH. The fakes record what they were asked in one log, so a test sees
 * what went live and what reloaded, in order.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ADMIN_SOCKET, STATS_PASSWORD_ENV, TLS_PEM_PATH } from "../../components/haproxy/haproxyConfig";
import { APPLY_CONFIG_SCRIPT } from "../../components/haproxy/haproxyScripts";
import {
  HAND_OVER_PATH,
  HAND_OVER_SCRIPT,
  KEEPALIVED_FILES,
  KEEPALIVED_SCRIPT,
  KEEPALIVED_STOPS_FIRST,
  PEER_WAIT_SECONDS,
  ROLLOUT_SCRIPT,
} from "../../components/haproxy/pairScripts";
import { BASH } from "../../components/incus/incusScripts";
import { KEEPALIVED_CONF_PATH } from "../../components/haproxy/keepalivedConfig";
import { sha256 } from "../../components/incus/liveState";

const LIVE = "/etc/haproxy/haproxy.cfg";
const STATE_FILE = "/var/lib/haproxy/server-state-0123456789ab";
const VIP = "10.77.0.200";

/** A fake's first lines: it logs "NODE TOOL ARGS" (NODE is the directory standing for the container). */
const LOG = `#!/bin/sh
node=\${VEZA_ROOT##*/}
fake=$VEZA_ROOT/fake
log() { printf '%s %s\\n' "$node" "$*" >> "$VEZA_NODES/calls"; }
`;

const FAKES: Record<string, string> = {
  // exec REF -- CMD…: CMD runs here with the node's directory as VEZA_ROOT; install -d and chgrp
  // (the PEM's directory and group) only make the directory. file push --quiet --mode M SRC REF/PATH copies.
  incus: `#!/bin/sh
set -eu
[ -d "$VEZA_NODES" ] || { echo "fake incus: VEZA_NODES unset" >&2; exit 2; }
case "$1" in
  exec)
    VEZA_ROOT=$VEZA_NODES/$2; export VEZA_ROOT; shift 3
    case "$1" in
      install) for last; do :; done; mkdir -p "$VEZA_ROOT$last" ;;
      chgrp) ;;
      *) exec "$@" ;;
    esac ;;
  file) target=$VEZA_NODES/$7; cp "$6" "$target"; chmod "$5" "$target" ;;
  *) echo "fake incus: unexpected $*" >&2; exit 2 ;;
esac
`,
  // Rejects a config holding "reject", a PEM holding "BAD", and a run without the stats password.
  haproxy: `${LOG}log haproxy "$@"
if [ -z "\${${STATS_PASSWORD_ENV}:-}" ]; then echo "[ALERT] config : ${STATS_PASSWORD_ENV} is not set"; exit 1; fi
if grep reject "$3" >/dev/null; then echo "[ALERT] config : parsing [$3:2] : unknown keyword 'reject'"; exit 1; fi
if grep BAD "$VEZA_ROOT${TLS_PEM_PATH}" >/dev/null 2>&1; then echo "[ALERT] config : unable to load certificate from file '${TLS_PEM_PATH}'"; exit 1; fi
echo "Configuration file is valid"
`,
  keepalived: `${LOG}log keepalived "$@"
if grep reject "$3" >/dev/null; then echo "(line 2) Unknown keyword 'reject'"; exit 1; fi
`,
  // A unit is active while $fake/UNIT.active exists; each (re)start or reload makes a new worker
  // (pid in $fake/UNIT.pid) unless $fake/UNIT.stuck exists.
  systemctl: `${LOG}log systemctl "$@"
for unit; do :; done
case "$1" in
  is-active) [ -e "$fake/$unit.active" ] ;;
  reload|restart|start)
    touch "$fake/$unit.active"
    [ -e "$fake/$unit.stuck" ] || echo $(( $(cat "$fake/$unit.pid" 2>/dev/null || echo 100) + 1 )) > "$fake/$unit.pid" ;;
esac
`,
  // The admin socket: refuses while HAProxy is not active; logs every command but the polled "show info".
  socat: `${LOG}read -r request
[ "$request" = "show info" ] || log socat "$request"
[ -e "$fake/haproxy.active" ] || exit 1
case "$request" in
  "show info") echo "Name: HAProxy"; echo "Pid: $(cat "$fake/haproxy.pid")" ;;
  "show servers state") printf '1\\n# be_id be_name srv_id srv_name\\n3 api_pool 1 backend-api-1\\n' ;;
esac
`,
  journalctl: `#!/bin/sh
echo "haproxy[101]: [ALERT] (fake journal) the new worker failed"
`,
  // \`ip -4 -o addr show\` lists the address on the holder; any other use is logged.
  ip: `${LOG}case "$*" in
  "-4 -o addr show"*) [ -e "$fake/holder" ] && echo "2: eth0    inet ${VIP}/24 scope global secondary eth0" ;;
  *) log ip "$@" ;;
esac
exit 0
`,
  sysctl: `${LOG}log sysctl "$@"
`,
  sleep: "#!/bin/sh\n",
};

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), "veza-swap-"));
  fs.mkdirSync(path.join(base, "bin"));
  fs.mkdirSync(path.join(base, "nodes"));
  for (const [name, text] of Object.entries(FAKES)) fs.writeFileSync(path.join(base, "bin", name), text, { mode: 0o755 });
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

const nodes = () => path.join(base, "nodes");
const file = (node: string, name: string) => path.join(nodes(), node, name);
const read = (node: string, name: string) => fs.readFileSync(file(node, name), "utf8");
const exists = (node: string, name: string) => fs.existsSync(file(node, name));
const calls = () =>
  fs.existsSync(path.join(nodes(), "calls")) ? fs.readFileSync(path.join(nodes(), "calls"), "utf8").trim().split("\n") : [];
/** Every file under the node's /etc, with its content: what a rejected step must leave as it found it. */
function etc(node: string): Record<string, string> {
  const root = file(node, "etc");
  return Object.fromEntries(
    (fs.readdirSync(root, { recursive: true }) as string[])
      .filter((name) => fs.statSync(path.join(root, name)).isFile())
      .map((name) => [
        name,
        `${(fs.statSync(path.join(root, name)).mode & 0o777).toString(8)} ${fs.readFileSync(path.join(root, name), "utf8")}`,
      ]),
  );
}

function write(node: string, name: string, content: string, mode = 0o644) {
  fs.mkdirSync(path.dirname(file(node, name)), { recursive: true });
  fs.writeFileSync(file(node, name), content, { mode });
  fs.chmodSync(file(node, name), mode);
}

/** A config the fake haproxy accepts (or rejects, with `reject`), naming the state file. */
const config = (version: string, reject = false) =>
  `global\n    server-state-file ${STATE_FILE}\n${reject ? "    reject\n" : ""}# ${version}\n`;

/** A node serving config v1 with PEM "OLD" (mode 0640), HAProxy active with worker 100 and its admin socket. */
function haproxyNode(node: string) {
  write(node, LIVE, config("v1"));
  write(node, TLS_PEM_PATH, "OLD PEM\n", 0o640);
  write(node, "/etc/haproxy/veza-secrets.env", `${STATS_PASSWORD_ENV}=secret\n`, 0o600);
  fs.mkdirSync(path.dirname(file(node, ADMIN_SOCKET)), { recursive: true });
  fs.mkdirSync(path.dirname(file(node, STATE_FILE)), { recursive: true });
  // A socket file, as HAProxy leaves it (the listener is gone once this process exits).
  spawnSync(process.execPath, [
    "-e",
    "require('net').createServer().listen(process.argv[1], () => process.exit(0))",
    file(node, ADMIN_SOCKET),
  ]);
  write(node, "fake/haproxy.active", "");
  write(node, "fake/haproxy.pid", "100\n");
}

/** Runs a host step as the components do (bash -euo pipefail), with the fakes first on PATH. */
function run(script: string, env: Record<string, string>) {
  const result = spawnSync(BASH[0], [...BASH.slice(1), script], {
    env: { PATH: `${path.join(base, "bin")}:${process.env.PATH}`, VEZA_NODES: nodes(), ...env },
    encoding: "utf8",
    // Not node's stdin socket: Debian's bash would take it for sshd's and read bash.bashrc.
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** APPLY_TO_NODE's environment: the config, the PEM pushed with it (a file on the "Pulumi host"), the server states. */
function applyEnv(cfg: string, pem: string | undefined) {
  let pemPath = "";
  if (pem !== undefined) {
    pemPath = path.join(base, "host.pem");
    fs.writeFileSync(pemPath, pem);
  }
  return {
    VEZA_CONFIG: cfg,
    VEZA_CONFIG_SHA256: "f".repeat(64),
    VEZA_TLS_PEM: pemPath,
    VEZA_SERVER_STATES: "set server api_pool/backend-api-1 state ready; set server api_pool/backend-api-2 state drain",
  };
}

const CHECK = (node: string) => `${node} haproxy -c -f ${file(node, `${LIVE}.next`)}`;
const STATES = (node: string) =>
  `${node} socat set server api_pool/backend-api-1 state ready; set server api_pool/backend-api-2 state drain`;

describe("haproxy.cfg applied to one node (APPLY_CONFIG_SCRIPT)", () => {
  const apply = (cfg: string, pem?: string) => run(APPLY_CONFIG_SCRIPT, { VEZA_REF: "lab-haproxy", ...applyEnv(cfg, pem) });

  test("an accepted config and PEM go live: state carried over, one reload, then the server states", () => {
    haproxyNode("lab-haproxy");
    const result = apply(config("v2"), "NEW PEM\n");
    expect(result).toMatchObject({ status: 0, stdout: `${"f".repeat(64)}\n` });
    expect(read("lab-haproxy", LIVE)).toBe(config("v2"));
    expect(read("lab-haproxy", `${LIVE}.previous`)).toBe(config("v1"));
    expect(read("lab-haproxy", `${LIVE}.sha256`)).toBe(`${sha256(config("v2"))}\n`);
    expect(exists("lab-haproxy", `${LIVE}.next`)).toBe(false);
    expect(read("lab-haproxy", TLS_PEM_PATH)).toBe("NEW PEM\n");
    expect((fs.statSync(file("lab-haproxy", TLS_PEM_PATH)).mode & 0o777).toString(8)).toBe("640");
    expect(exists("lab-haproxy", `${TLS_PEM_PATH}.previous`) || exists("lab-haproxy", `${TLS_PEM_PATH}.next`)).toBe(false);
    expect(read("lab-haproxy", STATE_FILE)).toContain("3 api_pool 1 backend-api-1");
    expect(calls()).toEqual([
      CHECK("lab-haproxy"),
      "lab-haproxy socat show servers state",
      "lab-haproxy systemctl is-active --quiet haproxy",
      "lab-haproxy systemctl reload haproxy",
      STATES("lab-haproxy"),
    ]);
  });

  test.each([
    ["a config HAProxy rejects", config("v2", true), "NEW PEM\n", "unknown keyword 'reject'"],
    ["a PEM HAProxy rejects", config("v2"), "BAD PEM\n", "unable to load certificate"],
  ])("%s leaves haproxy.cfg and the PEM as they were, and nothing reloads", (_name, cfg, pem, message) => {
    haproxyNode("lab-haproxy");
    const before = etc("lab-haproxy");
    const result = apply(cfg, pem);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("HAProxy in lab-haproxy rejected the new configuration; the live one keeps serving.");
    expect(result.stderr).toContain(message);
    expect(etc("lab-haproxy")).toEqual(before);
    expect(calls()).toEqual([CHECK("lab-haproxy")]);
  });

  test("a stopped HAProxy (stale socket) is enabled and restarted, with no state carried over", () => {
    haproxyNode("lab-haproxy");
    fs.rmSync(file("lab-haproxy", "fake/haproxy.active"));
    const result = apply(config("v2"));
    expect(result.status).toBe(0);
    expect(read("lab-haproxy", LIVE)).toBe(config("v2"));
    expect(exists("lab-haproxy", STATE_FILE)).toBe(false);
    expect(calls()).toEqual([
      CHECK("lab-haproxy"),
      "lab-haproxy socat show servers state",
      "lab-haproxy systemctl is-active --quiet haproxy",
      "lab-haproxy systemctl enable --quiet haproxy",
      "lab-haproxy systemctl restart haproxy",
      STATES("lab-haproxy"),
    ]);
  });

  test("no new worker within 10 s: the previous haproxy.cfg goes back, the journal is shown, no server states are sent", () => {
    haproxyNode("lab-haproxy");
    write("lab-haproxy", "fake/haproxy.stuck", "");
    const result = apply(config("v2"));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("(fake journal) the new worker failed");
    expect(result.stderr).toContain("HAProxy started no worker with the new configuration within 10 s; the previous file is back in place");
    expect(read("lab-haproxy", LIVE)).toBe(config("v1"));
    expect(exists("lab-haproxy", `${LIVE}.previous`)).toBe(false);
    expect(calls()).toContain("lab-haproxy systemctl reload haproxy");
    expect(calls()).not.toContain(STATES("lab-haproxy"));
  });
});

describe("haproxy.cfg rolled out to a pair (ROLLOUT_SCRIPT)", () => {
  const rollout = (cfg: string) =>
    run(ROLLOUT_SCRIPT, { VEZA_REFS: "lab-haproxy lab-haproxy-2", VEZA_VIRTUAL_IP: VIP, ...applyEnv(cfg, "NEW PEM\n") });
  beforeEach(() => {
    haproxyNode("lab-haproxy");
    haproxyNode("lab-haproxy-2");
    write("lab-haproxy", "fake/holder", "");
  });

  test("the node without the virtual IP first, the holder once the config is live on the other", () => {
    expect(rollout(config("v2")).status).toBe(0);
    const reloads = calls().filter((line) => line.endsWith("systemctl reload haproxy"));
    expect(reloads).toEqual(["lab-haproxy-2 systemctl reload haproxy", "lab-haproxy systemctl reload haproxy"]);
    expect([read("lab-haproxy", LIVE), read("lab-haproxy-2", LIVE)]).toEqual([config("v2"), config("v2")]);
  });

  test("a config the first node rejects goes live on neither, and the holder is not touched", () => {
    const before = [etc("lab-haproxy"), etc("lab-haproxy-2")];
    const result = rollout(config("v2", true));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("HAProxy in lab-haproxy-2 rejected the new configuration");
    expect([etc("lab-haproxy"), etc("lab-haproxy-2")]).toEqual(before);
    expect(calls()).toEqual([CHECK("lab-haproxy-2")]);
  });

  test("a config the holder refuses, staged second, goes live on neither: the other node's stage is undone", () => {
    // Only the holder refuses: its HAProxy would run without the stats password.
    write("lab-haproxy", "/etc/haproxy/veza-secrets.env", `${STATS_PASSWORD_ENV}=\n`, 0o600);
    const before = [etc("lab-haproxy"), etc("lab-haproxy-2")];
    const result = rollout(config("v2"));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("HAProxy in lab-haproxy rejected the new configuration");
    expect([etc("lab-haproxy"), etc("lab-haproxy-2")]).toEqual(before);
    expect(calls()).toEqual([CHECK("lab-haproxy-2"), CHECK("lab-haproxy")]);
  });

  test("a first PEM ever, refused, is removed again rather than left at the live path", () => {
    for (const node of ["lab-haproxy", "lab-haproxy-2"]) fs.rmSync(file(node, TLS_PEM_PATH));
    write("lab-haproxy", "/etc/haproxy/veza-secrets.env", `${STATS_PASSWORD_ENV}=\n`, 0o600);
    expect(rollout(config("v2")).status).toBe(1);
    expect([exists("lab-haproxy", TLS_PEM_PATH), exists("lab-haproxy-2", TLS_PEM_PATH)]).toEqual([false, false]);
  });
});

describe("keepalived.conf applied to a node (KEEPALIVED_SCRIPT)", () => {
  const ADDRESS = "10.77.0.31";
  const apply = (conf: string) =>
    run(KEEPALIVED_SCRIPT, {
      ...KEEPALIVED_FILES,
      VEZA_REF: "lab-haproxy",
      VEZA_PEER_REF: "lab-haproxy-2",
      VEZA_ADDRESS: ADDRESS,
      VEZA_KEEPALIVED_CONF: conf,
    });
  const check = () => `lab-haproxy keepalived -t -f ${file("lab-haproxy", `${KEEPALIVED_CONF_PATH}.next`)}`;
  beforeEach(() => {
    write("lab-haproxy", KEEPALIVED_CONF_PATH, "vrrp_instance v1 {}\n");
    write("lab-haproxy", "fake/keepalived.active", "");
  });

  test("a config keepalived rejects leaves the live one, and nothing reloads", () => {
    const result = apply("vrrp_instance v2 {}\nreject\n");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("keepalived rejected the new configuration; the live one stays: (line 2) Unknown keyword 'reject'");
    expect(etc("lab-haproxy")).toEqual({ "keepalived/keepalived.conf": "644 vrrp_instance v1 {}\n" });
    expect(calls()).toEqual(["lab-haproxy systemctl is-active --quiet keepalived", check()]);
  });

  test("an accepted, changed config is installed and keepalived reloaded (the address stays put)", () => {
    expect(apply("vrrp_instance v2 {}\n").status).toBe(0);
    // Its sha256 recorded beside it, so an edit by hand shows at the next preview (liveState.ts).
    expect(etc("lab-haproxy")).toEqual({
      "keepalived/keepalived.conf": "644 vrrp_instance v2 {}\n",
      "keepalived/keepalived.conf.sha256": `644 ${sha256("vrrp_instance v2 {}\n")}\n`,
      // keepalived stops before HAProxy when the node shuts down.
      [KEEPALIVED_STOPS_FIRST.path.replace("/etc/", "")]: `644 ${KEEPALIVED_STOPS_FIRST.text}`,
    });
    // keepalived's stop hands the address over, the script executable by systemd.
    expect(fs.statSync(file("lab-haproxy", HAND_OVER_PATH)).mode & 0o777).toBe(0o755);
    expect(read("lab-haproxy", HAND_OVER_PATH)).toBe(HAND_OVER_SCRIPT);
    expect(calls()).toEqual([
      "lab-haproxy systemctl is-active --quiet keepalived",
      check(),
      "lab-haproxy systemctl daemon-reload",
      "lab-haproxy systemctl enable --quiet keepalived",
      "lab-haproxy systemctl is-active --quiet keepalived",
      "lab-haproxy systemctl reload keepalived",
    ]);
  });

  test("the same config again reloads nothing; a stopped keepalived is started", () => {
    expect(apply("vrrp_instance v1 {}\n").status).toBe(0);
    expect(apply("vrrp_instance v1 {}\n").status).toBe(0);
    expect(calls().filter((call) => call.endsWith("daemon-reload"))).toHaveLength(1);
    expect(calls()).not.toContain("lab-haproxy systemctl reload keepalived");
    fs.rmSync(file("lab-haproxy", "fake/keepalived.active"));
    expect(apply("vrrp_instance v1 {}\n").status).toBe(0);
    expect(calls()).toContain("lab-haproxy systemctl start keepalived");
  });

  test("a node starting keepalived while its peer runs it waits until the peer names its address", () => {
    fs.rmSync(file("lab-haproxy", "fake/keepalived.active"));
    write("lab-haproxy-2", "fake/keepalived.active", "");
    write("lab-haproxy-2", KEEPALIVED_CONF_PATH, "unicast_peer {\n  10.77.0.3\n}\n");
    const refused = apply("vrrp_instance v1 {}\n");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `lab-haproxy-2 still does not name ${ADDRESS} in its keepalived.conf after ${PEER_WAIT_SECONDS} s: keepalived stays stopped on lab-haproxy`,
    );
    expect(calls()).not.toContain("lab-haproxy systemctl start keepalived");
    // An address that merely starts with this one is another node's.
    write("lab-haproxy-2", KEEPALIVED_CONF_PATH, `unicast_peer {\n  ${ADDRESS}5\n}\n`);
    expect(apply("vrrp_instance v1 {}\n").status).toBe(1);
    write("lab-haproxy-2", KEEPALIVED_CONF_PATH, `unicast_peer {\n  ${ADDRESS}\n}\n`);
    expect(apply("vrrp_instance v1 {}\n").status).toBe(0);
    expect(calls()).toContain("lab-haproxy systemctl start keepalived");
  });

  test("a node whose peer does not run keepalived (both starting, or the peer gone) starts at once", () => {
    fs.rmSync(file("lab-haproxy", "fake/keepalived.active"));
    expect(apply("vrrp_instance v1 {}\n").status).toBe(0);
    expect(calls()).toContain("lab-haproxy systemctl start keepalived");
  });
});

describe("keepalived's stop on a node (HAND_OVER_SCRIPT, the drop-in's ExecStop)", () => {
  /** Runs the script as systemd would, against a stand-in for keepalived's main process; its calls, and whether that process is gone. */
  const stop = (node: string) => {
    write(node, KEEPALIVED_CONF_PATH, `vrrp_instance VI_1 {\n    virtual_ipaddress {\n        ${VIP}/24 dev eth0\n    }\n}\n`);
    const result = run(
      `/bin/sleep 30 & pid=$!
sh -c "$SCRIPT" sh "$pid" "$VEZA_ROOT${KEEPALIVED_CONF_PATH}"
if kill -0 "$pid" 2>/dev/null; then echo "keepalived still runs"; kill "$pid"; fi`,
      { SCRIPT: HAND_OVER_SCRIPT, VEZA_ROOT: path.join(nodes(), node) },
    );
    expect(result.stderr).toBe("");
    return result.stdout;
  };

  test("the holder keeps the address on lo, not answering ARP for it, until keepalived is gone and the answers drained", () => {
    write("lab-haproxy", "fake/holder", "");
    expect(stop("lab-haproxy")).toBe("");
    expect(calls()).toEqual([
      "lab-haproxy sysctl -qw net.ipv4.conf.eth0.arp_ignore=1",
      `lab-haproxy ip addr add ${VIP}/32 dev lo`,
      `lab-haproxy ip addr del ${VIP}/32 dev lo`,
    ]);
  });

  test("a node without the address only stops keepalived", () => {
    expect(stop("lab-haproxy-2")).toBe("");
    expect(calls()).toEqual([]);
  });
});
