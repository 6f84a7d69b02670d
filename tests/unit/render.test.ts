import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HAPROXY, OPENSSL, describeWithTools, haproxyCheck, selfSignedPem, tempDir } from "./helpers/tools";

const ROOT = path.join(__dirname, "..", "..");
const FIXTURES = path.join(__dirname, "..", "fixtures");

/** Runs scripts/render.ts as `npm run render` does (ts-node; type-checking is tsc's job, not this test's). */
function render(...args: string[]) {
  const run = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "scripts/render.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

jest.setTimeout(60_000);

describe("npm run render", () => {
  let lab: ReturnType<typeof render>;
  beforeAll(() => {
    lab = render("--stack", "lab");
  });

  test("--stack lab prints the config, sample addresses said so at the top", () => {
    expect(lab.stderr).toBe("");
    expect(lab.status).toBe(0);
    expect(lab.stdout.split("\n")[0]).toBe(
      "# render: sample upstream addresses (10.77.0.11..); the deploy uses the addresses Incus assigns.",
    );
    expect(lab.stdout).toContain("\n    server backend-api-1 10.77.0.11:8080 cookie backend-api-1\n");
    expect(lab.stdout).toContain("\n    server backend-api-2 10.77.0.12:8080 cookie backend-api-2\n");
    expect(lab.stdout).toMatch(/\n {4}server stream-server-1 10\.77\.0\.13:8082 id \d+ weight 256\n/);
    expect(lab.stdout).toContain("\n    bind :80\n");
    // Pulumi.lab.yaml is the pair: its nodes share the limits' counts, as deployed.
    expect(lab.stdout.split("\n")[1]).toBe(
      "# render: sample addresses of the pair's nodes (10.77.0.5, 10.77.0.6), named as their containers.",
    );
    expect(lab.stdout).toContain("\npeers veza_edge\n    peer lab-haproxy 10.77.0.5:10000\n    peer lab-haproxy-2 10.77.0.6:10000\n");
  });

  test("--settings with upstreams and fallbacks renders them, no sample note", () => {
    const run = render("--settings", path.join(FIXTURES, "settings-fallback.json"));
    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain("sample upstream addresses");
    expect(run.stdout).toContain("\n    server fallback-1 10.0.0.5:8080 cookie fallback-1 init-addr libc,none\n");
    expect(run.stdout).toContain("\n    server fallback-2 localhost:9080 cookie fallback-2 init-addr libc,none\n");
    expect(run.stdout).toMatch(/\n {4}server stream-server-1 10\.77\.0\.40:8082 id \d+ weight 256\n/);
  });

  test("bad settings exit 1 with every problem, naming each key, unknown ones too", () => {
    const run = render("--settings", path.join(FIXTURES, "settings-bad.json"));
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      [
        "invalid stack configuration (7 problems):",
        "  - veza-infra:healthcheckfall is not a setting of this project; did you mean veza-infra:healthCheckFall?",
        // The components' rules first, in the order of their option groups; then the stack's own.
        "  - veza-infra:httpsPort must be an integer from 1 to 65535 (got 0)",
        "  - veza-infra:statsPort must differ from veza-infra:httpPort: both would listen on port 80",
        "  - veza-infra:healthCheckFall must be an integer from 1 to 100 (got 0)",
        `  - veza-infra:stickyCookieName must be an RFC 6265 cookie name of 1 to 64 letters, digits, '-', '.' or '_' (got "VEZA SERVERID")`,
        `  - veza-infra:streamPathPrefixes[0] must be a URL path: '/' then letters, digits and -._~/:@+,= only (no %), at most 256 characters (got "hls/")`,
        '  - veza-infra:drainServers[0] must name a server of this stack: backend-api-1..backend-api-2, stream-server-1..stream-server-2 (got "backend-api-7")',
        "",
      ].join("\n"),
    );
  });

  test("an unknown key, a missing stack and a bad command line exit 1 with the reason", () => {
    const dir = tempDir("render");
    const typo = path.join(dir, "typo.json");
    fs.writeFileSync(typo, JSON.stringify({ settings: { healthCheckFalls: 3 } }));
    const cases: [string[], string][] = [
      [
        ["--settings", typo],
        "invalid stack configuration (1 problem):\n  - veza-infra:healthCheckFalls is not a setting of this project; did you mean veza-infra:healthCheckFall?\n",
      ],
      [["--stack", "nosuchstack"], `no stack file ${path.join(ROOT, "Pulumi.nosuchstack.yaml")}\n`],
      [[], "usage: npm run render -- --stack <name> | --settings <file.json>\n"],
    ];
    for (const [args, message] of cases) {
      const run = render(...args);
      expect(run.stderr).toBe(message);
      expect(run.status).toBe(1);
    }
  });

  describeWithTools([HAPROXY, OPENSSL])("output accepted by the real haproxy -c", () => {
    test("--stack lab, as its first node loads it", () => {
      const verdict = haproxyCheck(lab.stdout, undefined, "lab-haproxy");
      expect(verdict.status).toBe(0);
      expect(verdict.warnings).toEqual([]);
    });

    test("--settings with TLS on", () => {
      const dir = tempDir("render-tls");
      const pem = selfSignedPem(dir);
      const file = path.join(dir, "settings-tls.json");
      fs.writeFileSync(file, JSON.stringify({ settings: { tlsCertPath: pem, httpsPort: 8443 } }));
      const run = render("--settings", file);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain("\n    bind :8443 ssl crt /etc/haproxy/certs/veza.pem alpn h2,http/1.1\n");
      const verdict = haproxyCheck(run.stdout, pem);
      expect(verdict.status).toBe(0);
      expect(verdict.warnings).toEqual([]);
    });
  });
});
