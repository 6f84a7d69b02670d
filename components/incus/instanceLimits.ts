/**
 * How much of the Incus host one container may use: `limits.cpu`, `limits.memory` and the size of
 * its root disk. Incus applies all three to a running container, so they are a step of their own
 * ({@link LIMITS_SCRIPT}) beside the container's launch: changing one updates that step, never
 * the container.
 */
import { Rules, argumentPath, atPath, completed, integer, problemsOf, text } from "../common/rules";

/** A container's share of the host. Every field left out takes its role's default. */
export interface InstanceLimits {
  /**
   * CPUs the container may use at once (Incus `limits.cpu` as a count; 0..256, and at most the
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

/**
 * A size Incus reads (`limits.memory`, a disk's `size`), narrowed to whole MiB or GiB: Incus also
 * takes MB, GB, bytes and percentages, but one unit family keeps every value comparable at a glance.
 */
const SIZE = /^([1-9]\d{0,6})(MiB|GiB)$/;

/** MiB of a {@link SIZE}, or undefined when it is not one. */
function mebibytes(size: string): number | undefined {
  const match = SIZE.exec(size);
  return match ? Number(match[1]) * (match[2] === "GiB" ? 1024 : 1) : undefined;
}

/**
 * A size of at least `min` MiB, or "" for `empty`. The floors catch a slipped unit rather than
 * size anything: the services use 30-45MiB of memory (measured in the lab), and the lab image
 * ~370MiB of disk, which Incus counts in the quota.
 */
const size = (min: number, empty: string, defaultValue: string) =>
  text(
    (value) => value === "" || (mebibytes(value) ?? 0) >= min,
    `must be empty (${empty}) or a whole number of MiB or GiB, e.g. 512MiB or 2GiB, of at least ${min}MiB`,
    defaultValue,
  );

/** The rules of {@link InstanceLimits}, by argument path; the same for every role. */
export const LIMITS_RULES: Rules = {
  // 0 is no limit; a count above the host's CPUs is refused by the stack, which knows the host.
  "limits.cpu": integer(0, 256, 1),
  "limits.memory": size(64, "no limit", "256MiB"),
  "limits.rootSize": size(1024, "the pool's default size", ""),
};

/** `given` completed with the defaults, and its problems, each naming the argument. */
export function completeLimits(given: InstanceLimits = {}): { limits: Required<InstanceLimits>; problems: string[] } {
  const { limits } = completed<{ limits: Required<InstanceLimits> }>(LIMITS_RULES, { limits: given });
  return { limits, problems: problemsOf(LIMITS_RULES, (path) => atPath({ limits }, path), argumentPath) };
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
