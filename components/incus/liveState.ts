/**
 * What is live in the containers, read at every run of the program (preview and up) so that a
 * difference between what runs and what Pulumi's state records is seen, shown and repaired.
 *
 * Why this exists: a `command.local.Command` has no read, so `pulumi refresh` learns nothing, and a
 * step's inputs only record what the program last asked for. A container deleted by hand, a file
 * edited in one, or a release left behind by a failed `up` would otherwise stay invisible: every
 * preview would say "unchanged" while the edge serves something else.
 *
 * How: before any resource is registered, one probe asks Incus, for every container of the stack,
 * whether it runs and, inside it, the sha256 of the files the steps install and the state of the
 * units they start. Each step compares that with what it would install ({@link driftOption}): where
 * they differ, the step's environment carries `VEZA_LIVE`, a sentence saying what differs, so the
 * preview shows it and `up` runs the step again; where they agree, `ignoreChanges` keeps whatever
 * `VEZA_LIVE` the state recorded, so a repaired step is not run a second time. The decision must be
 * known when the resource is registered (resource options are not Outputs), hence a synchronous
 * probe rather than an invoke.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { defaultRemote, incusFailureMessage } from "./incusReach";
import { shellQuote } from "../common/shell";

/** sha256 of a text, as the probe prints a file's. */
export function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** One container's live facts. */
export interface LiveContainer {
  /** Incus' status in lower case ("running", "stopped", "frozen", ...), or "absent". */
  status: string;
  /** sha256 of each watched file, "" when it is missing; only for a running container. */
  files: Record<string, string>;
  /** What FILE.sha256 says the file was installed as, for the files that have one. */
  recorded: Record<string, string>;
  /** `systemctl is-active` of each watched unit ("active", "failed", "inactive", ...); only for a running container. */
  units: Record<string, string>;
  /** The limits Incus holds for it (limits.cpu, limits.memory, root.size; "" when unset). */
  config: Record<string, string>;
}

/** What to read in one container. File paths and unit names are the program's own constants. */
export interface ProbeRequest {
  /** Container as the incus CLI names it (`remote:name` or `name`). */
  ref: string;
  files: string[];
  units: string[];
}

/**
 * Inside a container, with arguments: files, then `--`, then units. One line per fact:
 * `file PATH SHA256 [RECORDED]` (`-` when missing; RECORDED is what FILE.sha256 holds, written by
 * the step that installed a file rendered from Outputs, see {@link recordSha256}) and
 * `unit NAME STATE`.
 */
export const PROBE_IN_CONTAINER = `while [ $# -gt 0 ] && [ "$1" != -- ]; do
  if [ -f "$1" ]; then echo "file $1 $(sha256sum < "$1" | cut -c1-64) $(head -c 64 "$1.sha256" 2>/dev/null || true)"; else echo "file $1 -"; fi
  shift
done
[ $# -eq 0 ] || shift
for unit; do echo "unit $unit $(systemctl is-active "$unit" 2>/dev/null || true)"; done`;

/**
 * On the Pulumi host: VEZA_PROBES holds one line per container, "ref files units" (comma-separated
 * lists). Lists the remote's containers once (VEZA_REMOTE, empty for the local daemon), then reads
 * every running one in parallel. Prints `REF status STATUS` and `REF config KEY VALUE` (its limits,
 * `-` when unset) for each container, then its facts.
 */
export const PROBE_SCRIPT = `work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/out"
remote=()
[ -z "$VEZA_REMOTE" ] || remote=("$VEZA_REMOTE:")
# The limits the limits step sets, beside name and status: one list for every container.
incus list "\${remote[@]}" -c n,s,config:limits.cpu,config:limits.memory,devices:root.size -f csv > "$work/list"
n=0
while read -r ref files units; do
  [ -n "$ref" ] || continue
  n=$((n + 1))
  name=\${ref#*:}
  status=$(awk -F, -v name="$name" '$1 == name { print tolower($2) }' "$work/list")
  echo "$ref status \${status:-absent}" > "$work/out/$n"
  awk -F, -v name="$name" -v ref="$ref" '$1 == name {
    split("limits.cpu limits.memory root.size", keys, " ")
    for (i = 1; i <= 3; i++) print ref, "config", keys[i], ($(i + 2) == "" ? "-" : $(i + 2))
  }' "$work/list" >> "$work/out/$n"
  [ "$status" = running ] || continue
  IFS=, read -r -a file_list <<< "$files"
  IFS=, read -r -a unit_list <<< "$units"
  # The loop reads its lines from standard input: incus exec must not take them.
  incus exec "$ref" -- sh -c ${shellQuote(PROBE_IN_CONTAINER)} sh "\${file_list[@]}" -- "\${unit_list[@]}" < /dev/null 2>/dev/null | sed "s|^|$ref |" >> "$work/out/$n" &
done <<< "$VEZA_PROBES"
wait
if [ "$n" -gt 0 ]; then cat "$work"/out/*; fi`;

