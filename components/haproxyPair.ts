import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HaproxyOptions, completeHaproxyArgs } from "./haproxyArgs";
import { Upstream } from "./haproxyConfig";
import { APPLY_TO_NODE, HaproxyNode, HaproxyPoolArgs, configEnvironment, upstreams } from "./haproxyNode";
import { BASH, FILES_ROOT, INSTALL_NEXT, WRITE_FILE } from "./incusScripts";
import { KEEPALIVED_CONF_PATH, KeepalivedSettings, renderKeepalivedConfig } from "./keepalivedConfig";
import { shellQuote } from "./shell";

/** Arguments of an {@link HaproxyPair}: the HAProxy options of its nodes, and the pair's own. */
export interface HaproxyPairArgs extends HaproxyOptions<HaproxyPoolArgs> {
  /** The two nodes, in priority order (the first takes the address when neither holds it), made with `applyConfig: false`. */
  nodes: [HaproxyNode, HaproxyNode];
  /** The virtual IP and VRRP timing (veza-infra:virtualIp, vrrpAdvertIntervalMs, vrrpRouterId) and the stats port keepalived's check asks. */
  keepalived: KeepalivedSettings;
}

/**
 * Inside a node: checks the keepalived.conf written beside the live one with keepalived's own
 * parser, installs it when it changed, and reloads keepalived (a reload keeps the address where
 * it is; a restart would drop it and move every connection) or starts it if it is not running.
 */
export const KEEPALIVED_IN_CONTAINER = `set -e
${FILES_ROOT}
conf="$root"${KEEPALIVED_CONF_PATH}
if ! verdict=$(keepalived -t -f "$conf.next" 2>&1); then
  rm -f "$conf.next"
  echo "keepalived rejected the new configuration; the live one stays: $verdict" >&2
  exit 1
fi
${INSTALL_NEXT}
install_next "$conf"
systemctl enable --quiet keepalived
if ! systemctl is-active --quiet keepalived; then systemctl start keepalived
elif $changed; then systemctl reload keepalived; fi`;

/** Writes VEZA_KEEPALIVED_CONF into the node VEZA_REF, then {@link KEEPALIVED_IN_CONTAINER}. */
export const KEEPALIVED_SCRIPT = `printf '%s' "$VEZA_KEEPALIVED_CONF" | incus exec "$VEZA_REF" -- sh -c ${shellQuote(WRITE_FILE)} sh ${KEEPALIVED_CONF_PATH}.next 0644
incus exec "$VEZA_REF" -- sh -c ${shellQuote(KEEPALIVED_IN_CONTAINER)}`;

/** When the pair goes (haproxyCount back to 1), keepalived stops on a node that stays, and lets go of the address. */
export const KEEPALIVED_DELETE_SCRIPT = `incus info "$VEZA_REF" >/dev/null 2>&1 || exit 0
incus exec "$VEZA_REF" -- systemctl disable --now --quiet keepalived`;

/**
 * Rolls haproxy.cfg out to both nodes (VEZA_REFS, space-separated, in priority order), one after
 * the other, the node not holding VEZA_VIRTUAL_IP first: the holder, which serves every client,
 * is touched only once the same config has gone live on the other node. Both nodes stage it (and
 * HAProxy checks it) before either swaps, so a config refused, or not writable, on either node
 * goes live on neither. Prints the config's sha256.
 */
export const ROLLOUT_SCRIPT = `${APPLY_TO_NODE}
read -r -a refs <<< "$VEZA_REFS"
holder=
for ref in "\${refs[@]}"; do
  # grep reads to the end: -q would stop early and fail the pipeline (pipefail, SIGPIPE).
  if incus exec "$ref" -- ip -4 -o addr show dev eth0 2>/dev/null | grep -F " $VEZA_VIRTUAL_IP/" >/dev/null; then holder=$ref; fi
done
order=()
for ref in "\${refs[@]}"; do [ "$ref" = "$holder" ] || order+=("$ref"); done
[ -z "$holder" ] || order+=("$holder")
# Every node stages (and HAProxy checks) before any swaps: a node that cannot take the config
# (a rejection, a full disk) leaves every node on the live one.
staged=()
for ref in "\${order[@]}"; do
  if ! stage_on "$ref"; then
    for back in "\${staged[@]}"; do unstage_on "$back" || true; done
    exit 1
  fi
  staged+=("$ref")
done
for ref in "\${order[@]}"; do swap_on "$ref"; done
printf '%s\\n' "$VEZA_CONFIG_SHA256"`;

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

    this.config = new command.local.Command(
      `${name}-config`,
      {
        create: ROLLOUT_SCRIPT,
        interpreter: BASH,
        environment: pulumi
          .all([refs, fleets])
          .apply(([r, f]) => configEnvironment({ VEZA_REFS: r.join(" "), VEZA_VIRTUAL_IP: vip }, options, f)),
        triggers: generations,
        logging: "stderr",
      },
      { parent: this, dependsOn: [first.setup, second.setup] },
    );

    // keepalived starts once HAProxy serves the config: its check asks HAProxy's monitor URI.
    const pair = pulumi.all([first.address, second.address]).apply(([a, b]): Upstream[] => [
      { name: first.nodeName, address: a },
      { name: second.nodeName, address: b },
    ]);
    this.keepalived = args.nodes.map(
      (node) =>
        new command.local.Command(
          `${node.nodeName}-keepalived`,
          {
            create: KEEPALIVED_SCRIPT,
            delete: KEEPALIVED_DELETE_SCRIPT,
            interpreter: BASH,
            environment: pulumi.all([node.container.ref, pair]).apply(([ref, p]) => ({
              VEZA_REF: ref,
              VEZA_KEEPALIVED_CONF: renderKeepalivedConfig(args.keepalived, p, node.nodeName),
            })),
            triggers: [node.container.generation],
            logging: "stderr",
          },
          { parent: this, dependsOn: [this.config] },
        ),
    );
    // Known once keepalived runs on both nodes: only then does the address answer.
    this.virtualIp = pulumi.all(this.keepalived.map((step) => step.stdout)).apply(() => vip);
    this.configHash = this.config.stdout;
    this.registerOutputs({ virtualIp: this.virtualIp, configHash: this.configHash });
  }
}
