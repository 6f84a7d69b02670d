/**
 * A pull-request check's runner, played on the lab host (docs/pr-checks.md): a HOME and an incus
 * client config of its own, no path to the daemon's unix socket, and the lab's Incus known only
 * as an HTTPS remote, set up by scripts/incus-remote.sh (what the workflow runs) with a client
 * certificate restricted to the `default` project. `npm run preview:pr` of a config edit writes
 * the same comment there as on the host; with a certificate the server does not trust it fails
 * with the one message that says so. Read-only on the lab: previews only; the edit lives in
 * Pulumi.<stack>.yaml for the test's length. Everything the test adds (the trusted certificate,
 * the HTTPS listener when there was none, the edit) it removes.
 */
import { X509Certificate } from "crypto";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LabOutputs, REPO, STACK, incus, outputs, run } from "./harness";

jest.setTimeout(20 * 60_000);

/** The runner's name for the lab's Incus; the lab stack's incusRemote is empty, so it is the client's default. */
const REMOTE = "veza-lab";
/** Where the API listens when nothing else made it listen: loopback only. */
const LISTEN = "127.0.0.1:8443";
const EDIT = 'veza-infra:gracefulDrainSeconds: "20"';
const STACK_FILE = path.join(REPO, `Pulumi.${STACK}.yaml`);

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "veza-pr-check-"));
const original = fs.readFileSync(STACK_FILE, "utf8");
let lab: LabOutputs;
let listenerAdded = false;
let trusted = "";
let url = "";
let serverCert = "";

/** A client certificate and key, as `incus remote generate-certificate` makes them in a scratch config dir. */
async function newClient(name: string): Promise<{ cert: string; key: string }> {
  const conf = path.join(scratch, `certificate-${name}`);
  await run("incus", ["remote", "generate-certificate"], { env: { ...process.env, INCUS_CONF: conf } });
  return { cert: fs.readFileSync(path.join(conf, "client.crt"), "utf8"), key: fs.readFileSync(path.join(conf, "client.key"), "utf8") };
}

/**
 * The runner's environment for a client: its own HOME and incus config (scripts/incus-remote.sh
 * writes it), a daemon socket that does not exist; pulumi, node and incus from PATH, the lab's
 * backend and passphrase, and Pulumi's plugins where the lab set-up installed them.
 */
async function runner(name: string, client: { cert: string; key: string }): Promise<NodeJS.ProcessEnv> {
  const home = path.join(scratch, `home-${name}`);
  fs.mkdirSync(home);
  const keep = [
    "PATH",
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_SKIP_UPDATE_CHECK",
    "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING",
  ];
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(keep.filter((key) => process.env[key] !== undefined).map((key) => [key, process.env[key]])),
    HOME: home,
    PULUMI_HOME: process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"),
    INCUS_CONF: path.join(home, ".config", "incus"),
    INCUS_DIR: path.join(scratch, "no-incus-dir"),
    INCUS_SOCKET: path.join(scratch, "no-incus-dir", "unix.socket"),
  };
  await run("bash", ["scripts/incus-remote.sh"], {
    env: {
      ...env,
      VEZA_INCUS_REMOTE: REMOTE,
      VEZA_INCUS_URL: url,
      VEZA_INCUS_PROJECT: "default",
      VEZA_INCUS_SERVER_CERT: serverCert,
      VEZA_INCUS_CLIENT_CERT: client.cert,
      VEZA_INCUS_CLIENT_KEY: client.key,
    },
  });
  return env;
}

/** `npm run preview:pr` of the lab stack: its exit status, the comment it wrote and its stderr. */
function previewPr(env: NodeJS.ProcessEnv, name: string): Promise<{ status: number; comment: string; stderr: string }> {
  const out = path.join(scratch, `${name}.md`);
  return new Promise((resolve) => {
    execFile(
      "npm",
      ["run", "--silent", "preview:pr", "--", "--stack", STACK, "--out", out],
      { cwd: REPO, env, maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 },
      (error, _stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ status, comment: fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "", stderr });
      },
    );
  });
}

