/**
 * The policy pack's rules (policy/rules.ts) as pure functions: each fires on a stack that breaks
 * it and is quiet on the lab's defaults; waivers turn a rule into a warning that names its reason.
 */
import { DEFAULTS, Settings } from "../../stack/settings";
import { SettingsError, validateSettings } from "../../stack/validation";
import { RULES, ResourceView, StackFacts, evaluate, parseWaiver, stackFacts, stackOf } from "../../policy/rules";
import { stackHaproxyConfig } from "../../stack/componentArgs";

const FLEETS = {
  backendApi: [{ name: "backend-api-1", address: "10.77.0.11" }],
  streamServer: [{ name: "stream-server-1", address: "10.77.0.12" }],
};
const LAB_SETTINGS: Settings = { ...DEFAULTS, namePrefix: "lab-" };

function facts(stack: string, overrides: Partial<Settings> = {}): StackFacts {
  const settings = { ...LAB_SETTINGS, ...overrides };
  return { stack, settings: { ...settings }, haproxyConfigs: [stackHaproxyConfig(settings, FLEETS)] };
}

/** Every violation, by rule name, of the facts. */
function violations(given: StackFacts): Record<string, string[]> {
  return Object.fromEntries(RULES.map((rule) => [rule.name, rule.check(given)]).filter(([, messages]) => messages.length > 0));
}

/** A production stack as the organisation wants it: an HAProxy pair. */
const PROD = { haproxyCount: 2, virtualIp: "10.77.0.200" };
const PROD_TLS = { ...PROD, tlsCertPath: "/etc/veza/prod.pem" };

describe("the rules", () => {
  test.each(["lab", "bench"])("are all quiet on the %s stack with the defaults", (stack) => {
    expect(violations(facts(stack))).toEqual({});
  });

  test("are all quiet on a production stack with TLS and the defaults", () => {
    expect(violations(facts("prod", PROD_TLS))).toEqual({});
  });

  test("tls-outside-lab: a stack other than lab and bench without a certificate", () => {
    expect(violations(facts("prod", PROD))).toEqual({
      "tls-outside-lab": ["stack prod would serve plain HTTP: set veza-infra:tlsCertPath to a PEM with the certificate and key"],
    });
  });

  test("health-check-fall: fall 1 marks a server DOWN on one lost check", () => {
    expect(violations(facts("lab", { healthCheckFall: 1 }))).toEqual({
      "health-check-fall": [
        "veza-infra:healthCheckFall is 1; keep it at 2 or more: at 1 a single lost health check marks a healthy server DOWN and cuts its WebSockets",
      ],
    });
  });

  test.each([0, 9])("slow-start: a ramp of %i s", (seconds) => {
    expect(Object.keys(violations(facts("lab", { gracefulDrainSeconds: seconds })))).toEqual(["slow-start"]);
  });

  test("slow-start: 10 s is enough", () => {
    expect(violations(facts("lab", { gracefulDrainSeconds: 10 }))).toEqual({});
  });

  test("stats-on-loopback: a stats bind on every address, and a config without a stats section", () => {
    const [config] = facts("lab").haproxyConfigs;
    const opened = config.replace("    bind 127.0.0.1:9100\n", "    bind :9100\n");
    const withoutStats = config.split("\nlisten stats\n").join("\nlisten other\n");
    expect(violations({ ...facts("lab"), haproxyConfigs: [opened, withoutStats] })).toEqual({
      "stats-on-loopback": [
        "the stats page would listen off loopback: `bind :9100`",
        "the haproxy.cfg has no `listen stats` bind to check",
      ],
    });
  });

  test("stats-on-loopback: quiet when no config is known yet (a preview of new containers)", () => {
    expect(violations({ ...facts("lab"), haproxyConfigs: [] })).toEqual({});
  });

  test("two-haproxy-nodes: silent until the program has haproxyCount, then at least 2 outside the lab", () => {
    const withCount = (stack: string, haproxyCount: number) => {
      const given = facts(stack, PROD_TLS);
      return violations({ ...given, settings: { ...given.settings, haproxyCount } });
    };
    expect(withCount("prod", 1)).toEqual({
      "two-haproxy-nodes": ["veza-infra:haproxyCount is 1: one HAProxy node is a single point of failure"],
    });
    expect(withCount("prod", 2)).toEqual({});
    expect(withCount("lab", 1)).toEqual({});
  });

  test("rate-limits-outside-lab: limits off, or a program without them, outside lab and bench", () => {
    const message = "one client can take as much of the edge as it likes and every backend pays for it";
    expect(violations(facts("prod", { ...PROD_TLS, rateLimitEnabled: false }))).toEqual({
      "rate-limits-outside-lab": [`veza-infra:rateLimitEnabled is false: ${message}`],
    });
    const older = facts("prod", PROD_TLS);
    delete older.settings?.rateLimitEnabled;
    expect(violations(older)).toEqual({
      "rate-limits-outside-lab": [`veza-infra:rateLimitEnabled is unset (a program without edge protection): ${message}`],
    });
    expect(violations(facts("lab", { rateLimitEnabled: false }))).toEqual({});
    expect(violations(facts("bench", { rateLimitEnabled: false }))).toEqual({});
  });

  test("a stack whose settings are not visible fails the rules that need them instead of passing", () => {
    expect(Object.keys(violations({ ...facts("prod"), settings: undefined }))).toEqual([
      "tls-outside-lab",
      "health-check-fall",
      "slow-start",
      "rate-limits-outside-lab",
    ]);
    expect(violations({ ...facts("lab"), settings: undefined })["health-check-fall"]).toEqual([
      "veza-infra:healthCheckFall: the stack exports no `settings` output (an older program?), so it cannot be checked",
    ]);
  });

  test("have the levels the organisation set", () => {
    expect(Object.fromEntries(RULES.map((rule) => [rule.name, rule.level]))).toEqual({
      "tls-outside-lab": "mandatory",
      "health-check-fall": "mandatory",
      "slow-start": "advisory",
      "stats-on-loopback": "mandatory",
      "two-haproxy-nodes": "advisory",
      "rate-limits-outside-lab": "advisory",
    });
  });
});

