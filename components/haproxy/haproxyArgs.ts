/**
 * The HAProxy option groups (haproxyOptions.ts) completed with their defaults and checked, both by
 * the rules of haproxyRules.ts: what a node renders haproxy.cfg from.
 */
import type { HaproxyOptions } from "./haproxyOptions";
import { haproxyRules } from "./haproxyRules";
import { FileAccess, LOCAL_FILES, Namer, argumentPath, atPath, completed, problemsOf } from "../common/rules";

/** Every field required, down the groups; lists stay lists. */
export type DeepRequired<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends readonly unknown[]
    ? NonNullable<T[K]>
    : NonNullable<T[K]> extends object
      ? DeepRequired<NonNullable<T[K]>>
      : NonNullable<T[K]>;
};

/** {@link HaproxyOptions} with every default filled in: what haproxy.cfg is rendered from. */
export type CompleteHaproxyOptions = DeepRequired<HaproxyOptions>;

/** Dotted paths to every leaf of `T`, e.g. `pools.backendApi.port`. */
export type LeafPaths<T> = {
  [K in keyof T & string]: T[K] extends readonly unknown[] ? K : T[K] extends object ? `${K}.${LeafPaths<T[K]>}` : K;
}[keyof T & string];

/** The option groups as given, every field left out taking its default; other fields (pool servers) are left out. */
export function completeHaproxyOptions(options: HaproxyOptions<unknown>): CompleteHaproxyOptions {
  return completed(haproxyRules(false), options);
}

/**
 * Every problem of complete options, each naming its path (or what `name` makes of it); `paired`
 * for a node of a pair, whose listeners must keep off the peers port.
 */
export function haproxyProblems(
  options: CompleteHaproxyOptions,
  paired: boolean,
  name: Namer = argumentPath,
  files: FileAccess = LOCAL_FILES,
): string[] {
  return problemsOf(haproxyRules(paired), (path) => atPath(options, path), name, files);
}