/** The facts of {@link PROBE_SCRIPT}'s output, by container ref. */
export function parseProbe(stdout: string): Map<string, LiveContainer> {
  const live = new Map<string, LiveContainer>();
  for (const line of stdout.split("\n")) {
    const [ref, kind, key, value, recorded] = line.trim().split(/\s+/);
    if (!ref || !kind) continue;
    const container = live.get(ref) ?? { status: "absent", files: {}, recorded: {}, units: {}, config: {} };
    live.set(ref, container);
    if (kind === "status") container.status = key ?? "absent";
    else if (kind === "file" && key) {
      container.files[key] = value === "-" || value === undefined ? "" : value;
      if (recorded) container.recorded[key] = recorded;
    } else if (kind === "unit" && key) container.units[key] = value ?? "";
    else if (kind === "config" && key) container.config[key] = value === "-" || value === undefined ? "" : value;
  }
  return live;
}

/** The probe's environment for `requests` (validated names and the program's constant paths only). */
export function probeEnvironment(remote: string, requests: readonly ProbeRequest[]): Record<string, string> {
  return {
    VEZA_REMOTE: remote,
    VEZA_PROBES: requests.map((r) => `${r.ref} ${r.files.join(",")} ${r.units.join(",")}`).join("\n"),
  };
}

/** How long the whole probe may take: it reads every container, on a busy host. */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * Reads every container of `requests` now (see the module's comment for why synchronously). A
 * probe that cannot run at all fails the program with Incus' own message: the ownership check
 * would fail the same way a moment later.
 */
export function observeContainers(remote: string, requests: readonly ProbeRequest[]): Map<string, LiveContainer> {
  try {
    const stdout = execFileSync("/bin/bash", ["-euo", "pipefail", "-c", PROBE_SCRIPT], {
      env: { ...process.env, ...probeEnvironment(remote, requests) },
      encoding: "utf8",
      timeout: PROBE_TIMEOUT_MS,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return parseProbe(stdout);
  } catch (error) {
    const failed = error as Error & { status?: number | null; stderr?: unknown };
    throw new pulumi.RunError(
      incusFailureMessage("read what is live in the Incus containers (incus list, incus exec)", {
        remote: remote || defaultRemote(),
        // No status: the time ran out and the probe was killed.
        status: failed.status ?? 124,
        output: String(failed.stderr ?? "") || failed.message,
        limitSeconds: PROBE_TIMEOUT_MS / 1000,
      }),
    );
  }
}

/**
 * A line of an in-container script (under FILES_ROOT's "$root") that records the sha256 `file` was
 * installed as, beside it, so that an edit by hand shows even where the program cannot know the
 * file before it is rendered from Outputs.
 */
export function recordSha256(file: string): string {
  return `sha256sum < "$root${file}" | cut -c1-64 > "$root${file}.sha256"`;
}

/**
 * What a step expects to find live in its container: files with the sha256 it installs them as,
 * files it installed with a recorded sha256 (when their content is only known from Outputs), and
 * units that must be active.
 */
export interface Expected {
  /** Incus config of the container itself (its limits), by key. */
  config?: Record<string, string>;
  files?: Record<string, string>;
  recorded?: string[];
  units?: string[];
}

/**
 * Why the container differs from what a step installs, as short phrases; empty when it agrees, or
 * when nothing was observed (`live` undefined: a program that did not probe, or a container that
 * does not exist yet and that its launch step will create).
 */
export function driftOf(live: LiveContainer | undefined, expected: Expected): string[] {
  if (!live) return [];
  if (live.status !== "running") return [live.status === "absent" ? "the container is missing" : `the container is ${live.status}`];
  const files = Object.entries(expected.files ?? {}).flatMap(([file, sha]) => {
    const found = live.files[file];
    if (found === undefined || found === sha) return [];
    return [found === "" ? `${file} is missing` : `${file} differs (sha256 ${found.slice(0, 12)}, expected ${sha.slice(0, 12)})`];
  });
  const recorded = (expected.recorded ?? []).flatMap((file) => {
    const found = live.files[file];
    if (found === undefined) return [];
    if (found === "") return [`${file} is missing`];
    return found === live.recorded[file]
      ? []
      : [`${file} was changed by hand (sha256 ${found.slice(0, 12)}, installed as ${(live.recorded[file] ?? "unknown").slice(0, 12)})`];
  });
  const units = (expected.units ?? []).flatMap((unit) => {
    const state = live.units[unit];
    return state === undefined || state === "active" ? [] : [`${unit} is ${state || "unknown"}`];
  });
  const config = Object.entries(expected.config ?? {}).flatMap(([key, value]) => {
    const found = live.config[key];
    return found === undefined || found === value ? [] : [`${key} is ${JSON.stringify(found)}, expected ${JSON.stringify(value)}`];
  });
  return [...config, ...files, ...recorded, ...units];
}

/** Name of the environment entry that carries a step's drift. */
export const LIVE_ENV = "VEZA_LIVE";

/**
 * The environment entry and resource option that carry a step's drift (see the module's comment):
 * with drift, `VEZA_LIVE` says what differs and when it was seen, so the step changes and runs; with
 * none, the state's last value is kept. `seenAt` is passed in so the function stays pure.
 */
export function driftOption(drift: readonly string[], seenAt: Date): { environment: Record<string, string>; ignoreChanges: string[] } {
  if (drift.length === 0) return { environment: {}, ignoreChanges: [`environment.${LIVE_ENV}`] };
  return { environment: { [LIVE_ENV]: `${drift.join("; ")} (seen ${seenAt.toISOString()})` }, ignoreChanges: [] };
}
