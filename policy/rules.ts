/**
 * The organisation's rules for veza-infra stacks, as pure functions over what a stack will look
 * like: its name, its validated settings (the program's `settings` output) and the haproxy.cfg
 * each HAProxy node will run. These are not input validation (the program refuses bad values
 * itself): every value here is valid, but some are not what the organisation runs outside a lab.
 * index.ts turns each rule into a Pulumi stack policy; nothing here needs Pulumi.
 */

/** Pulumi's enforcement levels, of those a rule uses: mandatory fails the preview, advisory warns. */
export type Level = "mandatory" | "advisory";

/** What the rules judge; built from the stack's resources by {@link stackFacts}. */
export interface StackFacts {
  stack: string;
  /** The program's `settings` stack output; undefined when the stack exports none (or not yet known). */
  settings: Record<string, unknown> | undefined;
  /** The haproxy.cfg (VEZA_CONFIG of its apply step) of every HAProxy node, when known: a preview of new containers knows none. */
  haproxyConfigs: string[];
}

export interface Rule {
  /** The name a waiver gives, e.g. `tls-outside-lab: ...`. */
  name: string;
  level: Level;
  description: string;
  /** One message per violation; empty when the stack complies. */
  check(facts: StackFacts): string[];
}

/** Stacks that are labs, not platforms: one host, HTTP, throwaway data. */
export const LAB_STACKS: readonly string[] = ["lab", "bench"];

/** Stack-config key of the waivers, as the program declares it. */
export const WAIVERS_KEY = "veza-infra:policyWaivers";

/**
 * A setting's value, or a violation naming why it cannot be checked: a stack whose settings are
 * not visible must not pass for lack of evidence.
 */
function setting(facts: StackFacts, key: string): { value: unknown } | { missing: string } {
  if (!facts.settings) return { missing: "the stack exports no `settings` output (an older program?), so it cannot be checked" };
  return { value: facts.settings[key] };
}

/** A check of one integer setting against a floor. */
function atLeast(key: string, floor: number, why: string): (facts: StackFacts) => string[] {
  return (facts) => {
    const read = setting(facts, key);
    if ("missing" in read) return [`veza-infra:${key}: ${read.missing}`];
    return typeof read.value === "number" && read.value >= floor
      ? []
      : [`veza-infra:${key} is ${JSON.stringify(read.value)}; keep it at ${floor} or more: ${why}`];
  };
}

/** The `bind` lines of the `listen stats` section of a haproxy.cfg. */
function statsBinds(config: string): string[] {
  const section = config.split(/^listen stats$/m)[1];
  if (section === undefined) return [];
  return section
    .split(/^\S/m)[0]
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("bind "));
}

export const RULES: readonly Rule[] = [
  {
    name: "tls-outside-lab",
    level: "mandatory",
    description: `Stacks other than ${LAB_STACKS.join(" and ")} serve HTTPS: veza-infra:tlsCertPath names the certificate.`,
    check: (facts) => {
      if (LAB_STACKS.includes(facts.stack)) return [];
      const read = setting(facts, "tlsCertPath");
      if ("missing" in read) return [`veza-infra:tlsCertPath: ${read.missing}`];
      return read.value
        ? []
        : [`stack ${facts.stack} would serve plain HTTP: set veza-infra:tlsCertPath to a PEM with the certificate and key`];
    },
  },
  {
    name: "health-check-fall",
    level: "mandatory",
    description: "veza-infra:healthCheckFall is at least 2, so one lost check does not take a healthy server out.",
    check: atLeast("healthCheckFall", 2, "at 1 a single lost health check marks a healthy server DOWN and cuts its WebSockets"),
  },
  {
    name: "slow-start",
    level: "advisory",
    description: "veza-infra:gracefulDrainSeconds (slow start) is at least 10, so a recovered server is not flooded at once.",
    check: atLeast("gracefulDrainSeconds", 10, "a server back from DOWN would take its full share of traffic with cold caches at once"),
  },
  {
    name: "stats-on-loopback",
    level: "mandatory",
    description: "The stats page is bound on 127.0.0.1 only, in the haproxy.cfg that would go live.",
    check: (facts) =>
      facts.haproxyConfigs.flatMap((config) => {
        const binds = statsBinds(config);
        if (binds.length === 0) return ["the haproxy.cfg has no `listen stats` bind to check"];
        return binds
          .filter((bind) => !/^bind 127\.0\.0\.1:\d+$/.test(bind))
          .map((bind) => `the stats page would listen off loopback: \`${bind}\``);
      }),
  },
  {
    name: "two-haproxy-nodes",
    level: "advisory",
    description: `Stacks other than ${LAB_STACKS.join(" and ")} run at least two HAProxy nodes (veza-infra:haproxyCount, once the program has it).`,
    check: (facts) => {
      const count = facts.settings?.haproxyCount;
      if (LAB_STACKS.includes(facts.stack) || count === undefined) return [];
      return typeof count === "number" && count >= 2
        ? []
        : [`veza-infra:haproxyCount is ${JSON.stringify(count)}: one HAProxy node is a single point of failure`];
    },
  },
  {
    name: "rate-limits-outside-lab",
    level: "advisory",
    description: `Stacks other than ${LAB_STACKS.join(" and ")} keep the per-client limits on (veza-infra:rateLimitEnabled).`,
    check: (facts) => {
      if (LAB_STACKS.includes(facts.stack)) return [];
      const read = setting(facts, "rateLimitEnabled");
      if ("missing" in read) return [`veza-infra:rateLimitEnabled: ${read.missing}`];
      return read.value === true
        ? []
        : [
            `veza-infra:rateLimitEnabled is ${JSON.stringify(read.value) ?? "unset (a program without edge protection)"}: one client can take as much of the edge as it likes and every backend pays for it`,
          ];
    },
  },
];

