import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
  ADMIN_SOCKET,
  Fleets,
  HaproxySettings,
  STATS_PASSWORD_ENV,
  TLS_PEM_PATH,
  Upstream,
  configHash,
  renderHaproxyConfig,
  serverNames,
} from "./haproxyConfig";
import { IncusContainer } from "./incusContainer";
import { BASH, INSTALL_NEXT, IncusPlacement, WRITE_FILE } from "./incusScripts";
import { shellQuote } from "./shell";
import { renderTemplate } from "./templates";

/** Environment file the stats password reaches HAProxy through, so it never stands in haproxy.cfg or in state. */
const SECRETS_ENV = "/etc/haproxy/veza-secrets.env";
const SECRETS_DROPIN = "/etc/systemd/system/haproxy.service.d/veza-secrets.conf";
const HARDENING_DROPIN = "/etc/systemd/system/haproxy.service.d/veza-hardening.conf";
const LIVE = "/etc/haproxy/haproxy.cfg";
const CANDIDATE = `${LIVE}.next`;
const PREVIOUS = `${LIVE}.previous`;

/** Arguments of a {@link HaproxyNode}: the typed settings groups plus the fleets it balances. */
export interface HaproxyNodeArgs {
  /** Incus container name (validated; includes the stack's name prefix). */
  containerName: string;
  /** Remote, cluster target, image, network and pool of the container. */
  placement: pulumi.Input<IncusPlacement>;
  /** Listeners, health checks, sticky cookie, URI hash, timeouts and drain list, validated. */
  settings: pulumi.Input<HaproxySettings>;
  /** backend-api servers (name and address); empty uses the static fallback list. */
  backendApi: pulumi.Input<Upstream[]>;
  /** stream-server servers (name and address); empty uses the static fallback list. */
  streamServer: pulumi.Input<Upstream[]>;
  /**
   * Whether this node applies haproxy.cfg itself. An {@link HaproxyPair} sets it false and rolls
   * the config out to its two nodes in turn. Defaults to true.
   */
  applyConfig?: boolean;
  /** Password of the stats page (user `admin`), e.g. the first node's for the second of a pair. Defaults to a generated one. */
  statsPassword?: pulumi.Input<string>;
}

/**
 * Inside the container: installs the secrets file, its drop-in and the hardening drop-in written
 * beside them, enables the unit (the lab image leaves it disabled: only this container runs
 * HAProxy) and restarts HAProxy only when one of them changed or it is not running. A reload
 * keeps the master's environment and sandbox, so these changes take a restart: it happens when
 * the container is new, before any traffic, and when the password or the hardening changes.
 */
export const SETUP_IN_CONTAINER = `set -e
${INSTALL_NEXT}
install_next ${SECRETS_ENV}
install_next ${SECRETS_DROPIN}
install_next ${HARDENING_DROPIN}
systemctl enable --quiet --no-reload haproxy
[ "$(systemctl show -p NeedDaemonReload --value haproxy)" = no ] || systemctl daemon-reload
if $changed || ! systemctl is-active --quiet haproxy; then systemctl restart haproxy; fi`;

/**
 * The stats password (from VEZA_STATS_PASSWORD) as an environment file of haproxy.service, so
 * it stands neither in haproxy.cfg nor in any script; then {@link SETUP_IN_CONTAINER}.
 */
export const SETUP_SCRIPT = `write() { incus exec "$VEZA_REF" -- sh -c ${shellQuote(WRITE_FILE)} sh "$1.next" "$2"; }
printf '%s=%s\\n' ${STATS_PASSWORD_ENV} "$VEZA_STATS_PASSWORD" | write ${SECRETS_ENV} 0600
printf '[Service]\\nEnvironmentFile=%s\\n' ${SECRETS_ENV} | write ${SECRETS_DROPIN} 0644
printf '%s' "$VEZA_HARDENING" | write ${HARDENING_DROPIN} 0644
incus exec "$VEZA_REF" -- sh -c ${shellQuote(SETUP_IN_CONTAINER)}`;

/**
 * Inside the container: a new PEM (pushed beside the live one) is swapped in, then the candidate
 * config is checked with it; on rejection both go back, and HAProxy's own message is printed.
 */
export const CHECK_CANDIDATE = `set -eu
pem=${TLS_PEM_PATH}
if [ -e "$pem.next" ]; then
  if [ -e "$pem" ]; then cp -p "$pem" "$pem.previous"; fi
  mv "$pem.next" "$pem"
fi
set -a; . ${SECRETS_ENV}; set +a
if haproxy -c -f ${CANDIDATE} 2>&1; then rm -f "$pem.previous"; exit 0; fi
if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; fi
rm -f ${CANDIDATE}
exit 1`;

