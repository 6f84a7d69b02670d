/**
 * The Markdown of a pull-request comment about a stack's preview, as pure functions: resource
 * changes (from `pulumi preview --json`), stack-config changes, the policy verdict and the diff of
 * the haproxy.cfg that would go live against the one each HAProxy container serves. No secret
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
  /** Why the pack judged nothing (it could not load, the preview failed before it ran); then `passed` is false and `report` is what Pulumi said. */
  notRun?: string;
}

/** A section of Pulumi's text output (`Policies:`, `Diagnostics:`): its lines up to the next section. */
function outputSection(output: string, title: string): string {
  const lines = output.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`${title}:`));
  if (start < 0) return "";
  const end = lines.findIndex((line, i) => i > start && /^\S/.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/**
 * The verdict of `pulumi preview --policy-pack` from its exit status and output. A pack that
 * could not load (its dependencies not installed, a type error) fails the preview as a broken
 * mandatory rule does, but reports no rule: then Pulumi's diagnostics and errors say why.
 */
export function policyVerdict(run: { status: number; stdout: string; stderr: string }): PolicyVerdict {
  const report = outputSection(run.stdout, "Policies");
  if (run.status === 0 || report.includes("[mandatory]")) return { passed: run.status === 0, report };
  const said = [outputSection(run.stdout, "Diagnostics"), run.stderr].map((text) => text.trim()).filter((text) => text !== "");
  return {
    passed: false,
    report: (said.length > 0 ? said.join("\n") : run.stdout.trim()).slice(0, 2000),
    notRun: `The pack could not load or run (pulumi exited with status ${run.status}); Pulumi said:`,
  };
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

/** Every secret of a preview and the state it would change, longest first (so none is half-replaced). */
export function previewSecrets(preview: PreviewDigest, state: StateExport): string[] {
  return [...new Set([...secretStrings(preview), ...secretStrings(state)])].sort((a, b) => b.length - a.length);
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

/** A step that applies haproxy.cfg: a single node's `<node>-config`, or a pair's `<pair>-config`. */
const HAPROXY_CONFIG_STEP = /veza:infra:Haproxy(Node|Pair)\$command:local:Command::[^:]+-config$/;

/** One haproxy.cfg the update would apply, and the containers it goes to. */
export interface PlannedHaproxyConfig {
  /** Name of the step that applies it, e.g. `haproxy-pair-config`. */
  step: string;
  /** The containers, as `incus` names them (`remote:name` on a remote); none while not known. */
  refs: string[];
  /** The file; "unknown" while it depends on containers not made yet. */
  config: string | "unknown";
}

/** Every haproxy.cfg the update would apply, one per config step: one for a node, one for a pair. */
export function plannedHaproxyConfigs(preview: PreviewDigest): PlannedHaproxyConfig[] {
  const steps = new Map<string, PreviewStep>();
  for (const s of preview.steps ?? []) {
    if (HAPROXY_CONFIG_STEP.test(s.urn) && !s.op.startsWith("delete") && !steps.has(s.urn)) steps.set(s.urn, s);
  }
  return [...steps.values()].map((s) => {
    const environment = s.newState?.inputs?.environment;
    const known = environment !== UNKNOWN && !isSecret(environment) ? (environment as Record<string, unknown> | undefined) : undefined;
    const targets = known?.VEZA_REFS ?? known?.VEZA_REF;
    const config = known?.VEZA_CONFIG;
    return {
      step: nameOf(s.urn),
      refs: typeof targets === "string" && targets !== UNKNOWN ? targets.split(" ") : [],
      config: typeof config === "string" && config !== UNKNOWN ? config : "unknown",
    };
  });
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

/**
 * The preview's error messages, each once: an error raised where every resource's inputs wait
 * (the ownership check: Incus unreachable) reaches Pulumi once per resource, in the same words.
 */
export function previewErrors(preview: PreviewDigest): string[] {
  return [...new Set((preview.diagnostics ?? []).filter((d) => d.severity === "error" && d.message).map((d) => d.message!.trim()))];
}

/** What changes in a step, as its property names. */
function reasons(step: PreviewStep): string {
  const keys = step.op === "replace" ? step.replaceReasons : step.diffReasons;
  return keys && keys.length > 0
    ? ` (${[...keys]
        .sort()
        .map((k) => `\`${k}\``)
        .join(", ")})`
    : "";
}

/**
 * One config step's part of the comment: the diff of the file against what each of its nodes
 * serves now, once for all the nodes that serve the same file (both nodes of a healthy pair).
 */
function haproxyConfigSection(step: string, refs: string[], config: string, live: LiveHaproxyConfigs): string[] {
  const head = `\`${step}\`${refs.length > 0 ? ` (${refs.map((ref) => `\`${ref}\``).join(", ")})` : ""}:`;
  if (config === "unknown") return [head, "", "Not known before the update: it depends on containers the update creates.", ""];
  const groups = new Map<string | undefined, string[]>();
  for (const ref of refs) groups.set(live.get(ref), [...(groups.get(live.get(ref)) ?? []), ref]);
  return [head, ""].concat(
    [...groups].flatMap(([now, nodes]) => {
      const on = nodes.join(", ");
      const diff = unifiedDiff(
        now ?? "",
        config,
        now === undefined ? `/dev/null (no haproxy.cfg on ${on})` : `live haproxy.cfg on ${on}`,
        "haproxy.cfg after this change",
      );
      return [diff ? ["```diff", diff, "```"].join("\n") : `Unchanged on ${on}.`, ""];
    }),
  );
}

/** haproxy.cfg as each HAProxy container serves it now, by its `incus` name; undefined where it has none yet. */
export type LiveHaproxyConfigs = ReadonlyMap<string, string | undefined>;

/**
 * What each fleet's rollout will restart, in order and with which settings: the line FleetRollout
 * logs at preview (components/services/fleetRollout.ts), sorted so the comment does not move between runs.
 */
export function rolloutPlans(preview: PreviewDigest): string[] {
  const plans = (preview.diagnostics ?? []).filter((d) => d.severity === "info" && d.urn?.includes("veza:infra:FleetRollout") && d.message);
  return [...new Set(plans.map((d) => d.message!.trim()))].sort();
}

/**
 * The comment for `stack`: a pure function of the preview, the state it would change, the
 * stack-config changes, the policy verdict (none when the repository has no policy pack) and the
 * haproxy.cfg live on the containers the preview's config steps go to.
 */
export function renderComment(
  stack: string,
  preview: PreviewDigest,
  state: StateExport,
  config: ConfigChange[],
  policy: PolicyVerdict | undefined,
  live: LiveHaproxyConfigs,
): string {
  // Pulumi lists steps, and a step's reasons, in the order its workers finish them, which differs
  // between two previews of the same change: sorted, a sticky comment changes only with the change.
  const steps = (preview.steps ?? [])
    .filter((s) => (COUNTED as readonly string[]).includes(s.op))
    .sort(
      (a, b) =>
        COUNTED.indexOf(a.op as (typeof COUNTED)[number]) - COUNTED.indexOf(b.op as (typeof COUNTED)[number]) ||
        nameOf(a.urn).localeCompare(nameOf(b.urn)),
    );
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
  const errors = previewErrors(preview);
  if (errors.length > 0) out.push("", "Errors:", "", "```", ...errors, "```");

  out.push("", "### Service restarts", "");
  const plans = rolloutPlans(preview);
  if (plans.length === 0) out.push("No instance restarts: no fleet rolls.");
  for (const plan of plans) out.push(`- ${plan}`);

  out.push("", `### Stack config (\`Pulumi.${stack}.yaml\`)`, "");
  if (config.length === 0) out.push("No config changes.");
  else
    out.push(
      "| key | before | after |",
      "| --- | --- | --- |",
      ...config.map((c) => `| \`${c.key}\` | ${shownValue(c.key, c.before)} | ${shownValue(c.key, c.after)} |`),
    );

  if (policy) {
    const verdict = policy.notRun !== undefined ? "**did not run**" : policy.passed ? "passed" : "**FAILED** (a mandatory rule is broken)";
    out.push("", `### Policy pack: ${verdict}`, "");
    const report = policy.report.replace(/^\s*\n|\s+$/g, "");
    if (policy.notRun !== undefined) out.push(policy.notRun, ...(report ? [""] : []));
    if (report) out.push(["```", report, "```"].join("\n"));
    else if (policy.notRun === undefined) out.push("No violations.");
  }

  out.push("", "### haproxy.cfg", "");
  const planned = plannedHaproxyConfigs(preview);
  if (planned.length === 0) out.push("The preview has no HAProxy config step.");
  for (const { step, refs, config } of planned) out.push(...haproxyConfigSection(step, refs, config, live));
  return `${scrub(out.join("\n").trimEnd(), previewSecrets(preview, state))}\n`;
}
