/**
 * The vocabulary every argument rule is written in: one {@link Rule} per argument path holds the
 * default, the range shown in docs, and the check. A component checks its own arguments with it
 * (problems name the argument path); the stack validator runs the same rules with a {@link Namer}
 * that names the stack-config key instead, so a rule is written once and read in either terms.
 */
import * as fs from "fs";

/** How a problem names what it is about: an argument path for a component, a stack-config key for a stack. */
export type Namer = (path: string) => string;

/** Names an argument by its own path, e.g. `healthCheck.fall`. */
export const argumentPath: Namer = (path) => path;

/** What a path names, links followed; "missing" also when a part of it is not a directory. */
export type FileKind = "file" | "directory" | "other" | "missing";

/** The file checks a rule needs; injected so tests need no real files. */
export interface FileAccess {
  kind(path: string): FileKind;
  /** The file's text; may throw when it cannot be read. */
  readText(path: string): string;
}

/** {@link FileAccess} over the Pulumi host's file system. */
export const LOCAL_FILES: FileAccess = {
  kind: (path) => {
    try {
      const stat = fs.statSync(path, { throwIfNoEntry: false });
      if (!stat) return "missing";
      return stat.isFile() ? "file" : stat.isDirectory() ? "directory" : "other";
    } catch {
      // ENOTDIR (a file used as a directory) and EACCES: nothing usable is there either.
      return "missing";
    }
  },
  readText: (path) => fs.readFileSync(path, "utf8"),
};

/** What a rule may look at besides its own value: the other arguments, how they are named, files. */
export interface RuleContext {
  /** The value at another path of the same arguments. */
  value(path: string): unknown;
  name: Namer;
  files: FileAccess;
}

/**
 * One argument's rule. `check` returns what follows the argument's name in each problem, e.g.
 * `must be an integer from 1 to 100 (got 0)`, or `[2] must be ...` for an item of a list.
 */
export interface Rule<T = unknown> {
  /** The value when the argument is left out. */
  readonly default: T;
  /** An integer's least and greatest value, which its TSDoc, Pulumi.yaml and docs/configuration.md state as `min..max`. */
  readonly bounds?: readonly [number, number];
  check(value: unknown, context: RuleContext): string[];
}

/** What JSON leaves raw but a terminal may act on: DEL, C1 controls (CSI among them), line and bidi controls. */
const TERMINAL_CONTROLS = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Longer strings are cut in messages, which must stay readable whatever was typed. */
const SHOWN_CHARS = 64;

/** JSON text with the characters a terminal could act on escaped too, so a message prints as plain text. */
export function escaped(json: string): string {
  return json.replace(TERMINAL_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** How a rejected value is shown: as JSON, so strings keep their quotes and lists their brackets. */
export function shown(value: unknown): string {
  if (typeof value === "string" && value.length > SHOWN_CHARS) {
    return `${escaped(JSON.stringify(value.slice(0, SHOWN_CHARS))).slice(0, -1)}..." (${value.length} characters)`;
  }
  return escaped(JSON.stringify(value) ?? String(value));
}

/** True for an integer from `min` to `max`. */
export const inRange = (value: unknown, min: number, max: number): value is number =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

/** An integer from `min` to `max`; `more` adds checks of a value already in range. */
export function integer(
  min: number,
  max: number,
  defaultValue: number,
  more: (value: number, context: RuleContext) => string[] = () => [],
): Rule<number> {
  return {
    default: defaultValue,
    bounds: [min, max],
    check: (value, context) =>
      inRange(value, min, max) ? more(value, context) : [`must be an integer from ${min} to ${max} (got ${shown(value)})`],
  };
}

export function flag(defaultValue: boolean): Rule<boolean> {
  return {
    default: defaultValue,
    check: (value) => (typeof value === "boolean" ? [] : [`must be true or false (got ${shown(value)})`]),
  };
}

/**
 * A string `accepts` says yes to; `must` completes the problem when it says no (`must be ...`).
 * Strings are held to allowlists, never denylists: their values end up in haproxy.cfg and in
 * shell scripts, and only characters that mean nothing in either are let through.
 */
export function text(accepts: RegExp | ((value: string) => boolean), must: string, defaultValue: string): Rule<string> {
  const test = typeof accepts === "function" ? accepts : (value: string) => accepts.test(value);
  return {
    default: defaultValue,
    check: (value) =>
      typeof value !== "string" ? [`must be a string (got ${shown(value)})`] : test(value) ? [] : [`${must} (got ${shown(value)})`],
  };
}

/** One of a few words. */
export function oneOf<T extends string>(values: readonly T[], defaultValue: T): Rule<T> {
  const words = values.map((v) => `"${v}"`).join(", ");
  return {
    default: defaultValue,
    check: (value) => (values.includes(value as T) ? [] : [`must be one of ${words} (got ${shown(value)})`]),
  };
}

/** A list of strings, each one `item` accepts; `whole` checks the list itself. */
export function list(
  item: { accepts: (value: string) => boolean; must: string },
  defaultValue: string[],
  whole: (items: string[], context: RuleContext) => string[] = () => [],
): Rule<string[]> {
  return {
    default: defaultValue,
    check: (value, context) => {
      if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string"))
        return [`must be a list of strings (got ${shown(value)})`];
      const items = value as string[];
      return [
        ...whole(items, context),
        ...items.flatMap((entry, i) => (item.accepts(entry) ? [] : [`[${i}] ${item.must} (got ${shown(entry)})`])),
      ];
    },
  };
}

/** Rules by argument path, in the order their problems are reported. */
export type Rules = Readonly<Record<string, Rule>>;

/** Every problem of `values` (read by path) under `rules`, each starting with the name `name` gives. */
export function problemsOf(rules: Rules, value: (path: string) => unknown, name: Namer, files: FileAccess = LOCAL_FILES): string[] {
  const context: RuleContext = { value, name, files };
  return Object.entries(rules).flatMap(([path, rule]) =>
    rule.check(value(path), context).map((finding) => `${name(path)}${finding.startsWith("[") ? "" : " "}${finding}`),
  );
}

type Groups = { [key: string]: unknown };
const isGroup = (value: unknown): value is Groups => typeof value === "object" && value !== null && !Array.isArray(value);

/** The value at a dotted path of nested groups, e.g. `pools.backendApi.port`. */
export function atPath(tree: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (isGroup(node) ? node[key] : undefined), tree);
}

/**
 * Nested groups with every path of `rules` set: the given value where there is one, else the
 * rule's default. Only the rules' paths are read, so other fields (a pool's servers) are left out.
 */
export function completed<T>(rules: Rules, given: unknown): T {
  const tree: Groups = {};
  for (const [path, rule] of Object.entries(rules)) {
    const keys = path.split(".");
    const group = keys.slice(0, -1).reduce((node, key) => (node[key] ??= {}) as Groups, tree);
    const value = atPath(given, path) ?? rule.default;
    // A copy, so a caller that edits its arguments cannot edit a shared default.
    group[keys[keys.length - 1]] = Array.isArray(value) ? [...value] : value;
  }
  return tree as T;
}
