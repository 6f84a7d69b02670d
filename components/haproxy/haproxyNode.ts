import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CompleteHaproxyOptions, completeHaproxyOptions, haproxyProblems } from "./haproxyArgs";
import { HaproxyOptions, HaproxyPool } from "./haproxyOptions";
import { Fleets, Upstream, configHash, renderHaproxyConfig, serverNames } from "./haproxyConfig";
import { APPLY_CONFIG_SCRIPT, LIVE_CONFIG, SETUP_SCRIPT, setupFiles } from "./haproxyScripts";
import { fileDigest } from "../common/fileDigest";
import { IncusContainer, checkedContainer } from "../incus/incusContainer";
import { InstanceLimits } from "../incus/instanceLimits";
import { IncusPlacement, labelledStep } from "../incus/incusScripts";
import { LiveContainer, driftOf, driftOption, sha256 } from "../incus/liveState";
import { renderTemplate } from "../common/templates";

/** A server of a pool: an instance component (its `upstream`), or a name and address. */
export type UpstreamSource = { readonly upstream: pulumi.Input<Upstream> } | pulumi.Input<Upstream>;

/** A pool of a {@link HaproxyNode}: its servers, their port and the fallbacks. */
export interface HaproxyPoolArgs extends HaproxyPool {
  /**
   * The pool's servers: BackendApiInstance / StreamServerInstance components, or `{ name, address }`
   * (name: letters, digits and hyphens; the HAProxy server name and cookie value). Defaults to [],
   * which uses `fallbacks`.
   */
  servers?: UpstreamSource[];
}

/** Arguments of a {@link HaproxyNode}: where its container goes, and the HAProxy option groups. */
export interface HaproxyNodeArgs extends HaproxyOptions<HaproxyPoolArgs> {
  /** Incus container name, e.g. `lab-haproxy` (letters, digits and hyphens). Required. */
  containerName: string;
  /** Remote, cluster target, image, network and pool of the container. Required. */
  placement: pulumi.Input<IncusPlacement>;
  /** Password of the stats page (user `admin`), e.g. the first node's for the second of a pair. Defaults to a generated one. */
  statsPassword?: pulumi.Input<string>;
  /** The container's CPU, memory and root disk limits, changed in place. Each field defaults as {@link InstanceLimits} says. */
  limits?: InstanceLimits;
  /**
   * What is live in the container now (liveState.ts's `observeContainers`): where HAProxy's files
   * or service differ from what this node installs (haproxy.cfg edited by hand, say), the preview
   * says so and `up` repairs it. Left out, nothing is compared.
   */
  live?: LiveContainer;
}

/**
 * Marks the arguments of a node an {@link HaproxyPair} builds: the pair rolls haproxy.cfg out to
 * its two nodes in turn, so such a node has no config step of its own. A symbol the package's
 * index does not export, so only the pair can build a node that way.
 */
export const PAIRED = Symbol("HaproxyPair's node");

/** What an {@link HaproxyPair} gives each of its nodes. */
export interface PairedNodeArgs extends HaproxyNodeArgs {
  [PAIRED]: true;
}

/** The files and units a node's probe reads (liveState.ts), for `observeContainers`. */
export const HAPROXY_WATCH = { files: [LIVE_CONFIG, ...Object.keys(setupFiles(""))], units: ["haproxy"] };

/** True for an instance component (anything with an `upstream`), false for an Input<Upstream>. */
function hasUpstream(source: UpstreamSource): source is { readonly upstream: pulumi.Input<Upstream> } {
  return !pulumi.Output.isInstance(source) && typeof source === "object" && source !== null && "upstream" in source;
}

/** The servers of a pool, whatever form they were given in. */
export function upstreams(sources: UpstreamSource[] = []): pulumi.Output<Upstream[]> {
  return pulumi.all(sources.map((source) => (hasUpstream(source) ? source.upstream : source)));
}

/**
 * The environment of {@link APPLY_TO_NODE}: haproxy.cfg for complete options, the pools' servers
 * and a pair's `peers` (none for a single node), and each server's runtime state; `target` names
 * the node or nodes it goes to. Throws, naming the argument, when a pool has no server, a server
 * cannot be one, or a drained server is in neither pool.
 */
export function configEnvironment(
  target: Record<string, string>,
  options: CompleteHaproxyOptions,
  fleets: Fleets,
  peers: readonly Upstream[] = [],
): Record<string, string> {
  const servers = serverNames(options, fleets);
  const unknown = options.drain.servers.filter((drained) => !servers.some(({ server }) => server === drained));
  if (unknown.length > 0) throw new Error(`drain.servers names ${unknown.join(", ")}, a server of neither pool`);
  const drained = new Set(options.drain.servers);
  const config = renderHaproxyConfig(options, fleets, peers);
  const pem = options.listeners.tlsPemPath;
  return {
    ...target,
    VEZA_CONFIG: config,
    VEZA_CONFIG_SHA256: configHash(config),
    VEZA_TLS_PEM: pem,
    VEZA_TLS_PEM_SHA256: pem ? fileDigest(pem) : "",
    VEZA_SERVER_STATES: servers
      .map(({ backend, server }) => `set server ${backend}/${server} state ${drained.has(server) ? "drain" : "ready"}`)
      .join("; "),
  };
}