beforeAll(async () => {
  lab = await outputs();
  let address = await incus("config", "get", "core.https_address");
  if (address === "") {
    await incus("config", "set", "core.https_address", LISTEN);
    listenerAdded = true;
    address = LISTEN;
  }
  // An address of every interface (":8443", "0.0.0.0:8443", "[::]:8443") is reached on loopback.
  url = `https://${address.replace(/^(0\.0\.0\.0|\[::\])?:/, "127.0.0.1:")}`;
  serverCert = (JSON.parse(await incus("query", "/1.0")) as { environment: { certificate: string } }).environment.certificate;
  fs.writeFileSync(STACK_FILE, original.replace(/^config:\n/m, `config:\n  ${EDIT}\n`));
});

afterAll(async () => {
  fs.writeFileSync(STACK_FILE, original);
  if (trusted) await incus("config", "trust", "remove", trusted);
  if (listenerAdded) await incus("config", "unset", "core.https_address");
  fs.rmSync(scratch, { recursive: true, force: true });
});

test("a runner that knows the lab's Incus only over HTTPS, with a restricted certificate, writes the host's comment", async () => {
  const client = await newClient("trusted");
  await incus(
    "config",
    "trust",
    "add-certificate",
    path.join(scratch, "certificate-trusted", "client.crt"),
    "--restricted",
    "--projects",
    "default",
    "--name",
    `veza-pr-check-${process.pid}`,
  );
  trusted = new X509Certificate(client.cert).fingerprint256.replace(/:/g, "").toLowerCase();
  const env = await runner("trusted", client);
  // The runner has no way to the daemon but HTTPS.
  await expect(run("incus", ["query", "local:/1.0"], { env })).rejects.toThrow("doesn't appear to be started");
  expect(JSON.parse(await run("incus", ["query", "/1.0"], { env })).auth).toBe("trusted");

  const local = await previewPr(process.env, "local");
  const remote = await previewPr(env, "runner");
  console.log(`runner's comment (exit ${remote.status}):\n${remote.comment}${remote.stderr}`);
  expect(local.status).toBe(0);
  expect(remote.status).toBe(0);
  expect(remote.comment).toBe(local.comment);

  const [first, second] = lab.haproxyContainers;
  expect(remote.comment).toContain("- **update** `haproxy-pair-config` (command:local:Command) (`environment`)");
  expect(remote.comment).toContain('| `veza-infra:gracefulDrainSeconds` | _(not set)_ | `"20"` |');
  expect(remote.comment).toContain("### Policy pack: passed");
  expect(remote.comment).toContain(`\`haproxy-pair-config\` (\`${first}\`, \`${second}\`):`);
  // One diff for the pair: both nodes serve the same file.
  expect(remote.comment.match(/^--- /gm)).toHaveLength(1);
  expect(remote.comment).toContain(`--- live haproxy.cfg on ${first}, ${second}`);
  expect(remote.comment).toMatch(/^-.* slowstart 30s .*\n\+.* slowstart 20s /m);
});

test("a runner whose certificate the server does not trust gets the one message that says so", async () => {
  const env = await runner("untrusted", await newClient("untrusted"));
  const refused = await previewPr(env, "untrusted");
  console.log(`untrusted runner (exit ${refused.status}):\n${refused.comment}\nstderr:\n${refused.stderr}`);
  expect(refused.status).toBe(1);
  const message = `cannot list the instances (incus query) on Incus remote "${REMOTE}": certificate refused`;
  expect(refused.comment).toContain(message);
  // One message: no other Incus call of the program adds its own.
  expect(refused.comment.match(/^error: /gm)).toHaveLength(1);
  expect(refused.stderr.match(/^error: /gm)).toHaveLength(1);
  expect(refused.comment).toContain("docs/pr-checks.md");
  expect(refused.comment).toContain("### Policy pack: **did not run**");
});
