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
} from "../../components/haproxyNode";
import { KEEPALIVED_DELETE_SCRIPT, KEEPALIVED_IN_CONTAINER, KEEPALIVED_SCRIPT, ROLLOUT_SCRIPT } from "../../components/haproxyPair";
import { DELETE_SCRIPT, INSTALL_NEXT, LAUNCH_SCRIPT, WAIT_FOR_ADDRESS, WRITE_FILE } from "../../components/incusScripts";
import { LIMITS_SCRIPT } from "../../components/instanceLimits";
import { DEPLOY_SCRIPT, LAYOUT, START_AND_WAIT } from "../../components/serviceInstance";

const GOLDEN_DIR = path.join(__dirname, "..", "golden", "scripts");

/** Host-side steps run by bash (components' BASH interpreter); in-container parts by Debian's sh (dash). */
const HOST: Record<string, string> = {
  launch: LAUNCH_SCRIPT,
  delete: DELETE_SCRIPT,
  limits: LIMITS_SCRIPT,
  deploy: DEPLOY_SCRIPT,
  "haproxy-setup": SETUP_SCRIPT,
  "haproxy-apply-config": APPLY_CONFIG_SCRIPT,
  "haproxy-pair-rollout": ROLLOUT_SCRIPT,
  "haproxy-pair-keepalived": KEEPALIVED_SCRIPT,
  "haproxy-pair-keepalived-delete": KEEPALIVED_DELETE_SCRIPT,
};
const IN_CONTAINER: Record<string, string> = {
  "wait-for-address": WAIT_FOR_ADDRESS,
  "write-file": WRITE_FILE,
  "install-next": `${INSTALL_NEXT}\ninstall_next "$1"\necho "$changed"`,
  "service-layout": LAYOUT,
  "service-start-and-wait": START_AND_WAIT,
  "haproxy-setup-in-container": SETUP_IN_CONTAINER,
  "haproxy-check-candidate": CHECK_CANDIDATE,
  "haproxy-swap-and-reload": SWAP_AND_RELOAD,
  "keepalived-in-container": KEEPALIVED_IN_CONTAINER,
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
