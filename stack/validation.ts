/**
 * Validation of the stack's settings before anything is created: every problem is collected and
 * reported in one error, each line naming the `veza-infra:<key>` to fix and what it accepts. A key
 * feeding a component is checked by that component's own rule (stack/fields.ts says which); what
 * only the stack knows (fleet sizes, names, the pair, waivers, this host) is checked here.
 */
import { WAIVER_FORMAT, parseWaiver } from "../policy/rules";
import { INCUS_NAME_RULE, isIncusName } from "../components/common/checks";
import { FileAccess, LOCAL_FILES, RuleContext, atPath, escaped, inRange, problemsOf, shown } from "../components/common/rules";
import { virtualIpProblem, virtualIpRule } from "../components/haproxy/haproxyRules";
import { FEEDS, LIMITS_FIELDS, VRRP_FIELDS, argumentsOf } from "./fields";
import { CONFIG_NAMESPACE, DEFAULTS, RawSettings, Settings, configKey, containerName, fleetNames, haproxyNames } from "./settings";

/** Thrown by {@link validateSettings}; the message lists every problem, one per line. */
export class SettingsError extends Error {
  /** One line per problem, each starting with the `veza-infra:<key>` it is about. */
  public readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(
      `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "SettingsError";
    this.problems = problems;
  }
}

/** Keys no component's rule checks: the shape of the stack itself. */
const PROGRAM_RANGES = {
  backendApiCount: [0, 32],
  streamServerCount: [0, 32],
  haproxyCount: [1, 2],
} as const;

/** Keys the stack checks itself although a component rule declares them: optional here, required there. */
const STACK_CHECKED: readonly (keyof typeof VRRP_FIELDS)[] = ["virtualIp"];

/** Edit distance (insertions, deletions, substitutions) between two strings. */
function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The setting a mistyped key most likely meant: nearest ignoring case within 3 edits, else one of the same letters. */
function closestSetting(typed: string): keyof Settings | undefined {
  const settings = Object.keys(DEFAULTS) as (keyof Settings)[];
  const letters = (text: string) => [...text.toLowerCase()].sort().join("");
  // A stable sort: on a tie the setting declared first wins, so the suggestion never varies.
  const [nearest] = settings
    .map((key) => ({ key, distance: levenshtein(typed.toLowerCase(), key.toLowerCase()) }))
    .sort((a, b) => a.distance - b.distance);
  if (nearest.distance <= 3) return nearest.key;
  return settings.find((key) => letters(key) === letters(typed));
}

/**
 * One problem per key of the project's namespace that is not a setting, e.g. from every key of
 * `pulumi.runtime.allConfig()`: a mistyped key would otherwise be ignored and its default used
 * without a word. Keys of other namespaces (providers, other projects) are not ours to judge.
 */
export function unknownKeyProblems(keys: readonly string[]): string[] {
  const namespace = `${CONFIG_NAMESPACE}:`;
  return keys
    .filter((key) => key.startsWith(namespace) && !Object.hasOwn(DEFAULTS, key.slice(namespace.length)))
    .map((key) => {
      const guess = closestSetting(key.slice(namespace.length));
      const hint = guess ? `did you mean ${configKey(guess)}?` : `the settings are the ${namespace} keys of Pulumi.yaml`;
      return `${escaped(JSON.stringify(key).slice(1, -1))} is not a setting of this project; ${hint}`;
    });
}

/** How a component's rules see the settings of one group of keys: each argument read from, and named as, its key. */
function feedContext(fields: Readonly<Record<string, string>>, raw: RawSettings | Settings, files: FileAccess): RuleContext {
  const keyOf = new Map(Object.entries(fields).map(([key, path]) => [path, key]));
  const args = argumentsOf(fields, raw);
  return {
    value: (path) => atPath(args, path),
    name: (path) => {
      const key = keyOf.get(path);
      return key ? configKey(key as keyof Settings) : path;
    },
    files,
  };
}

/**
 * The problems of every key feeding a component, by that component's rules, each naming the key.
 * A key feeding two components is checked once, by the first.
 */
function componentProblems(raw: RawSettings | Settings, files: FileAccess): string[] {
  const checked = new Set<string>(STACK_CHECKED);
  return FEEDS.flatMap(({ fields, rules }) => {
    const keyOf = new Map(Object.entries(fields).map(([key, path]) => [path, key]));
    const own = Object.entries(rules(raw.haproxyCount === 2)).filter(([path]) => {
      const key = keyOf.get(path);
      if (key === undefined || checked.has(key)) return false;
      checked.add(key);
      return true;
    });
    const context = feedContext(fields, raw, files);
    return problemsOf(Object.fromEntries(own), context.value, context.name, files);
  });
}

/**
 * Checks every setting and returns them typed, or throws one {@link SettingsError} listing every
 * problem found. Files named by the settings (TLS PEM, binaries) are looked up through `files`.
 * `configKeys` are the full keys the stack sets (any namespace), checked by {@link unknownKeyProblems}.
 * `localCpus`, the CPUs of the Pulumi host, bounds the CPU limits when the containers run there
 * (veza-infra:incusRemote empty); a component, which may be placed anywhere, passes none.
 */
export function validateSettings(
  raw: RawSettings | Settings,
  files: FileAccess = LOCAL_FILES,
  configKeys: readonly string[] = [],
  localCpus?: number,
): Settings {
  const problems: string[] = [...unknownKeyProblems(configKeys), ...componentProblems(raw, files)];
  const problem = (key: keyof Settings, text: string) => problems.push(`${configKey(key)} ${text}`);
  const valid = (key: keyof typeof PROGRAM_RANGES) => inRange(raw[key], PROGRAM_RANGES[key][0], PROGRAM_RANGES[key][1]);
  for (const key of Object.keys(PROGRAM_RANGES) as (keyof typeof PROGRAM_RANGES)[]) {
    const [min, max] = PROGRAM_RANGES[key];
    if (!valid(key)) problem(key, `must be an integer from ${min} to ${max} (got ${shown(raw[key])})`);
  }
  /** The value of a key when it is a list of strings; its rule reports it otherwise. */
  const strings = (key: keyof Settings): string[] | undefined => {
    const value = raw[key];
    return Array.isArray(value) && value.every((item) => typeof item === "string") ? (value as string[]) : undefined;
  };

  for (const [key, count] of [
    ["backendApiMaxUnavailable", "backendApiCount"],
    ["streamServerMaxUnavailable", "streamServerCount"],
  ] as const) {
    const size = raw[count] as number;
    if (inRange(raw[key], 1, 31) && valid(count) && size >= 2 && (raw[key] as number) >= size) {
      problem(
        key,
        `must be below ${configKey(count)} (${size}), so that a rollout never restarts the whole fleet (got ${shown(raw[key])})`,
      );
    }
  }

  for (const fields of Object.values(LIMITS_FIELDS)) {
    const cpu = Object.keys(fields)[0] as keyof Settings;
    if (localCpus !== undefined && raw.incusRemote === "" && inRange(raw[cpu], 0, 256) && (raw[cpu] as number) > localCpus) {
      problem(
        cpu,
        `must be an integer from 0 (no limit) to ${localCpus}, the CPUs of this host, where the containers run while ${configKey("incusRemote")} is empty (got ${shown(raw[cpu])})`,
      );
    }
  }

  const counts = {
    backendApiCount: valid("backendApiCount") ? (raw.backendApiCount as number) : 0,
    streamServerCount: valid("streamServerCount") ? (raw.streamServerCount as number) : 0,
  };
  const names = fleetNames(counts);
  const haproxyCount = valid("haproxyCount") ? (raw.haproxyCount as number) : 1;
  const prefix = raw.namePrefix;
  if (typeof prefix !== "string") problem("namePrefix", `must be a string (got ${shown(prefix)})`);
  else {
    const bad = [...haproxyNames(haproxyCount), ...names.backendApi, ...names.streamServer]
      .map((name) => containerName(prefix, name))
      .find((name) => !isIncusName(name));
    if (bad !== undefined)
      problem("namePrefix", `gives the container name ${shown(bad)}, but Incus names must be ${INCUS_NAME_RULE} (got ${shown(prefix)})`);
  }

  const virtualIp = raw.virtualIp;
  if (typeof virtualIp !== "string") problem("virtualIp", `must be a string (got ${shown(virtualIp)})`);
  else {
    // Judged on the segment the vrrp* keys describe, which the message names by their keys.
    const segment = feedContext(VRRP_FIELDS, raw, files);
    const conflict = virtualIp === "" ? undefined : virtualIpProblem(virtualIp, segment);
    if (conflict) {
      problem("virtualIp", `must be empty or ${virtualIpRule(segment)} (got ${shown(virtualIp)}: ${conflict})`);
    } else if (virtualIp === "" && raw.haproxyCount === 2) {
      problem(
        "virtualIp",
        `must be ${virtualIpRule(segment)} when ${configKey("haproxyCount")} is 2: clients reach the pair there (got "")`,
      );
    } else if (virtualIp !== "" && raw.haproxyCount === 1) {
      problem(
        "virtualIp",
        `must be empty while ${configKey("haproxyCount")} is 1: a single HAProxy is reached at its own address (got ${shown(virtualIp)})`,
      );
    }
  }

  for (const [count, fallback] of [
    ["backendApiCount", "backendApiFallbackServers"],
    ["streamServerCount", "streamServerFallbackServers"],
  ] as const) {
    if (strings(fallback)?.length === 0 && raw[count] === 0) {
      problem(fallback, `must list at least one host:port when ${configKey(count)} is 0, or the pool would have no server (got [])`);
    }
  }

  // An invalid count is named as the cause, not shown as the count 0 it is checked as here.
  const fleetRange = (fleet: string[], kind: string, count: keyof typeof counts) => {
    if (!valid(count)) return `no ${kind} while ${configKey(count)}=${shown(raw[count])} is invalid`;
    return fleet.length === 0 ? `no ${kind} (count 0)` : `${fleet[0]}..${fleet[fleet.length - 1]}`;
  };
  const known = new Set([...names.backendApi, ...names.streamServer]);
  strings("drainServers")?.forEach((server, i) => {
    if (!known.has(server)) {
      problems.push(
        `${configKey("drainServers")}[${i}] must name a server of this stack: ${fleetRange(names.backendApi, "backend-api", "backendApiCount")}, ` +
          `${fleetRange(names.streamServer, "stream-server", "streamServerCount")} (got ${shown(server)})`,
      );
    }
  });

  const waivers = strings("policyWaivers");
  if (!waivers) problem("policyWaivers", `must be a list of strings (got ${shown(raw.policyWaivers)})`);
  waivers?.forEach((waiver, i) => {
    if (!parseWaiver(waiver)) problems.push(`${configKey("policyWaivers")}[${i}] must be ${WAIVER_FORMAT} (got ${shown(waiver)})`);
  });

  if (problems.length > 0) throw new SettingsError(problems);
  return raw as Settings;
}
