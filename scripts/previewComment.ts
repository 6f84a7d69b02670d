/**
 * The Markdown of a pull-request comment about a stack's preview, as pure functions: resource
 * changes (from `pulumi preview --json`), stack-config changes, the policy verdict and the diff of
 * the haproxy.cfg that would go live against the live one (from `pulumi stack export`). No secret
 * may reach the comment: values Pulumi marks secret, and values of keys named like one, are
 * redacted wherever they would appear. scripts/previewPr.ts runs the commands around it.
 */
import { load } from "js-yaml";

/** One step of `pulumi preview --json` (its PreviewDigest), as far as the comment reads it. */
export interface PreviewStep {
  op: string;
  urn: string;
  newState?: { type?: string; inputs?: Record<string, unknown> };
  oldState?: { type?: string };
  diffReasons?: string[] | null;
  replaceReasons?: string[] | null;
}

export interface PreviewDigest {
  steps?: PreviewStep[];
  diagnostics?: { urn?: string; message?: string; severity?: string }[];
}

/** The subset of `pulumi stack export` the comment reads. */
export interface StateExport {
  deployment?: { resources?: { urn: string; type?: string; outputs?: Record<string, unknown> }[] };
}

/** One stack-config key whose value differs; undefined stands for "not set". */
export interface ConfigChange {
  key: string;
  before: unknown;
  after: unknown;
}

/** The policy pack's verdict: whether the preview passed it, and its report as Pulumi printed it. */
export interface PolicyVerdict {
  passed: boolean;
  report: string;
}

/** Pulumi's marker of a secret value in serialized state (`"4dabf18193072939515e22adc298388d": "1b47..."`). */
const SECRET_SIG = "4dabf18193072939515e22adc298388d";
/** Pulumi's placeholder for a value not known until the update runs. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Keys whose values are treated as secrets whatever Pulumi says of them. */
export const SECRET_KEY = /password|secret|key|token|pem/i;
const REDACTED = "[secret]";
/**
 * Shorter values are redacted where they are shown as values, but not searched for in the text:
 * a three-letter "secret" would blank out every word it occurs in and say which one it was.
 */
const MIN_SCRUBBED = 4;

const isSecret = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && SECRET_SIG in value;

function parsedOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Every secret string in a document: the plaintext of values marked secret, and string values of secret-named keys. */
export function secretStrings(document: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown, secret: boolean): void => {
    if (typeof value === "string") {
      if (secret) found.push(value);
    } else if (Array.isArray(value)) {
      value.forEach((item) => walk(item, secret));
    } else if (isSecret(value)) {
      // State keeps a secret's plaintext JSON-encoded: the strings inside are the secrets.
      if (typeof value.plaintext === "string") walk(parsedOr(value.plaintext), true);
      Object.entries(value).forEach(([key, inner]) => key !== SECRET_SIG && walk(inner, true));
    } else if (typeof value === "object" && value !== null) {
      Object.entries(value).forEach(([key, inner]) => walk(inner, secret || SECRET_KEY.test(key)));
    }
  };
  walk(document, false);
  return [...new Set(found)].filter((s) => s.length >= MIN_SCRUBBED).sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of each secret replaced by a placeholder. */
export function scrub(text: string, secrets: readonly string[]): string {
  return secrets.reduce((result, secret) => result.split(secret).join(REDACTED), text);
}

/** The `config:` map of a Pulumi.<stack>.yaml text; an absent file has none. */
export function stackConfig(yamlText: string | undefined): Record<string, unknown> {
  if (yamlText === undefined) return {};
  const parsed = load(yamlText) as { config?: Record<string, unknown> } | null;
  return parsed?.config ?? {};
}

/** Keys set, removed or changed between two config maps, sorted by key. */
export function configChanges(before: Record<string, unknown>, after: Record<string, unknown>): ConfigChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .map((key) => ({ key, before: before[key], after: after[key] }));
}

/** A config value as shown: encrypted (`secure:`) values and secret-named keys never are. */
function shownValue(key: string, value: unknown): string {
  if (value === undefined) return "_(not set)_";
  const secure = typeof value === "object" && value !== null && "secure" in value;
  if (secure || SECRET_KEY.test(key.split(":").pop() ?? key)) return `\`${REDACTED}\``;
  return `\`${JSON.stringify(value)}\``;
}

/** The resource name of a URN (its last `::` part). */
const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
const typeOf = (step: PreviewStep) => step.newState?.type ?? step.oldState?.type ?? urn2type(step.urn);
const urn2type = (urn: string) => (urn.split("::")[2] ?? "").split("$").pop() ?? "";

/** The steps of a preview that change something, replacements counted once. */
const COUNTED = ["create", "update", "replace", "delete"] as const;

/** haproxy.cfg live now: VEZA_CONFIG of the `haproxy-config` step in the stack's state. */
export function liveHaproxyConfig(state: StateExport): string | undefined {
  const resource = state.deployment?.resources?.find((r) => r.urn.endsWith("::haproxy-config"));
  const environment = resource?.outputs?.environment;
  if (isSecret(environment)) return undefined;
  const config = (environment as Record<string, unknown> | undefined)?.VEZA_CONFIG;
  return typeof config === "string" ? config : undefined;
}

