/**
 * Every shell script the components run, on the host or inside a container: kept as golden files
 * (a reviewer sees each change to what runs as root), checked by shellcheck in its own dialect,
 * and free of anything but constant text: values arrive through the environment or as arguments.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  APPLY_CONFIG_SCRIPT,
  CHECK_CANDIDATE,
  SETUP_IN_CONTAINER,
  SETUP_SCRIPT,
  SET_SERVER_STATES,
  SWAP_AND_RELOAD,
} from "../../components/haproxy/haproxyScripts";
import {
  HAND_OVER_SCRIPT,
  KEEPALIVED_DELETE_SCRIPT,
  KEEPALIVED_IN_CONTAINER,
  KEEPALIVED_SCRIPT,
  ROLLOUT_SCRIPT,
} from "../../components/haproxy/pairScripts";
import {
  BASH,
  DELETE_SCRIPT,
  INSTALL_NEXT,
  LAUNCH_SCRIPT,
  WAIT_FOR_ADDRESS,
  WRITE_FILE,
  carriesRole,
  containerEnvironment,
  launchScript,
} from "../../components/incus/incusScripts";
import { LIST_INSTANCES_SCRIPT } from "../../components/incus/ownership";
import { LIMITS_SCRIPT } from "../../components/incus/instanceLimits";
import { PROBE_IN_CONTAINER, PROBE_SCRIPT } from "../../components/incus/liveState";
import { NODE_OPS, ROLLOUT_FLEET_SCRIPT } from "../../components/services/rolloutScripts";
import { DEPLOY_SCRIPT, LAYOUT, ROLL_INSTANCE, STAGED, STAGE_OR_START } from "../../components/services/serviceScripts";

const GOLDEN_DIR = path.join(__dirname, "..", "golden", "scripts");

/** Host-side steps run by bash (components' BASH interpreter); in-container parts by Debian's sh (dash). */
const HOST: Record<string, string> = {
  launch: LAUNCH_SCRIPT,
  delete: DELETE_SCRIPT,
  "list-instances": LIST_INSTANCES_SCRIPT,
  limits: LIMITS_SCRIPT,
  deploy: DEPLOY_SCRIPT,
  "haproxy-setup": SETUP_SCRIPT,
  "haproxy-apply-config": APPLY_CONFIG_SCRIPT,
  "haproxy-pair-rollout": ROLLOUT_SCRIPT,
  "haproxy-pair-keepalived": KEEPALIVED_SCRIPT,
  "haproxy-pair-keepalived-delete": KEEPALIVED_DELETE_SCRIPT,
  "fleet-rollout": ROLLOUT_FLEET_SCRIPT,
  "live-probe": PROBE_SCRIPT,
};
const IN_CONTAINER: Record<string, string> = {
  "wait-for-address": WAIT_FOR_ADDRESS,
  "write-file": WRITE_FILE,
  "install-next": `${INSTALL_NEXT}\ninstall_next "$1"\necho "$changed"`,
  "service-layout": LAYOUT,
  "service-stage-or-start": STAGE_OR_START,
  "service-roll-instance": ROLL_INSTANCE,
  "service-staged": STAGED,
  "haproxy-node-ops": NODE_OPS,
  "live-probe-in-container": PROBE_IN_CONTAINER,
  "haproxy-setup-in-container": SETUP_IN_CONTAINER,
  "haproxy-check-candidate": CHECK_CANDIDATE,
  "haproxy-swap-and-reload": SWAP_AND_RELOAD,
  "keepalived-in-container": KEEPALIVED_IN_CONTAINER,
  "haproxy-pair-keepalived-hand-over": HAND_OVER_SCRIPT,
  "haproxy-set-server-states": SET_SERVER_STATES,
};

/**
 * SC1091: the secrets file sourced in the container does not exist on this host. SC2016 (no
 * expansion in single quotes) is the point of a host step: its in-container scripts travel
 * single-quoted and are checked on their own, in their own dialect.
 */
function shellcheck(script: string, dialect: "bash" | "sh"): string {
  try {
    execFileSync("shellcheck", ["--shell", dialect, "--exclude", dialect === "bash" ? "SC1091,SC2016" : "SC1091", "-"], {
      input: script,
      encoding: "utf8",
    });
    return "";
  } catch (error) {
    return (error as { stdout?: string }).stdout || (error as Error).message;
  }
}