export const RULE_NAMES: readonly string[] = RULES.map((rule) => rule.name);

/** A waiver's reason: plain words, as it is shown in every preview. */
const REASON = /^[A-Za-z0-9 .,;:()/'#_+-]{1,200}$/;
export const WAIVER_FORMAT = `"<rule>: <reason>" with <rule> one of ${RULE_NAMES.join(", ")} and a reason of 1 to 200 letters, digits, spaces and .,;:()/'#_+-`;

/** A waiver item `rule: reason`; undefined when it is not one, or names no rule of {@link RULES}. */
export function parseWaiver(item: string): { rule: string; reason: string } | undefined {
  const match = /^([a-z0-9-]+): *(.*)$/.exec(item);
  if (!match || !RULE_NAMES.includes(match[1]) || !REASON.test(match[2])) return undefined;
  return { rule: match[1], reason: match[2] };
}

/** The waivers in the settings, by rule; items that do not parse are the program's to refuse. */
export function waivers(facts: StackFacts): Map<string, string> {
  const items = facts.settings?.policyWaivers;
  const parsed = (Array.isArray(items) ? items : []).map((item) => (typeof item === "string" ? parseWaiver(item) : undefined));
  return new Map(parsed.flatMap((waiver) => (waiver ? [[waiver.rule, waiver.reason] as const] : [])));
}

/**
 * The violations of one rule, or, when the stack waives it, one advisory line saying so with the
 * reason, so a waiver stays visible in every preview.
 */
export function evaluate(rule: Rule, facts: StackFacts): { level: Level; messages: string[] } {
  const reason = waivers(facts).get(rule.name);
  const messages = rule.check(facts);
  if (reason === undefined) return { level: rule.level, messages };
  return { level: "advisory", messages: messages.map((message) => `waived by ${WAIVERS_KEY} ("${reason}"): ${message}`) };
}

/** A resource as the rules read it: `get` returns undefined for what is not known yet (preview). */
export interface ResourceView {
  urn: string;
  type: string;
  get(...path: string[]): unknown;
}

/** The stack's name, from a resource URN `urn:pulumi:<stack>::<project>::...`. */
export function stackOf(urn: string): string {
  return urn.split(":")[2] ?? "";
}

/** The facts of a stack from its resources (their outputs, as Pulumi's stack policies see them). */
export function stackFacts(resources: readonly ResourceView[]): StackFacts {
  const root = resources.find((r) => r.type === "pulumi:pulumi:Stack");
  const settings = root?.get("settings");
  const configs = resources
    .filter((r) => r.type === "command:local:Command")
    .map((r) => r.get("environment", "VEZA_CONFIG"))
    .filter((config): config is string => typeof config === "string");
  return {
    stack: stackOf(resources[0]?.urn ?? ""),
    settings: typeof settings === "object" && settings !== null ? (settings as Record<string, unknown>) : undefined,
    haproxyConfigs: configs,
  };
}
