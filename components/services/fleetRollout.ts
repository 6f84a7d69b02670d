import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { API_POOL, API_WS, STREAM_POOL } from "../haproxy/haproxyConfig";
import { HaproxyNode } from "../haproxy/haproxyNode";
import { HaproxyPair } from "../haproxy/haproxyPair";
import { labelledStep } from "../incus/incusScripts";
import { driftOption } from "../incus/liveState";
import { RolloutOptions, completeRollout, rolloutEnvironment, rolloutPlan } from "./rollout";
import { ROLLOUT_FLEET_SCRIPT } from "./rolloutScripts";
import type { ServiceInstance } from "./serviceInstance";

/** Arguments of a {@link FleetRollout}. */
export interface FleetRolloutArgs {
  /** The fleet's instances, all of one service, in rollout order (the first is the canary). Required, at least one. */
  instances: ServiceInstance[];
  /** The load balancer they serve behind: a {@link HaproxyNode} that applies its own config, or the {@link HaproxyPair}. Required. */
  edge: HaproxyNode | HaproxyPair;
  /** How the fleet rolls. Each field defaults as {@link RolloutOptions} says. */
  rollout?: RolloutOptions;
}

/**
 * The rolling restart of one fleet: whenever an instance's release changes (or what runs in it
 * differs from its release), its deploy step only stages the release, and this step swaps it in
 * instance by instance behind every HAProxy node, canary first (rolloutScripts.ts says how). It
 * runs after the edge's config step, so it drains servers HAProxy already knows, and `up` returns
 * only once every rolled instance is UP on every node.
 */
export class FleetRollout extends pulumi.ComponentResource {
  /** The step that rolls the fleet; its stdout names the instances it rolled. */
  public readonly step: command.local.Command;
  /** What the next `up` rolls, in order and with which settings, as the preview says it; empty when nothing rolls or nothing was observed. */
  public readonly plan: string;

  constructor(name: string, args: FleetRolloutArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:FleetRollout", name, {}, opts);
    const [first] = args.instances;
    const service = first?.service ?? "backend-api";
    const { rollout: options, problems: rolloutProblems } = completeRollout(args.rollout);
    const problems = [
      ...(first ? [] : ["instances must name at least one instance"]),
      ...args.instances
        .filter((i) => i.service !== service)
        .map((i) => `instances mixes services: ${i.serverName} runs ${i.service}, not ${service}`),
      ...rolloutProblems,
      ...(args.instances.length >= 2 && options.maxUnavailable >= args.instances.length
        ? [
            `maxUnavailable must be below the fleet's ${args.instances.length} instances, so that a rollout never restarts all of them (got ${options.maxUnavailable})`,
          ]
        : []),
      ...(args.edge instanceof HaproxyNode && !args.edge.config
        ? [`edge ${args.edge.nodeName} does not apply its own config (a node of a pair): pass the HaproxyPair`]
        : []),
    ];
    if (problems.length > 0)
      throw new pulumi.ResourceError(`invalid arguments of ${name}:\n${problems.map((p) => `  - ${p}`).join("\n")}`, this);

    const nodes = args.edge instanceof HaproxyPair ? args.edge.nodes : [args.edge];
    const configStep = args.edge.config as command.local.Command;
    const rolling = args.instances.filter((i) => i.rolls).map((i) => i.serverName);
    const { startTimeoutSeconds, port, healthPath } = first.options;
    this.plan = rolloutPlan(service, rolling, options, startTimeoutSeconds);
    if (this.plan) void pulumi.log.info(this.plan, this);
    const live = driftOption(
      args.instances.flatMap((i) => (i.rolls ? [`${i.serverName} runs another release`] : [])),
      new Date(),
    );
    const step = labelledStep([`rollout of ${service}`, ROLLOUT_FLEET_SCRIPT]);
    const target = pulumi.all(nodes.map((node) => node.container.ref)).apply((refs) => ({
      service,
      programFile: first.programFile,
      port,
      healthPath,
      startTimeoutSeconds,
      backend: service === "backend-api" ? API_POOL : STREAM_POOL,
      tunnelBackend: service === "backend-api" ? API_WS : "",
      nodes: refs,
    }));
    this.step = new command.local.Command(
      `${name}-step`,
      {
        create: step.create,
        interpreter: step.interpreter,
        environment: pulumi.all([target, pulumi.all(args.instances.map((i) => i.release))]).apply(([t, releases]) => ({
          ...step.environment,
          ...rolloutEnvironment(t, releases, options),
          ...live.environment,
        })),
        logging: "stderr",
      },
      {
        parent: this,
        // HAProxy must know every server before one is drained, and every release must be staged.
        dependsOn: [configStep, ...args.instances.map((i) => i.deploy)],
        ignoreChanges: live.ignoreChanges,
      },
    );
    this.registerOutputs({ plan: this.plan, rolled: this.step.stdout });
  }
}