describe("golden scripts (UPDATE_GOLDEN=1 rewrites them)", () => {
  test.each(Object.entries({ ...HOST, ...IN_CONTAINER }))("%s", (name, script) => {
    const file = path.join(GOLDEN_DIR, `${name}.sh`);
    if (process.env.UPDATE_GOLDEN === "1") {
      fs.mkdirSync(GOLDEN_DIR, { recursive: true });
      fs.writeFileSync(file, `${script}\n`);
    }
    expect(`${script}\n`).toBe(fs.readFileSync(file, "utf8"));
  });
});

describe("shellcheck finds nothing", () => {
  test.each(Object.entries(HOST))("host step %s (bash)", (_name, script) => {
    expect(shellcheck(script, "bash")).toBe("");
  });
  test.each(Object.entries(IN_CONTAINER))("in-container %s (sh)", (_name, script) => {
    expect(shellcheck(script, "sh")).toBe("");
  });
});

describe("the in-container helpers, run for real", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-scripts-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sh = (script: string, args: string[], input = "") => execFileSync("sh", ["-c", script, "sh", ...args], { input, encoding: "utf8" });

  test("write-file writes stdin atomically with the mode asked, creating the directory", () => {
    const file = path.join(dir, "a", "b.conf");
    sh(WRITE_FILE, [file, "0640"], "x=$(id)\n");
    expect(fs.readFileSync(file, "utf8")).toBe("x=$(id)\n");
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("640");
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });

  test("write-file that fails leaves neither the file nor its half-written temporary", () => {
    const file = path.join(dir, "c.conf");
    expect(() => sh(WRITE_FILE, [file, "not-a-mode"], "x\n")).toThrow();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("install-next moves a changed file in and says so; an identical one is dropped", () => {
    const file = path.join(dir, "unit");
    const install = IN_CONTAINER["install-next"];
    fs.writeFileSync(`${file}.next`, "v1");
    expect(sh(install, [file]).trim()).toBe("true");
    fs.writeFileSync(`${file}.next`, "v1");
    expect(sh(install, [file]).trim()).toBe("false");
    expect(fs.existsSync(`${file}.next`)).toBe(false);
    fs.writeFileSync(`${file}.next`, "v2");
    expect(sh(install, [file]).trim()).toBe("true");
    expect(fs.readFileSync(file, "utf8")).toBe("v2");
  });
});

describe("the launch step against a stand-in incus", () => {
  /**
   * The daemon shuts down right after `incus launch` created the container: the address wait fails,
   * and the daemon answers again only at the third `incus list`. The step must fail, and delete
   * the container it created once the daemon answers, not leave it in no stack's state.
   */
  const STAND_IN = `echo "$*" >> "$STAND_IN/calls"
case "$1" in
  info) [ -e "$STAND_IN/created" ] || exit 1; echo "Status: RUNNING" ;;
  launch) touch "$STAND_IN/created" ;;
  exec) echo "Error: Shutting down" >&2; exit 1 ;;
  list) down=$(cat "$STAND_IN/down"); [ "$down" = 0 ] || { echo $((down - 1)) > "$STAND_IN/down"; exit 1; } ;;
  delete) rm "$STAND_IN/created" ;;
esac`;

  test("a create cut short by a daemon restart is deleted once the daemon answers", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-launch-"));
    try {
      fs.writeFileSync(path.join(dir, "incus"), `#!/bin/bash\n${STAND_IN}\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, "down"), "2");
      const env = {
        ...process.env,
        PATH: `${dir}:${process.env.PATH}`,
        STAND_IN: dir,
        ...containerEnvironment("lab-backend-api-3", { remote: "", target: "", image: "img", network: "br", storagePool: "pool" }, "p/s"),
      };
      expect(() => execFileSync(BASH[0], [...BASH.slice(1), LAUNCH_SCRIPT], { env, stdio: "pipe" })).toThrow();
      const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
      expect(calls.filter((c) => c.startsWith("list "))).toHaveLength(3);
      expect(calls[calls.length - 1]).toBe("delete --force lab-backend-api-3");
      expect(fs.existsSync(path.join(dir, "created"))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("on a cluster member the launch writes the container's role beside its owner and has an evacuation stop it; off a cluster nothing changes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-launch-"));
    const launched = (target: string) => {
      fs.rmSync(path.join(dir, "calls"), { force: true });
      fs.rmSync(path.join(dir, "created"), { force: true });
      const placement = { remote: "cl", target, image: "img", network: "br", storagePool: "pool" };
      const env = {
        ...process.env,
        PATH: `${dir}:${process.env.PATH}`,
        STAND_IN: dir,
        ...containerEnvironment("c-haproxy", placement, "p/s", "p/s/haproxy"),
      };
      expect(() => execFileSync(BASH[0], [...BASH.slice(1), launchScript(carriesRole(placement))], { env, stdio: "pipe" })).toThrow();
      return fs
        .readFileSync(path.join(dir, "calls"), "utf8")
        .split("\n")
        .find((c) => c.startsWith("launch "));
    };
    try {
      fs.writeFileSync(path.join(dir, "incus"), `#!/bin/bash\n${STAND_IN}\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, "down"), "0");
      expect(launched("m2")).toBe(
        "launch cl:img cl:c-haproxy --storage pool --network br --config user.veza.owner=p/s --config user.veza.role=p/s/haproxy --config cluster.evacuate=stop --target m2",
      );
      expect(launched("")).toBe("launch cl:img cl:c-haproxy --storage pool --network br --config user.veza.owner=p/s");
      expect(launchScript(false)).toBe(LAUNCH_SCRIPT);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("keepalived's delete step, before a node's container goes", () => {
  /** The calls KEEPALIVED_DELETE_SCRIPT makes against a stub incus whose `info` prints `status` (absent: fails). */
  const callsWith = (status: string | undefined) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-keepalived-delete-"));
    try {
      const info = status === undefined ? "exit 1" : `echo "Status: ${status}"`;
      fs.writeFileSync(path.join(dir, "incus"), `#!/bin/bash\necho "$*" >> "${dir}/calls"\n[ "$1" != info ] || ${info}\n`, { mode: 0o755 });
      const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, VEZA_REF: "cl:cl-haproxy" };
      execFileSync(BASH[0], [...BASH.slice(1), KEEPALIVED_DELETE_SCRIPT], { env, stdio: "pipe" });
      return fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  test("a running node stops keepalived, whose stop hands the address over (HAND_OVER_SCRIPT, swapScripts.test.ts runs it)", () => {
    expect(callsWith("RUNNING")).toEqual(["info cl:cl-haproxy", "exec cl:cl-haproxy -- systemctl disable --now --quiet keepalived"]);
  });

  test("a node stopped by an evacuation, or gone, has nothing to stop and is no error", () => {
    expect(callsWith("STOPPED")).toEqual(["info cl:cl-haproxy"]);
    expect(callsWith(undefined)).toEqual(["info cl:cl-haproxy"]);
  });
});

describe("launch and delete against a stub incus that says who owns the container", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-owner-"));
    // Every call is logged; `info` finds the container, `config get` prints STUB_OWNER.
    const stub = `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$1" in
  info) echo "Status: RUNNING" ;;
  config) [ "$2" = get ] && echo "$STUB_OWNER" ;;
esac
exit 0
`;
    fs.writeFileSync(path.join(dir, "incus"), stub, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs a host step as the components do; resolves with its exit status, stderr and the incus calls. */
  const step = (script: string, owner: string) => {
    const [shell, ...flags] = BASH;
    let status = 0;
    let stderr = "";
    try {
      execFileSync(shell, [...flags, script], {
        env: { PATH: `${dir}:${process.env.PATH}`, VEZA_REF: "lab-haproxy", VEZA_OWNER: "veza-infra/lab-twin", STUB_OWNER: owner },
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      status = (error as { status: number }).status;
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
    return { status, stderr, calls };
  };

  test("destroy leaves a container another stack owns in place: no stop, no delete", () => {
    const { status, calls } = step(DELETE_SCRIPT, "veza-infra/lab");
    expect(status).toBe(0);
    expect(calls).toEqual(["info lab-haproxy", "config get lab-haproxy user.veza.owner"]);
  });

  test("destroy stops and deletes the stack's own container", () => {
    expect(step(DELETE_SCRIPT, "veza-infra/lab-twin").calls.slice(2)).toEqual([
      "stop lab-haproxy --timeout 15",
      "delete --force lab-haproxy",
    ]);
  });

  test("launch refuses another stack's container, naming the owner, and changes nothing", () => {
    const { status, stderr, calls } = step(LAUNCH_SCRIPT, "veza-infra/lab");
    expect(status).toBe(1);
    expect(stderr).toContain("container lab-haproxy belongs to stack veza-infra/lab, not to veza-infra/lab-twin");
    expect(calls).toEqual(["info lab-haproxy", "config get lab-haproxy user.veza.owner"]);
  });
});
