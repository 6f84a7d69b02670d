/**
 * The pure parts of rollouts and drift: what the probe prints read back, what a step judges to
 * differ, the environment that keeps a repaired step from running twice, and the rollout's plan
 * and environment. The scripts themselves run on the lab (tests/lab/rollout.test.ts).
 */
import { driftOf, driftOption, parseProbe, probeEnvironment, sha256 } from "../../components/incus/liveState";
import { rolloutEnvironment, rolloutPlan } from "../../components/services/rollout";
import { rolloutFromSettings } from "../../stack/componentArgs";
import { DEFAULTS } from "../../stack/settings";

const PROGRAM = "/opt/veza/backend-api/backend-api";
const UNIT = "/etc/systemd/system/veza-backend-api.service";
const CFG = "/etc/haproxy/haproxy.cfg";
const A = "a".repeat(64);
const B = "b".repeat(64);

describe("the probe's output", () => {
  const live = parseProbe(
    [
      "lab-backend-api-1 status running",
      "lab-backend-api-1 config limits.cpu 2",
      "lab-backend-api-1 config limits.memory 256MiB",
      "lab-backend-api-1 config root.size -",
      `lab-backend-api-1 file ${PROGRAM} ${A}`,
      `lab-backend-api-1 file ${UNIT} -`,
      "lab-backend-api-1 unit veza-backend-api active",
      "lab-haproxy status running",
      `lab-haproxy file ${CFG} ${A} ${B}`,
      "lab-haproxy unit haproxy failed",
      "lab-backend-api-2 status stopped",
      "",
    ].join("\n"),
  );

  test("reads each container's status, files (missing as empty), recorded sums and units", () => {
    expect(live.get("lab-backend-api-1")).toEqual({
      status: "running",
      files: { [PROGRAM]: A, [UNIT]: "" },
      recorded: {},
      units: { "veza-backend-api": "active" },
      config: { "limits.cpu": "2", "limits.memory": "256MiB", "root.size": "" },
    });
    expect(live.get("lab-haproxy")?.recorded).toEqual({ [CFG]: B });
    expect(live.get("lab-backend-api-2")?.status).toBe("stopped");
    expect(live.get("lab-stream-server-1")).toBeUndefined();
  });

  test("judges drift in the step's own terms, and none where nothing was observed", () => {
    const service = live.get("lab-backend-api-1");
    expect(driftOf(service, { files: { [PROGRAM]: A }, units: ["veza-backend-api"] })).toEqual([]);
    expect(driftOf(service, { files: { [PROGRAM]: B, [UNIT]: A } })).toEqual([
      `${PROGRAM} differs (sha256 aaaaaaaaaaaa, expected bbbbbbbbbbbb)`,
      `${UNIT} is missing`,
    ]);
    expect(driftOf(live.get("lab-haproxy"), { recorded: [CFG], units: ["haproxy"] })).toEqual([
      `${CFG} was changed by hand (sha256 aaaaaaaaaaaa, installed as bbbbbbbbbbbb)`,
      "haproxy is failed",
    ]);
    expect(driftOf(live.get("lab-backend-api-2"), { files: { [PROGRAM]: A } })).toEqual(["the container is stopped"]);
    expect(driftOf(service, { config: { "limits.cpu": "1", "limits.memory": "256MiB", "root.size": "" } })).toEqual([
      'limits.cpu is "2", expected "1"',
    ]);
    expect(driftOf({ status: "absent", files: {}, recorded: {}, units: {}, config: {} }, {})).toEqual(["the container is missing"]);
    expect(driftOf(undefined, { files: { [PROGRAM]: A } })).toEqual([]);
  });

  test("a file with no recorded sum was not installed by this program: drift", () => {
    const fresh = parseProbe(`n status running\nn file ${CFG} ${A}\n`).get("n");
    expect(driftOf(fresh, { recorded: [CFG] })).toEqual([`${CFG} was changed by hand (sha256 aaaaaaaaaaaa, installed as unknown)`]);
  });

  test("the probe's environment lists paths and units, never a value of the stack beyond the container's name", () => {
    expect(probeEnvironment("", [{ ref: "lab-haproxy", files: [CFG], units: ["haproxy", "keepalived"] }])).toEqual({
      VEZA_REMOTE: "",
      VEZA_PROBES: `lab-haproxy ${CFG} haproxy,keepalived`,
    });
  });
});

describe("the drift entry", () => {
  const seen = new Date("2026-12-06T06:00:00Z");

  test("with drift: says what and when, so the step changes and runs; nothing ignored", () => {
    expect(driftOption(["the container is missing"], seen)).toEqual({
      environment: { VEZA_LIVE: "the container is missing (seen 2026-12-06T06:00:00.000Z)" },
      ignoreChanges: [],
    });
  });

  test("without: no entry, and the state's last one kept, so a repaired step does not run again", () => {
    expect(driftOption([], seen)).toEqual({ environment: {}, ignoreChanges: ["environment.VEZA_LIVE"] });
  });

  test("sha256 is the hex digest the probe prints", () => {
    expect(sha256("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});

describe("a fleet's rollout", () => {
  const options = rolloutFromSettings(DEFAULTS, "backend-api");

  test("its options come from the fleet's own keys", () => {
    expect(options).toEqual({ maxUnavailable: 1, drainTimeoutSeconds: 10, canarySeconds: 10, canaryMaxErrors: 0 });
    expect(rolloutFromSettings({ ...DEFAULTS, streamServerCanarySeconds: 0 }, "stream-server").canarySeconds).toBe(0);
  });

  test("the plan names the canary, then the batches, with the bounds; nothing when nothing rolls", () => {
    expect(rolloutPlan("backend-api", ["backend-api-1", "backend-api-2"], options, 30)).toBe(
      "backend-api rolls 2 instances: backend-api-1 first (canary, watched 10 s, at most 0 errors), then backend-api-2; " +
        "each drained (at most 10 s), restarted, and back once every HAProxy node sees it UP (at most 30 s)",
    );
    const five = ["s-1", "s-2", "s-3", "s-4", "s-5"];
    expect(rolloutPlan("stream-server", five, { ...options, maxUnavailable: 2, canarySeconds: 0 }, 30)).toContain(
      "s-1 first (canary, not watched), then s-2 + s-3, then s-4 + s-5;",
    );
    expect(rolloutPlan("backend-api", [], options, 30)).toBe("");
  });

  test("each instance's line carries its release, so a new one changes the step", () => {
    const target = {
      service: "backend-api" as const,
      programFile: "backend-api",
      port: 8080,
      healthPath: "/api/v1/health",
      startTimeoutSeconds: 30,
      backend: "api_pool",
      tunnelBackend: "api_ws",
      nodes: ["lab-haproxy", "lab-haproxy-2"],
    };
    const environment = rolloutEnvironment(
      target,
      [{ server: "backend-api-1", ref: "lab-backend-api-1", programSha256: A, unitSha256: B }],
      options,
    );
    expect(environment).toMatchObject({
      VEZA_INSTANCES: `backend-api-1 lab-backend-api-1 ${A.slice(0, 16)} ${B.slice(0, 16)}`,
      VEZA_NODES: "lab-haproxy lab-haproxy-2",
      VEZA_TUNNEL_BACKEND: "api_ws",
      VEZA_MAX_UNAVAILABLE: "1",
      VEZA_START_TIMEOUT: "30",
    });
  });
});
