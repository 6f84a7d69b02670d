import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { DELETE_SCRIPT, IncusPlacement, carriesRole, containerEnvironment, incusRef, labelledStep, launchScript } from "./incusScripts";
import { InstanceLimits, LIMITS_SCRIPT, completeLimits, limitsConfig, limitsEnvironment } from "./instanceLimits";
import { LiveContainer, driftOf, driftOption } from "./liveState";
import { INCUS_NAME_RULE, isIncusName } from "../common/checks";

/** Arguments of an {@link IncusContainer}. */
export interface IncusContainerArgs {
  /** Container name, already validated against Incus naming rules. */
  name: string;
  /** Remote, cluster target, image, network and pool; validated settings. */
  placement: pulumi.Input<IncusPlacement>;
  /** CPU, memory and root disk limits, every field given (validated); left out, the container keeps what Incus gives it. */
  limits?: pulumi.Input<Required<InstanceLimits>>;
  /** What Incus says of the container now (liveState.ts): missing or stopped, the launch step runs again. Left out, nothing is compared. */
  live?: LiveContainer;
  /**
   * What the container is, e.g. `haproxy`: on a cluster member (a placement with a target) it is
   * launched with `<project>/<stack>/<role>` in placement.ts's ROLE_CONFIG_KEY, which the placement
   * scriptlet counts. Defaults to none.
   */
  role?: string;
}

/** `project/stack`: what a container's owner key holds, so another stack never adopts or deletes it. */
export function stackOwner(): string {
  return `${pulumi.getProject()}/${pulumi.getStack()}`;
}

/**
 * One Incus system container made through the `incus` CLI. The instance components share it, so
 * create, idempotent re-create and delete are written once. Only a change of where or from what the
 * container is made replaces it; everything deployed into it is a separate, updatable step.
 */
export class IncusContainer extends pulumi.ComponentResource {
  /** Container name in Incus. */
  public readonly containerName: string;
  /** Name the `incus` CLI uses for it, with the remote prefix when there is one. */
  public readonly ref: pulumi.Output<string>;
  /** IPv4 address of eth0 on the lab bridge. */
  public readonly address: pulumi.Output<string>;
  /** The launch step's id: it changes whenever the container is re-created, so the steps deployed into it (their trigger) re-run. */
  public readonly launchId: pulumi.Output<string>;
  /** The step that launches (or adopts) and deletes the container. */
  public readonly launch: command.local.Command;
  /** The step that applies {@link IncusContainerArgs.limits} to the running container, when given. */
  public readonly limits?: command.local.Command;

  constructor(name: string, args: IncusContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:IncusContainer", name, {}, opts);
    const placement = pulumi.output(args.placement);
    // Only whether it runs: what runs inside is each step's own to compare.
    const live = driftOption(driftOf(args.live, {}), new Date());
    const launchStep = (withRole: boolean) =>
      labelledStep(["launch the container", launchScript(withRole)], ["delete the container", DELETE_SCRIPT]);
    // Its label and interpreter are the same with a role: only the script in the environment differs.
    const launch = launchStep(false);
    const role = args.role === undefined ? undefined : `${stackOwner()}/${args.role}`;
    this.launch = new command.local.Command(
      `${name}-launch`,
      {
        create: launch.create,
        delete: launch.delete,
        interpreter: launch.interpreter,
        environment: placement.apply((p) => ({
          ...launchStep(role !== undefined && carriesRole(p)).environment,
          ...containerEnvironment(args.name, p, stackOwner(), role),
          ...live.environment,
        })),
        triggers: placement.apply((p) => [args.name, p.remote, p.target, p.image, p.network, p.storagePool]),
        logging: "stderr",
      },
      // The container's name is fixed: a replacement that created first would adopt the old
      // container and then delete it.
      { parent: this, deleteBeforeReplace: true, ignoreChanges: live.ignoreChanges },
    );
    this.containerName = args.name;
    this.ref = placement.apply((p) => incusRef(p.remote, args.name));
    if (args.limits) {
      // Its own step, so a new value is an update of it; a re-created container gets them again.
      const step = labelledStep(["apply the container's limits", LIMITS_SCRIPT]);
      // Limits changed by hand show too, when they are known now (not Outputs).
      const given = pulumi.Output.isInstance(args.limits) ? undefined : (args.limits as Required<InstanceLimits>);
      const limitsLive = given ? driftOption(driftOf(args.live, { config: limitsConfig(given) }), new Date()) : live;
      this.limits = new command.local.Command(
        `${name}-limits`,
        {
          create: step.create,
          interpreter: step.interpreter,
          environment: pulumi
            .all([this.ref, args.limits])
            .apply(([ref, limits]) => ({ ...step.environment, ...limitsEnvironment(ref, limits), ...limitsLive.environment })),
          triggers: [this.launch.id],
          logging: "stderr",
        },
        // A container re-created by the launch step (it was missing) is limited again.
        { parent: this, ignoreChanges: limitsLive.ignoreChanges },
      );
    }
    this.address = this.launch.stdout;
    this.launchId = this.launch.id;
    this.registerOutputs({ containerName: this.containerName, address: this.address });
  }
}

/**
 * The container of a component that runs in one (HaproxyNode, the service instances), of `role`
 * (see {@link IncusContainerArgs.role}), made only once the component's own checks pass: its
 * name, its limits and `problems` (what else the component found) are reported at once, as a
 * ResourceError pointing at the component.
 */
export function checkedContainer(
  component: pulumi.ComponentResource,
  name: string,
  args: { containerName: string; placement: pulumi.Input<IncusPlacement>; limits?: InstanceLimits; live?: LiveContainer },
  problems: string[],
  role?: string,
): IncusContainer {
  const limits = completeLimits(args.limits);
  const all = [
    ...(isIncusName(args.containerName) ? [] : [`containerName must be ${INCUS_NAME_RULE} (got ${JSON.stringify(args.containerName)})`]),
    ...problems,
    ...limits.problems,
  ];
  if (all.length > 0) throw new pulumi.ResourceError(`invalid arguments of ${name}:\n${all.map((p) => `  - ${p}`).join("\n")}`, component);
  return new IncusContainer(
    name,
    { name: args.containerName, placement: args.placement, limits: limits.limits, live: args.live, role },
    { parent: component },
  );
}