/** haproxy.cfg the update would apply: "unknown" while it depends on containers not made yet. */
export function plannedHaproxyConfig(preview: PreviewDigest): string | "unknown" | undefined {
  const step = preview.steps?.find((s) => s.urn.endsWith("::haproxy-config") && s.op !== "delete");
  const environment = step?.newState?.inputs?.environment;
  if (environment === UNKNOWN || isSecret(environment)) return "unknown";
  const config = (environment as Record<string, unknown> | undefined)?.VEZA_CONFIG;
  if (config === UNKNOWN) return "unknown";
  return typeof config === "string" ? config : undefined;
}

/** A unified diff (3 lines of context) of two texts, line by line; empty when they are equal. */
export function unifiedDiff(before: string, after: string, beforeLabel: string, afterLabel: string): string {
  // A final newline ends the last line; it does not start another.
  const linesOf = (text: string) => (text === "" ? [] : text.replace(/\n$/, "").split("\n"));
  const a = linesOf(before);
  const b = linesOf(after);
  // Longest common subsequence table, from the ends: lcs[i][j] is for a[i..], b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const lines: { tag: " " | "-" | "+"; text: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) lines.push({ tag: " ", text: a[i], ai: i++, bi: j++ });
    // Removals before additions, as diff -u prints a changed line.
    else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) lines.push({ tag: "-", text: a[i], ai: i++, bi: j });
    else lines.push({ tag: "+", text: b[j], ai: i, bi: j++ });
  }
  const changed = lines.map((line, k) => (line.tag === " " ? -1 : k)).filter((k) => k >= 0);
  if (changed.length === 0) return "";
  // Hunks: changed lines with 3 lines of context, merged when their context touches.
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const [start, end] = [Math.max(0, k - 3), Math.min(lines.length - 1, k + 3)];
    const last = hunks[hunks.length - 1];
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else hunks.push([start, end]);
  }
  const body = hunks.map(([start, end]) => {
    const part = lines.slice(start, end + 1);
    const count = (tag: string) => part.filter((line) => line.tag === " " || line.tag === tag).length;
    const header = `@@ -${part[0].ai + 1},${count("-")} +${part[0].bi + 1},${count("+")} @@`;
    return [header, ...part.map((line) => `${line.tag}${line.text}`)].join("\n");
  });
  return [`--- ${beforeLabel}`, `+++ ${afterLabel}`, ...body].join("\n");
}

/** What changes in a step, as its property names. */
function reasons(step: PreviewStep): string {
  const keys = step.op === "replace" ? step.replaceReasons : step.diffReasons;
  return keys && keys.length > 0 ? ` (${keys.map((k) => `\`${k}\``).join(", ")})` : "";
}

/**
 * The comment for `stack`: a pure function of the preview, the state it would change, the
 * stack-config changes and the policy verdict (none when the repository has no policy pack).
 */
export function renderComment(
  stack: string,
  preview: PreviewDigest,
  state: StateExport,
  config: ConfigChange[],
  policy?: PolicyVerdict,
): string {
  const steps = (preview.steps ?? []).filter((s) => (COUNTED as readonly string[]).includes(s.op));
  const counts = COUNTED.map((op) => `${steps.filter((s) => s.op === op).length} to ${op}`).join(", ");
  const containers = steps.filter((s) => (s.op === "replace" || s.op === "delete") && nameOf(s.urn).endsWith("-launch"));
  const out: string[] = [`## \`pulumi preview\` of stack \`${stack}\``, ""];

  for (const s of containers) {
    out.push(
      `> [!WARNING]`,
      `> **${s.op === "replace" ? "REPLACES" : "DELETES"} CONTAINER \`${nameOf(s.urn).replace(/-launch$/, "")}\`** (\`${nameOf(s.urn)}\`): its service is gone while this runs; check that this is meant.`,
      "",
    );
  }

  out.push(`### Resources: ${counts}`, "");
  if (steps.length === 0) out.push("No resource changes.");
  for (const s of steps) out.push(`- **${s.op}** \`${nameOf(s.urn)}\` (${typeOf(s)})${reasons(s)}`);
  const errors = (preview.diagnostics ?? []).filter((d) => d.severity === "error" && d.message);
  if (errors.length > 0) out.push("", "Errors:", "", "```", ...errors.map((d) => d.message!.trim()), "```");

  out.push("", `### Stack config (\`Pulumi.${stack}.yaml\`)`, "");
  if (config.length === 0) out.push("No config changes.");
  else
    out.push(
      "| key | before | after |",
      "| --- | --- | --- |",
      ...config.map((c) => `| \`${c.key}\` | ${shownValue(c.key, c.before)} | ${shownValue(c.key, c.after)} |`),
    );

  if (policy) {
    out.push("", `### Policy pack: ${policy.passed ? "passed" : "**FAILED** (a mandatory rule is broken)"}`, "");
    const report = policy.report.replace(/^\s*\n|\s+$/g, "");
    out.push(report ? ["```", report, "```"].join("\n") : "No violations.");
  }

  out.push("", "### haproxy.cfg", "");
  const live = liveHaproxyConfig(state);
  const planned = plannedHaproxyConfig(preview);
  if (planned === "unknown") out.push("Not known before the update: it depends on containers the update creates.");
  else if (planned === undefined) out.push("The preview has no HAProxy config step.");
  else {
    const diff = unifiedDiff(
      live ?? "",
      planned,
      live === undefined ? "/dev/null (no live config)" : "live haproxy.cfg",
      "haproxy.cfg after this change",
    );
    out.push(diff ? ["```diff", diff, "```"].join("\n") : "Unchanged.");
  }
  const secrets = [...new Set([...secretStrings(preview), ...secretStrings(state)])].sort((a, b) => b.length - a.length);
  return `${scrub(out.join("\n"), secrets)}\n`;
}
