/**
 * The real tools some unit tests drive (haproxy, openssl, keepalived). Missing on a workstation, those tests
 * are skipped with a loud warning; under CI=true they run anyway and fail, so CI cannot go green
 * without having checked anything.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SERVER_STATE_FILE, STATS_PASSWORD_ENV, TLS_PEM_PATH } from "../../../components/haproxy/haproxyConfig";

/** Stands in for the generated stats password wherever HAProxy has to read a config. */
export const TEST_STATS_PASSWORD = "unitTestStatsPassword0";

function available(tool: string, versionFlag: string): boolean {
  return spawnSync(tool, [versionFlag], { stdio: "ignore" }).status === 0;
}

/** `describe` when every tool is on PATH (or CI=true), else `describe.skip` after a warning. */
export function describeWithTools(tools: { name: string; versionFlag: string }[]): jest.Describe {
  const missing = tools.filter((t) => !available(t.name, t.versionFlag)).map((t) => t.name);
  if (missing.length === 0 || process.env.CI === "true") return describe;
  console.warn(
    `SKIPPED: ${missing.join(" and ")} not found on PATH, so the tests that run the real tool are skipped. Install it; under CI=true they fail instead.`,
  );
  return describe.skip;
}

export const HAPROXY = { name: "haproxy", versionFlag: "-v" };
export const OPENSSL = { name: "openssl", versionFlag: "version" };
export const KEEPALIVED = { name: "keepalived", versionFlag: "--version" };

/** Directories made by {@link tempDir}, removed by one exit listener however many there are. */
const tempDirs: string[] = [];

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `veza-${label}-`));
  if (tempDirs.length === 0) process.on("exit", () => tempDirs.forEach((made) => fs.rmSync(made, { recursive: true, force: true })));
  tempDirs.push(dir);
  return dir;
}

/** A throwaway self-signed certificate and its key, concatenated as HAProxy wants them. */
export function selfSignedPem(dir: string): string {
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  const made = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=veza.test"],
    { encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.stderr || made.error}`);
  const pem = path.join(dir, "veza.pem");
  fs.writeFileSync(pem, fs.readFileSync(cert, "utf8") + fs.readFileSync(key, "utf8"));
  return pem;
}

/** The one warning expected off the HAProxy host: no server-state file has been dumped yet. */
const NO_STATE_FILE = `Can't open global server state file '${SERVER_STATE_FILE}-`;

/**
 * Runs `haproxy -c` on a rendered config, with the certificate path pointed at `pem` (the real
 * one lives in the container) and, for a pair's file, HAProxy's own name `localPeer` (a node's
 * host name in its container). Returns HAProxy's verdict and every warning but the expected one.
 */
export function haproxyCheck(
  config: string,
  pem?: string,
  localPeer?: string,
): { status: number | null; output: string; warnings: string[] } {
  const dir = tempDir("check");
  const file = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(file, pem ? config.split(TLS_PEM_PATH).join(pem) : config);
  const run = spawnSync("haproxy", ["-c", ...(localPeer ? ["-L", localPeer] : []), "-f", file], {
    encoding: "utf8",
    env: { ...process.env, [STATS_PASSWORD_ENV]: TEST_STATS_PASSWORD },
  });
  if (run.error) throw new Error(`cannot run haproxy: ${run.error.message}`);
  const output = `${run.stdout}${run.stderr}`;
  const warnings = output.split("\n").filter((line) => line.includes("[WARNING]") && !line.includes(NO_STATE_FILE));
  return { status: run.status, output, warnings };
}

/**
 * Runs `keepalived -t` (parse and check the config, start nothing) on a rendered keepalived.conf.
 * As root: keepalived refuses a root-run script as insecure when it is not root itself.
 */
export function keepalivedCheck(config: string): { status: number | null; output: string } {
  const file = path.join(tempDir("keepalived"), "keepalived.conf");
  fs.writeFileSync(file, config);
  const run = spawnSync("keepalived", ["-t", "-f", file], { encoding: "utf8" });
  if (run.error) throw new Error(`cannot run keepalived: ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
