/**
 * What each stack-config key feeds: a component argument, or the program itself. The
 * configuration table of docs/configuration.md shows this column, and a unit test holds the two together.
 */
import { FEEDS } from "./fields";
import { Settings } from "./settings";

/** Keys no component takes: they shape the program or the policy pack. */
const PROGRAM_FEEDS = {
  backendApiCount: "index.ts: how many BackendApiInstance",
  streamServerCount: "index.ts: how many StreamServerInstance",
  namePrefix: "index.ts: every `containerName`",
  policyWaivers: "policy pack (policy/)",
  haproxyCount: "index.ts: a HaproxyNode (1) or a HaproxyPair (2)",
} as const;

/** The "feeds" cell of every key in docs/configuration.md. */
export function configFeeds(): Record<keyof Settings, string> {
  const entries = [
    ...FEEDS.flatMap(({ feeds, fields }) => Object.entries(fields).map(([key, path]) => [key, feeds(path)])),
    ...Object.entries(PROGRAM_FEEDS),
  ];
  return Object.fromEntries(entries) as Record<keyof Settings, string>;
}