/**
 * Inside the container: carry runtime state over (only when the live config names the same
 * state file, see haproxyConfig.ts), swap the checked candidate in, reload (master-worker: the new
 * worker takes over the listeners, nothing is refused), and wait for the new worker. When none
 * comes up, the previous file goes back: what is on disk stays what is serving.
 */
export const SWAP_AND_RELOAD = `set -eu
state_file() { awk '$1 == "server-state-file" { print $2 }' "$1" 2>/dev/null; }
worker() { echo "show info" | socat stdio ${ADMIN_SOCKET} 2>/dev/null | awk -F': ' '$1 == "Pid" { print $2 }'; }
state=$(state_file ${CANDIDATE})
# A stopped HAProxy leaves its socket file behind: no state to carry over then, and the restart
# below brings it back.
if [ -S ${ADMIN_SOCKET} ] && [ "$state" = "$(state_file ${LIVE})" ]; then
  echo "show servers state" | socat stdio ${ADMIN_SOCKET} > "$state" 2>/dev/null || rm -f "$state"
else
  rm -f "$state"
fi
before=$(worker || true)
cp -p ${LIVE} ${PREVIOUS}
mv ${CANDIDATE} ${LIVE}
if systemctl is-active --quiet haproxy; then systemctl reload haproxy; else systemctl enable --quiet haproxy; systemctl restart haproxy; fi
for _ in $(seq 1 100); do
  after=$(worker || true)
  if [ -n "$after" ] && [ "$after" != "$before" ]; then exit 0; fi
  sleep 0.1
done
mv ${PREVIOUS} ${LIVE}
journalctl -u haproxy -n 15 --no-pager -o cat >&2 || true
echo "HAProxy started no worker with the new configuration within 10 s; the previous file is back in place" >&2
exit 1`;

/**
 * Inside the container: sends the admin commands "$1" to the runtime API. Right after a reload the
 * socket can refuse a connection for a moment (seen once when a reload followed a start closely),
 * so it is asked again for up to 2 s.
 */
export const SET_SERVER_STATES = `for _ in 1 2 3 4 5 6 7 8 9 10; do
  printf '%s\\n' "$1" | socat stdio ${ADMIN_SOCKET} >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "HAProxy's admin socket refused the server states for 2 s" >&2
exit 1`;

/**
 * A bash function, `apply_to REF`: applies the rendered haproxy.cfg (VEZA_CONFIG) to one node
 * without ever breaking it: the candidate is written beside the live file, with the PEM named by
 * VEZA_TLS_PEM if any, and checked there by the container's own `haproxy -c`; only then does it
 * replace the live file, with a hitless reload. The servers' runtime states (VEZA_SERVER_STATES:
 * one line of admin commands, drain or ready) are then set through the admin socket. A refused
 * config ends the whole script, so a rollout stops at the first node that refuses it.
 */
export const APPLY_TO_NODE = `apply_to() {
  local ref=$1 verdict
  printf '%s' "$VEZA_CONFIG" | incus exec "$ref" -- sh -c ${shellQuote(WRITE_FILE)} sh ${CANDIDATE} 0644
  if [ -n "$VEZA_TLS_PEM" ]; then
    incus exec "$ref" -- install -d -m 0750 -g haproxy ${path.posix.dirname(TLS_PEM_PATH)}
    incus file push --mode 0640 "$VEZA_TLS_PEM" "$ref${TLS_PEM_PATH}.next" >&2
    incus exec "$ref" -- chgrp haproxy ${TLS_PEM_PATH}.next
  fi
  if ! verdict=$(incus exec "$ref" -- sh -c ${shellQuote(CHECK_CANDIDATE)} 2>&1); then
    printf 'HAProxy in %s rejected the new configuration; the live one keeps serving.\\n%s\\n' "$ref" "$verdict" >&2
    exit 1
  fi
  incus exec "$ref" -- sh -c ${shellQuote(SWAP_AND_RELOAD)}
  # One line of \`;\`-separated commands: the admin socket runs them all, one \`incus exec\` in all.
  [ -z "$VEZA_SERVER_STATES" ] || incus exec "$ref" -- sh -c ${shellQuote(SET_SERVER_STATES)} sh "$VEZA_SERVER_STATES"
}`;

