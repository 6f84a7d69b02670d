/**
 * The limits step run for real under bash against a fake `incus` that keeps one container's config
 * in a temporary directory and logs every write: only what differs is written, empty removes.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BASH } from "../../components/incus/incusScripts";
import { LIMITS_SCRIPT, completeLimits, limitsEnvironment } from "../../components/incus/instanceLimits";
import { limitsFromSettings } from "../../stack/componentArgs";
import { DEFAULTS } from "../../stack/settings";

/** `incus config [device] get|set|unset REF …` over files in $FAKE_STATE, refusing to unset what is not set, as Incus does. */
const FAKE_INCUS = `#!/bin/sh
set -eu
[ "$1" = config ] || exit 2
shift
[ "$1" != device ] || shift
key=\${3%%=*}; value=\${3#*=}
[ "$key" != root ] || { key=root.\${4%%=*}; value=\${4#*=}; }
case "$1" in
  get) cat "$FAKE_STATE/$key" 2>/dev/null || true; echo ;;
  set) echo "set $key=$value" >> "$FAKE_STATE/writes"; printf '%s' "$value" > "$FAKE_STATE/$key" ;;
  unset)
    [ -e "$FAKE_STATE/$key" ] || { echo "Error: Can't unset key '$key', it's not currently set" >&2; exit 1; }
    echo "unset $key" >> "$FAKE_STATE/writes"; rm "$FAKE_STATE/$key" ;;
esac
`;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "veza-limits-"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.mkdirSync(path.join(dir, "state"));
  fs.writeFileSync(path.join(dir, "bin", "incus"), FAKE_INCUS, { mode: 0o755 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the step for `limits` and returns the writes it made. */
function apply(limits: Parameters<typeof completeLimits>[0]): string[] {
  const writes = path.join(dir, "state", "writes");
  fs.rmSync(writes, { force: true });
  const result = spawnSync(BASH[0], [...BASH.slice(1), LIMITS_SCRIPT], {
    env: {
      PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
      FAKE_STATE: path.join(dir, "state"),
      ...limitsEnvironment("lab-backend-api-1", completeLimits(limits).limits),
    },
    encoding: "utf8",
    // Not node's stdin socket: Debian's bash would take it for sshd's and read bash.bashrc.
    stdio: ["ignore", "pipe", "pipe"],
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return fs.existsSync(writes) ? fs.readFileSync(writes, "utf8").trim().split("\n") : [];
}

test("a new container gets the defaults; the same values again write nothing", () => {
  expect(apply({})).toEqual(["set limits.cpu=1", "set limits.memory=256MiB"]);
  expect(apply({})).toEqual([]);
});

test("a changed value is written alone; no limit and the pool's size remove the key", () => {
  apply({});
  expect(apply({ memory: "512MiB", rootSize: "2GiB" })).toEqual(["set limits.memory=512MiB", "set root.size=2GiB"]);
  expect(apply({ cpu: 0, memory: "", rootSize: "" })).toEqual(["unset limits.cpu", "unset limits.memory", "unset root.size"]);
});

test("the settings' limits per role are the argument's defaults", () => {
  for (const role of ["haproxy", "backend-api", "stream-server"] as const) {
    expect(completeLimits().limits).toEqual(limitsFromSettings(DEFAULTS, role));
  }
  expect(limitsFromSettings({ ...DEFAULTS, streamServerLimitsCpu: 2, backendApiLimitsCpu: 0 }, "stream-server").cpu).toBe(2);
});
