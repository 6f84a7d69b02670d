import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { completeHaproxyArgs } from "./haproxyArgs";
import { Upstream } from "./haproxyConfig";
import { HaproxyNode, HaproxyPoolArgs, configEnvironment, upstreams } from "./haproxyNode";
import { HaproxyOptions } from "./haproxyOptions";
import { LIVE_CONFIG } from "./haproxyScripts";
import { labelledStep } from "../incus/incusScripts";
import { KEEPALIVED_CONF_PATH, KeepalivedSettings, renderKeepalivedConfig } from "./keepalivedConfig";
import { driftOf, driftOption } from "../incus/liveState";
import { KEEPALIVED_DELETE_SCRIPT, KEEPALIVED_SCRIPT, ROLLOUT_SCRIPT } from "./pairScripts";

/** The files and units of a pair's node that its probe reads besides {@link HAPROXY_WATCH}'s. */
export const PAIR_WATCH = { files: [KEEPALIVED_CONF_PATH], units: ["keepalived"] };

/** Arguments of an {@link HaproxyPair}: the HAProxy options of its nodes, and the pair's own. */
export interface HaproxyPairArgs extends HaproxyOptions<HaproxyPoolArgs> {
  /** The two nodes, in priority order (the first takes the address when neither holds it), made with `applyConfig: false`. */
  nodes: [HaproxyNode, HaproxyNode];
  /** The virtual IP and VRRP timing (veza-infra:virtualIp, vrrpAdvertIntervalMs, vrrpRouterId) and the stats port keepalived's check asks. */
  keepalived: KeepalivedSettings;
}

/**
 * Two {@link HaproxyNode}s behind one virtual IP: keepalived (VRRPv3, unicast, nopreempt) on
 * each keeps the address on a node whose HAProxy answers, and haproxy.cfg is rolled out to them
 * in turn (see {@link ROLLOUT_SCRIPT}).
 */
export class HaproxyPair extends pulumi.ComponentResource {
  /** The address clients use: it moves to the other node when its holder fails. */
  public readonly virtualIp: pulumi.Output<string>;
  /** sha256 of the haproxy.cfg live on both nodes. */
  public readonly configHash: pulumi.Output<string>;
  /** The step that rolls haproxy.cfg out to both nodes. */
  public readonly config: command.local.Command;
  /** keepalived's configuration step on each node, in node order. */
  public readonly keepalived: command.local.Command[];
  /** The two nodes, in priority order. */
  public readonly nodes: readonly [HaproxyNode, HaproxyNode];

  constructor(name: string, args: HaproxyPairArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:HaproxyPair", name, {}, opts);
    const options = completeHaproxyArgs(args);
    const [first, second] = args.nodes;
    const refs = pulumi.all([first.container.ref, second.container.ref]);
    const generations = [first.container.generation, second.container.generation];
    const fleets = pulumi
      .all([upstreams(args.pools?.backendApi?.servers), upstreams(args.pools?.streamServer?.servers)])
      .apply(([backendApi, streamServer]) => ({ backendApi, streamServer }));
    const vip = args.keepalived.virtualIp;
    const seenAt = new Date();
    const configLive = driftOption(
      args.nodes.flatMap((node) => driftOf(node.live, { recorded: [LIVE_CONFIG] }).map((drift) => `${node.nodeName}: ${drift}`)),
      seenAt,
    );
    // The rate limits' request counts are shared between the two nodes, each named as HAProxy
    // names itself by default: its host name, the container's name.
    const peers = pulumi.all([first.address, second.address]).apply(([a, b]): Upstream[] => [
      { name: first.containerName, address: a },
      { name: second.containerName, address: b },
    ]);

    const rollout = labelledStep(["roll haproxy.cfg out to both nodes", ROLLOUT_SCRIPT]);
    this.config = new command.local.Command(
      `${name}-config`,
      {
        create: rollout.create,
        interpreter: rollout.interpreter,
        environment: pulumi.all([refs, fleets, peers]).apply(([r, f, p]) => ({
          ...rollout.environment,
          ...configEnvironment({ VEZA_REFS: r.join(" "), VEZA_VIRTUAL_IP: vip }, options, f, p),
          ...configLive.environment,
        })),
        triggers: generations,
        logging: "stderr",
      },
      { parent: this, dependsOn: [first.setup, second.setup], ignoreChanges: configLive.ignoreChanges },
    );

    // keepalived starts once HAProxy serves the config: its check asks HAProxy's monitor URI.
    const pair = pulumi.all([first.address, second.address]).apply(([a, b]): Upstream[] => [
      { name: first.nodeName, address: a },
      { name: second.nodeName, address: b },
    ]);
    const keepalived = labelledStep(["configure keepalived", KEEPALIVED_SCRIPT], ["stop keepalived", KEEPALIVED_DELETE_SCRIPT]);
    this.keepalived = args.nodes.map((node) => {
      const live = driftOption(driftOf(node.live, { recorded: [KEEPALIVED_CONF_PATH], units: ["keepalived"] }), seenAt);
      return new command.local.Command(
        `${node.nodeName}-keepalived`,
        {
          create: keepalived.create,
          delete: keepalived.delete,
          interpreter: keepalived.interpreter,
          environment: pulumi.all([node.container.ref, pair]).apply(([ref, p]) => ({
            ...keepalived.environment,
            VEZA_REF: ref,
            VEZA_KEEPALIVED_CONF: renderKeepalivedConfig(args.keepalived, p, node.nodeName),
            ...live.environment,
          })),
          triggers: [node.container.generation],
          logging: "stderr",
        },
        { parent: this, dependsOn: [this.config], ignoreChanges: live.ignoreChanges },
      );
    });
    this.nodes = args.nodes;
    // Known once keepalived runs on both nodes: only then does the address answer.
    this.virtualIp = pulumi.all(this.keepalived.map((step) => step.stdout)).apply(() => vip);
    this.configHash = this.config.stdout;
    this.registerOutputs({ virtualIp: this.virtualIp, configHash: this.configHash });
  }
}
