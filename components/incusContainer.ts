import * as pulumi from "@pulumi/pulumi";
import { IncusPlacement, deleteScript, incusRef, launchScript } from "./incusScripts";
import { ShellCommand } from "./shellCommand";

/** Arguments of an {@link IncusContainer}. */
export interface IncusContainerArgs {
  /** Container name, already validated against Incus naming rules. */
  name: string;
  /** Remote, cluster target, image, network and pool; validated settings. */
  placement: pulumi.Input<IncusPlacement>;
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
  /** Changes whenever the container is re-created, so steps deployed into it re-run. */
  public readonly generation: pulumi.Output<string>;

  constructor(name: string, args: IncusContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:IncusContainer", name, {}, opts);
    const placement = pulumi.output(args.placement);
    const launch = new ShellCommand(
      `${name}-launch`,
      {
        create: placement.apply((p) => launchScript(args.name, p)),
        delete: placement.apply((p) => deleteScript(args.name, p.remote)),
        triggers: placement.apply((p) => [args.name, p.remote, p.target, p.image, p.network, p.storagePool]),
      },
      { parent: this },
    );
    this.containerName = args.name;
    this.ref = placement.apply((p) => incusRef(p.remote, args.name));
    this.address = launch.stdout;
    this.generation = launch.id;
    this.registerOutputs({ containerName: this.containerName, address: this.address });
  }
}
