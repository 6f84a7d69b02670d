/**
 * Which of a stack's containers another stack already owns, known at preview: one `incus query`
 * of every instance with its config, judged by a pure function. The launch step checks again at
 * `up` (another stack may take a name between the two); the delete step leaves such a container
 * in place. Both read the same owner key, written by the launch step as `project/stack`.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BASH, IncusPlacement, OWNER_KEY } from "./incusScripts";
import { INCUS_TIMEOUT_SECONDS, PRINT_FAILURE, incusFailureMessage, parseFailure } from "./incusReach";

/**
 * Every instance of the remote in VEZA_REMOTE (empty: the client's default), with its config, as
 * JSON; or, when Incus cannot be reached within VEZA_TIMEOUT_SECONDS, what failed, on stdout too
 * (incusReach's PRINT_FAILURE), for {@link ownerConflicts} to explain: a failed invoke would reach
 * the operator wrapped in a stack trace.
 */
export const LIST_INSTANCES_SCRIPT = `status=0
out=$(timeout -k 5 "$VEZA_TIMEOUT_SECONDS" incus query "\${VEZA_REMOTE:+$VEZA_REMOTE:}/1.0/instances?recursion=1" 2>&1) || status=$?
if [ "$status" = 0 ]; then printf '%s\\n' "$out"; else ${PRINT_FAILURE}; fi`;

/**
 * A refusal, or a check that could not be made: a RunError, which Pulumi prints as its message alone. Raised inside an apply, it
 * reaches the runtime through every resource input built on the placement, so two things are
 * pinned. The message: the runtime prefixes `error serializing property "environment": ` to it
 * once per such resource (runtime/rpc.js, same error object). The stack: the runtime's error
 * report formats the error with util.inspect, which took 43 s of CPU over this one's source-mapped
 * frames here (the preview waited for it); a refusal's frames tell the operator nothing anyway.
 */
export class OwnershipError extends pulumi.RunError {
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, "message", { get: () => message, set: () => undefined });
    this.stack = message;
  }
}

const LISTING = "list the Incus containers to check who owns them (incus query)";

/** A container this stack would create or adopt that another stack owns. */
export interface OwnerConflict {
  container: string;
  owner: string;
}

/**
 * The list an `incus ... -f json` printed, or an OwnershipError (a RunError: the preview shows its
 * message alone) saying why Incus could not be asked to `what`.
 */
export function listedByIncus(output: string, what: string): unknown[] {
  const failure = parseFailure(output);
  if (failure) throw new OwnershipError(incusFailureMessage(what, failure));
  let listed: unknown;
  try {
    listed = JSON.parse(output);
  } catch {
    listed = undefined;
  }
  if (!Array.isArray(listed)) throw new OwnershipError(`could not ${what}: ${output.trim().slice(0, 500)}`);
  return listed;
}

/**
 * The conflicts among `names`, from the JSON of {@link LIST_INSTANCES_SCRIPT}: a container whose
 * owner key names a stack other than `owner`. An absent container, or one with no owner (made by
 * hand, or by an interrupted `up` before the key was set), is no conflict: this stack may adopt it.
 */
export function ownerConflicts(instancesJson: string, names: readonly string[], owner: string): OwnerConflict[] {
  const instances = listedByIncus(instancesJson, LISTING);
  const owners = new Map<string, string>();
  for (const instance of instances as { name?: unknown; config?: Record<string, unknown> }[]) {
    const found = instance?.config?.[OWNER_KEY];
    if (typeof instance?.name === "string" && typeof found === "string" && found !== "") owners.set(instance.name, found);
  }
  return names.flatMap((container) => {
    const found = owners.get(container);
    return found !== undefined && found !== owner ? [{ container, owner: found }] : [];
  });
}

/** What a refused stack can do, unless its program says it in its own terms (a config key, say). */
export const RENAME_CONTAINERS = "Give this stack's containers names no other stack uses";

/** One message naming every conflict, its owner, and `wayOut`. */
export function ownershipMessage(conflicts: readonly OwnerConflict[], owner: string, wayOut = RENAME_CONTAINERS): string {
  return [
    `stack ${owner} would adopt containers another stack owns (Incus key ${OWNER_KEY}); nothing was changed:`,
    ...conflicts.map((c) => `  - container ${c.container} belongs to stack ${c.owner}`),
    wayOut,
  ].join("\n");
}

/** `placement`, when no container of `names` belongs to another stack; else an {@link OwnershipError}. */
export function checkedPlacement(
  instancesJson: string,
  placement: IncusPlacement,
  names: readonly string[],
  owner: string,
  wayOut?: string,
): IncusPlacement {
  const conflicts = ownerConflicts(instancesJson, names, owner);
  if (conflicts.length > 0) throw new OwnershipError(ownershipMessage(conflicts, owner, wayOut));
  return placement;
}

/** What {@link LIST_INSTANCES_SCRIPT} prints for `remote` ("" for the local daemon), listed once at preview. */
export function listInstances(remote: string): pulumi.Output<string> {
  return command.local.runOutput({
    command: LIST_INSTANCES_SCRIPT,
    interpreter: BASH,
    environment: { VEZA_REMOTE: remote, VEZA_TIMEOUT_SECONDS: String(INCUS_TIMEOUT_SECONDS) },
    logging: "none",
  }).stdout;
}

/**
 * `placement`, once {@link checkedPlacement} has passed on what Incus lists now. Every container
 * takes its placement from here, so none is registered, previewed or touched before the check,
 * and a refusal fails the preview naming each owner. `instances` is the listing to judge, when
 * the program has it already (it also tells where each container is on a cluster).
 */
export function ownedPlacement(
  placement: IncusPlacement,
  names: readonly string[],
  owner: string,
  wayOut?: string,
  instances: pulumi.Output<string> = listInstances(placement.remote),
): pulumi.Output<IncusPlacement> {
  return instances.apply((stdout) => checkedPlacement(stdout, placement, names, owner, wayOut));
}