/**
 * The load balancer: an Incus container running HAProxy, its config rendered from the pools'
 * servers and applied safely, and a generated stats password kept secret.
 */
export class HaproxyNode extends pulumi.ComponentResource {
  /** Incus container name. */
  public readonly containerName: string;
  /** IPv4 address the listeners are reachable at. */
  public readonly address: pulumi.Output<string>;
  /** Generated password of the stats page (user `admin`); a secret. */
  public readonly statsPassword: pulumi.Output<string>;
  /** sha256 of the haproxy.cfg now live; empty for a pair's node (the pair's `configHash` is the one). */
  public readonly configHash: pulumi.Output<string>;
  /** Logical name, e.g. `haproxy` or `haproxy-2`: the component's name, without the stack's prefix. */
  public readonly nodeName: string;
  /** The HAProxy container. */
  public readonly container: IncusContainer;
  /** The step that installs HAProxy's secrets and hardening and starts it. */
  public readonly setup: command.local.Command;
  /** The step that checks haproxy.cfg in place and reloads HAProxy with it, unless a pair does; its stdout is {@link configHash}. */
  public readonly config?: command.local.Command;
  /** What was live in the container when the program ran, as given. */
  public readonly live?: LiveContainer;

  constructor(name: string, args: HaproxyNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:HaproxyNode", name, {}, opts);
    const options = completeHaproxyOptions(args);
    const paired = Boolean((args as Partial<PairedNodeArgs>)[PAIRED]);
    // Checked here, naming the argument, rather than by haproxy -c inside the container.
    const container = checkedContainer(this, name, args, haproxyProblems(options, paired), "haproxy");
    // Letters and digits only: it travels through an environment file and haproxy.cfg's
    // environment expansion, where punctuation would need quoting rules of its own.
    const password = args.statsPassword
      ? pulumi.secret(args.statsPassword)
      : new random.RandomPassword(`${name}-stats-password`, { length: 40, special: false }, { parent: this }).result;
    const hardening = renderTemplate("haproxy-hardening.conf", {});
    const files = Object.fromEntries(Object.entries(setupFiles(hardening)).map(([file, text]) => [file, sha256(text)]));
    const setupLive = driftOption(driftOf(args.live, { files, units: ["haproxy"] }), new Date());
    const setupStep = labelledStep(["set up HAProxy", SETUP_SCRIPT]);
    const setup = new command.local.Command(
      `${name}-setup`,
      {
        create: setupStep.create,
        interpreter: setupStep.interpreter,
        environment: {
          ...setupStep.environment,
          VEZA_REF: container.ref,
          VEZA_STATS_PASSWORD: password,
          VEZA_HARDENING: hardening,
          ...setupLive.environment,
        },
        triggers: [container.launchId],
        logging: "none",
      },
      // A new container is limited before HAProxy starts.
      { parent: this, dependsOn: container.limits ? [container.limits] : [], ignoreChanges: setupLive.ignoreChanges },
    );
    this.nodeName = name;
    this.container = container;
    this.setup = setup;
    if (!paired) {
      const configLive = driftOption(driftOf(args.live, { recorded: [LIVE_CONFIG] }), new Date());
      const configStep = labelledStep(["apply haproxy.cfg", APPLY_CONFIG_SCRIPT]);
      const environment = pulumi
        .all([container.ref, upstreams(args.pools?.backendApi?.servers), upstreams(args.pools?.streamServer?.servers)])
        .apply(([ref, backendApi, streamServer]) => {
          try {
            return {
              ...configStep.environment,
              ...configEnvironment({ VEZA_REF: ref }, options, { backendApi, streamServer }),
              ...configLive.environment,
            };
          } catch (error) {
            throw new pulumi.ResourceError((error as Error).message, this);
          }
        });
      this.config = new command.local.Command(
        `${name}-config`,
        {
          create: configStep.create,
          interpreter: configStep.interpreter,
          environment,
          triggers: [container.launchId],
          logging: "stderr",
        },
        { parent: this, dependsOn: [setup], ignoreChanges: configLive.ignoreChanges },
      );
    }
    this.live = args.live;
    this.containerName = args.containerName;
    this.address = container.address;
    this.statsPassword = password;
    this.configHash = this.config ? this.config.stdout : pulumi.output("");
    this.registerOutputs({
      containerName: this.containerName,
      address: this.address,
      statsPassword: this.statsPassword,
      configHash: this.configHash,
    });
  }
}