/** Applies the config to the node VEZA_REF ({@link APPLY_TO_NODE}) and prints the config's sha256. */
export const APPLY_CONFIG_SCRIPT = `${APPLY_TO_NODE}
apply_to "$VEZA_REF"
printf '%s\\n' "$VEZA_CONFIG_SHA256"`;

/** sha256 of a file on the Pulumi host: the PEM's stands in the apply step, so a new PEM re-runs it. */
function fileDigest(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/**
 * The environment of {@link APPLY_TO_NODE}: the rendered config, its sha256, the PEM to push, and
 * every server's runtime state (drain for those in the drain list, ready for the others); `target`
 * names the node or nodes it goes to.
 */
export function configEnvironment(target: Record<string, string>, settings: HaproxySettings, fleets: Fleets): Record<string, string> {
  const config = renderHaproxyConfig(settings, fleets);
  const drained = new Set(settings.drainServers);
  const states = serverNames(settings, fleets).map(({ backend, server }) => `set server ${backend}/${server} state ${drained.has(server) ? "drain" : "ready"}`);
  return {
    ...target,
    VEZA_CONFIG: config,
    VEZA_CONFIG_SHA256: configHash(config),
    VEZA_TLS_PEM: settings.tlsCertPath,
    VEZA_TLS_PEM_SHA256: settings.tlsCertPath ? fileDigest(settings.tlsCertPath) : "",
    VEZA_SERVER_STATES: states.join("; "),
  };
}

/**
 * The load balancer: an Incus container running HAProxy, its config rendered from the fleets'
 * addresses and applied safely, and a generated stats password kept secret.
 */
export class HaproxyNode extends pulumi.ComponentResource {
  /** Logical name, e.g. `haproxy` or `haproxy-2`: the component's name, without the stack's prefix. */
  public readonly nodeName: string;
  /** Incus container name. */
  public readonly containerName: string;
  /** IPv4 address the listeners are reachable at. */
  public readonly address: pulumi.Output<string>;
  /** Generated password of the stats page (user `admin`); a secret. */
  public readonly statsPassword: pulumi.Output<string>;
  /** sha256 of the haproxy.cfg now live; empty when a pair applies it ({@link HaproxyNodeArgs.applyConfig}). */
  public readonly configHash: pulumi.Output<string>;
  /** The container HAProxy runs in. */
  public readonly container: IncusContainer;
  /** The step that installs HAProxy's secrets and hardening and starts it. */
  public readonly setup: command.local.Command;
  /** The step that applies haproxy.cfg, unless a pair does. */
  public readonly config?: command.local.Command;

  constructor(name: string, args: HaproxyNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:HaproxyNode", name, {}, opts);
    const container = new IncusContainer(name, { name: args.containerName, placement: args.placement }, { parent: this });
    const settings = pulumi.output(args.settings);
    // Letters and digits only: it travels through an environment file and haproxy.cfg's
    // environment expansion, where punctuation would need quoting rules of its own.
    const password = args.statsPassword
      ? pulumi.secret(args.statsPassword)
      : new random.RandomPassword(`${name}-stats-password`, { length: 40, special: false }, { parent: this }).result;
    const setup = new command.local.Command(
      `${name}-setup`,
      {
        create: SETUP_SCRIPT,
        interpreter: BASH,
        environment: {
          VEZA_REF: container.ref,
          VEZA_STATS_PASSWORD: password,
          VEZA_HARDENING: renderTemplate("haproxy-hardening.conf", {}),
        },
        triggers: [container.generation],
        logging: "none",
      },
      { parent: this },
    );
    this.nodeName = name;
    this.container = container;
    this.setup = setup;
    if (args.applyConfig !== false) {
      const environment = pulumi
        .all([container.ref, settings, args.backendApi, args.streamServer])
        .apply(([ref, s, backendApi, streamServer]) => configEnvironment({ VEZA_REF: ref }, s, { backendApi, streamServer }));
      this.config = new command.local.Command(
        `${name}-config`,
        { create: APPLY_CONFIG_SCRIPT, interpreter: BASH, environment, triggers: [container.generation], logging: "stderr" },
        { parent: this, dependsOn: [setup] },
      );
      this.configHash = this.config.stdout;
    } else {
      this.configHash = pulumi.output("");
    }
    this.containerName = args.containerName;
    this.address = container.address;
    this.statsPassword = password;
    this.registerOutputs({
      containerName: this.containerName,
      address: this.address,
      statsPassword: this.statsPassword,
      configHash: this.configHash,
    });
  }
}