describe("waivers", () => {
  const rule = (name: string) => RULES.find((r) => r.name === name)!;

  test("turn a mandatory violation into a warning carrying the reason", () => {
    const waived = facts("staging", { policyWaivers: ["tls-outside-lab: HTTP-only staging behind the CDN"] });
    expect(evaluate(rule("tls-outside-lab"), waived)).toEqual({
      level: "advisory",
      messages: [
        'waived by veza-infra:policyWaivers ("HTTP-only staging behind the CDN"): stack staging would serve plain HTTP: set veza-infra:tlsCertPath to a PEM with the certificate and key',
      ],
    });
    expect(evaluate(rule("health-check-fall"), { ...waived, settings: { ...waived.settings, healthCheckFall: 1 } }).level).toBe(
      "mandatory",
    );
  });

  test.each([
    ["tls-outside-lab: HTTP-only staging", { rule: "tls-outside-lab", reason: "HTTP-only staging" }],
    ["slow-start:cold caches are fine here (ticket OPS-12)", { rule: "slow-start", reason: "cold caches are fine here (ticket OPS-12)" }],
  ])("parse %s", (item, expected) => expect(parseWaiver(item)).toEqual(expected));

  test.each([
    "tls-outside-lab",
    "tls-outside-lab: ",
    "no-such-rule: why",
    "tls: why",
    "slow-start: $(reboot)",
    "tls-outside-lab:\n lab only",
    "tls-outside-lab:\tlab only",
    `slow-start: ${"x".repeat(201)}`,
  ])("refuse %s", (item) => {
    expect(parseWaiver(item)).toBeUndefined();
  });

  test("are validated by the program with every other setting, naming the rules", () => {
    let problems: readonly string[] = [];
    try {
      validateSettings({ ...LAB_SETTINGS, policyWaivers: ["tls-outside-lab: fine", "tls-everywhere: typo"] });
    } catch (error) {
      problems = (error as SettingsError).problems;
    }
    expect(problems).toEqual([
      `veza-infra:policyWaivers[1] must be "<rule>: <reason>" with <rule> one of tls-outside-lab, health-check-fall, slow-start, stats-on-loopback, two-haproxy-nodes, rate-limits-outside-lab and a reason of 1 to 200 letters, digits, spaces and .,;:()/'#_+- (got "tls-everywhere: typo")`,
    ]);
  });
});

describe("stackFacts", () => {
  const view = (urn: string, type: string, outputs: Record<string, unknown>): ResourceView => ({
    urn,
    type,
    get: (...path) => path.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], outputs),
  });
  const urn = (type: string, name: string) => `urn:pulumi:ops-prod::veza-infra::${type}::${name}`;

  test("reads the stack name, the settings output and each known haproxy.cfg", () => {
    const resources = [
      view(urn("pulumi:pulumi:Stack", "veza-infra-ops-prod"), "pulumi:pulumi:Stack", {
        settings: LAB_SETTINGS,
        lbUrl: "http://10.77.0.5/",
      }),
      view(urn("veza:infra:HaproxyNode$command:local:Command", "haproxy-config"), "command:local:Command", {
        environment: { VEZA_CONFIG: "global\n" },
      }),
      // A preview of a new container does not know its config yet; `get` gives undefined.
      view(urn("veza:infra:HaproxyNode$command:local:Command", "haproxy-2-config"), "command:local:Command", {}),
      view(urn("veza:infra:BackendApiInstance$command:local:Command", "backend-api-1-deploy"), "command:local:Command", {
        environment: { VEZA_REF: "x" },
      }),
    ];
    expect(stackFacts(resources)).toEqual({ stack: "ops-prod", settings: LAB_SETTINGS, haproxyConfigs: ["global\n"] });
  });

  test("has no settings when the stack exports none", () => {
    expect(stackFacts([view(urn("pulumi:pulumi:Stack", "s"), "pulumi:pulumi:Stack", {})]).settings).toBeUndefined();
    expect(stackOf("urn:pulumi:lab::veza-infra::pulumi:pulumi:Stack::veza-infra-lab")).toBe("lab");
  });
});
