/**
 * How much of the Incus host one container may use: `limits.cpu`, `limits.memory` and the size of
 * its root disk. Incus applies all three to a running container, so they are a step of their own
 * ({@link LIMITS_SCRIPT}) beside the container's launch: changing one updates that step, never
 * the container.
 */
import { DEFAULTS, Settings } from "../../stack/settings";
import { argumentProblems } from "../../stack/validation";

/** A container's share of the host. Every field left out takes its role's default. */
export interface InstanceLimits {
  /**
   * CPUs the container may use at once (Incus `limits.cpu` as a count; 1..256, and at most the
   * host's CPUs when the containers run on this host); 0 for no limit. Defaults to 1, so five lab
   * containers leave a 2-core host responsive (seed: none).
   */
  cpu?: number;
  /**
   * Memory ceiling (Incus `limits.memory`): a whole number of MiB or GiB, e.g. "256MiB" or "1GiB",
   * at least 64MiB; "" for no limit. Defaults to "256MiB", about six times what HAProxy or the lab
   * stand-in uses (seed: none).
   */
  memory?: string;
  /**
   * Size of the root disk (the root device's `size`, a quota on btrfs and zfs pools): a whole
   * number of MiB or GiB, at least 1GiB (the lab image takes ~370MiB); "" for the pool's default,
   * no quota. Defaults to "" (seed: none).
   */
  rootSize?: string;
}

/** The roles that run in a container of their own. */
export type InstanceRole = "haproxy" | "backend-api" | "stream-server";

/** The stack-config key each role's limit stands for, and the argument it feeds. */
export const LIMITS_FIELDS = {
  haproxy: { haproxyLimitsCpu: "limits.cpu", haproxyLimitsMemory: "limits.memory", haproxyRootSize: "limits.rootSize" },
  "backend-api": {
    backendApiLimitsCpu: "limits.cpu",
    backendApiLimitsMemory: "limits.memory",
    backendApiRootSize: "limits.rootSize",
  },
  "stream-server": {
    streamServerLimitsCpu: "limits.cpu",
    streamServerLimitsMemory: "limits.memory",
    streamServerRootSize: "limits.rootSize",
  },
} as const satisfies Record<InstanceRole, Partial<Record<keyof Settings, `limits.${keyof InstanceLimits}`>>>;

const fieldOf = (argument: string) => argument.slice("limits.".length) as keyof InstanceLimits;

/** A role's limits from validated settings. */
export function limitsFromSettings(settings: Settings, role: InstanceRole): Required<InstanceLimits> {
  return Object.fromEntries(
    Object.entries(LIMITS_FIELDS[role]).map(([key, argument]) => [fieldOf(argument), settings[key as keyof Settings]]),
  ) as Required<InstanceLimits>;
}

/** `given` completed with the role's defaults, and its problems by the stack's rules, each naming the argument. */
export function completeLimits(role: InstanceRole, given: InstanceLimits = {}): { limits: Required<InstanceLimits>; problems: string[] } {
  const limits = { ...limitsFromSettings(DEFAULTS, role) };
  for (const field of Object.keys(limits) as (keyof InstanceLimits)[]) {
    if (given[field] !== undefined) Object.assign(limits, { [field]: given[field] });
  }
  const fields = LIMITS_FIELDS[role];
  const settings = Object.fromEntries(Object.entries(fields).map(([key, argument]) => [key, limits[fieldOf(argument)]]));
  return { limits, problems: argumentProblems(settings, fields) };
}

/** The environment of {@link LIMITS_SCRIPT}; an empty value removes the limit (cpu 0 is no limit). */
export function limitsEnvironment(ref: string, limits: Required<InstanceLimits>): Record<string, string> {
  return {
    VEZA_REF: ref,
    VEZA_LIMITS_CPU: limits.cpu === 0 ? "" : String(limits.cpu),
    VEZA_LIMITS_MEMORY: limits.memory,
    VEZA_ROOT_DISK_SIZE: limits.rootSize,
  };
}

/** The Incus config the limits step leaves on the container ("" where a key is unset), as the probe reads it. */
export function limitsConfig(limits: Required<InstanceLimits>): Record<string, string> {
  const environment = limitsEnvironment("", limits);
  return {
    "limits.cpu": environment.VEZA_LIMITS_CPU,
    "limits.memory": environment.VEZA_LIMITS_MEMORY,
    "root.size": environment.VEZA_ROOT_DISK_SIZE,
  };
}

/**
 * Brings the container VEZA_REF's limits to the values asked, writing only those that differ (an
 * unchanged value is no config change of the running container) and removing those asked empty.
 * The root device is the container's own (the launch gives `--storage`), so its size is set there.
 */
export const LIMITS_SCRIPT = `limit() {
  [ "$(incus config get "$VEZA_REF" "$1")" != "$2" ] || return 0
  if [ -n "$2" ]; then incus config set "$VEZA_REF" "$1=$2"; else incus config unset "$VEZA_REF" "$1"; fi
}
limit limits.cpu "$VEZA_LIMITS_CPU"
limit limits.memory "$VEZA_LIMITS_MEMORY"
if [ "$(incus config device get "$VEZA_REF" root size)" != "$VEZA_ROOT_DISK_SIZE" ]; then
  if [ -n "$VEZA_ROOT_DISK_SIZE" ]; then incus config device set "$VEZA_REF" root size="$VEZA_ROOT_DISK_SIZE"
  else incus config device unset "$VEZA_REF" root size; fi
fi`;
