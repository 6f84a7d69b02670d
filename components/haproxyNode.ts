import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HAPROXY_FIELDS, HaproxyConfigArgs, HaproxyOptions, HaproxyPool, completeHaproxyArgs, settingsFromHaproxyArgs } from "./haproxyArgs";
import { ADMIN_SOCKET, Fleets, STATS_PASSWORD_ENV, TLS_PEM_PATH, Upstream, configHash, renderHaproxyConfigFromArgs, serverNamesFromArgs } from "./haproxyConfig";
import { IncusContainer } from "./incusContainer";
import { BASH, INSTALL_NEXT, IncusPlacement, WRITE_FILE } from "./incusScripts";
import { shellQuote } from "./shell";
import { renderTemplate } from "./templates";
import { INCUS_NAME_RULE, argumentProblems, inArgumentTerms, isIncusName } from "./validation";

/** Environment file the stats password reaches HAProxy through, so it never stands in haproxy.cfg or in state. */
const SECRETS_ENV = "/etc/haproxy/veza-secrets.env";
const SECRETS_DROPIN = "/etc/systemd/system/haproxy.service.d/veza-secrets.conf";
const HARDENING_DROPIN = "/etc/systemd/system/haproxy.service.d/veza-hardening.conf";
const LIVE = "/etc/haproxy/haproxy.cfg";
const CANDIDATE = `${LIVE}.next`;
const PREVIOUS = `${LIVE}.previous`;

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
}

/** True for an instance component (anything with an `upstream`), false for an Input<Upstream>. */
function hasUpstream(source: UpstreamSource): source is { readonly upstream: pulumi.Input<Upstream> } {
  return !pulumi.Output.isInstance(source) && typeof source === "object" && source !== null && "upstream" in source;
}

/** The servers of a pool, whatever form they were given in. */
function upstreams(sources: UpstreamSource[] = []): pulumi.Output<Upstream[]> {
  return pulumi.all(sources.map((source) => (hasUpstream(source) ? source.upstream : source)));
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
if [ -S ${ADMIN_SOCKET} ] && [ "$state" = "$(state_file ${LIVE})" ]; then
  echo "show servers state" | socat stdio ${ADMIN_SOCKET} > "$state"
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
 * Applies the rendered haproxy.cfg (VEZA_CONFIG) without ever breaking the live load balancer:
 * the candidate is written beside the live file, with the PEM named by VEZA_TLS_PEM if any, and
 * checked there by the container's own `haproxy -c`; only then does it replace the live file,
 * with a hitless reload. The servers' runtime states (VEZA_SERVER_STATES: one line of admin
 * commands, drain or ready) are then set through the admin socket. Prints the config's sha256.
 */
export const APPLY_CONFIG_SCRIPT = `printf '%s' "$VEZA_CONFIG" | incus exec "$VEZA_REF" -- sh -c ${shellQuote(WRITE_FILE)} sh ${CANDIDATE} 0644
if [ -n "$VEZA_TLS_PEM" ]; then
  incus exec "$VEZA_REF" -- install -d -m 0750 -g haproxy ${path.posix.dirname(TLS_PEM_PATH)}
  incus file push --mode 0640 "$VEZA_TLS_PEM" "$VEZA_REF${TLS_PEM_PATH}.next" >&2
  incus exec "$VEZA_REF" -- chgrp haproxy ${TLS_PEM_PATH}.next
fi
if ! verdict=$(incus exec "$VEZA_REF" -- sh -c ${shellQuote(CHECK_CANDIDATE)} 2>&1); then
  printf 'HAProxy rejected the new configuration; the live one keeps serving.\\n%s\\n' "$verdict" >&2
  exit 1
fi
incus exec "$VEZA_REF" -- sh -c ${shellQuote(SWAP_AND_RELOAD)}
# One line of \`;\`-separated commands: the admin socket runs them all, one \`incus exec\` in all.
[ -z "$VEZA_SERVER_STATES" ] || printf '%s\\n' "$VEZA_SERVER_STATES" | incus exec "$VEZA_REF" -- socat stdio ${ADMIN_SOCKET} >/dev/null
printf '%s\\n' "$VEZA_CONFIG_SHA256"`;

/** sha256 of a file on the Pulumi host: the PEM's stands in the apply step, so a new PEM re-runs it. */
function fileDigest(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/**
 * The environment of {@link APPLY_CONFIG_SCRIPT}: haproxy.cfg for complete options and the pools'
 * servers, and each server's runtime state. Throws, naming the argument, when a pool has no
 * server, a server cannot be one, or a drained server is in neither pool.
 */
export function applyConfigEnvironment(ref: string, options: HaproxyConfigArgs, fleets: Fleets): Record<string, string> {
  try {
    const servers = serverNamesFromArgs(options, fleets);
    const unknown = options.drain.servers.filter((drained) => !servers.some(({ server }) => server === drained));
    if (unknown.length > 0) throw new Error(`drain.servers names ${unknown.join(", ")}, a server of neither pool`);
    const drained = new Set(options.drain.servers);
    const config = renderHaproxyConfigFromArgs(options, fleets);
    const pem = options.listeners.tlsPemPath;
    return {
      VEZA_REF: ref,
      VEZA_CONFIG: config,
      VEZA_CONFIG_SHA256: configHash(config),
      VEZA_TLS_PEM: pem,
      VEZA_TLS_PEM_SHA256: pem ? fileDigest(pem) : "",
      VEZA_SERVER_STATES: servers.map(({ backend, server }) => `set server ${backend}/${server} state ${drained.has(server) ? "drain" : "ready"}`).join("; "),
    };
  } catch (error) {
    throw new Error(inArgumentTerms((error as Error).message, HAPROXY_FIELDS));
  }
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
  /** sha256 of the haproxy.cfg now live. */
  public readonly configHash: pulumi.Output<string>;
  /** The HAProxy container. */
  public readonly container: IncusContainer;
  /** The step that checks haproxy.cfg in place and reloads HAProxy with it; its stdout is {@link configHash}. */
  public readonly config: command.local.Command;

  constructor(name: string, args: HaproxyNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:HaproxyNode", name, {}, opts);
    const options = completeHaproxyArgs(args);
    // The stack's own rules, so a program without index.ts's validation fails here, naming the
    // argument, rather than in haproxy -c inside the container.
    const problems = [
      ...(isIncusName(args.containerName) ? [] : [`containerName must be ${INCUS_NAME_RULE} (got ${JSON.stringify(args.containerName)})`]),
      ...argumentProblems(settingsFromHaproxyArgs(options), HAPROXY_FIELDS),
    ];
    if (problems.length > 0) throw new pulumi.ResourceError(`invalid arguments of ${name}:\n${problems.map((p) => `  - ${p}`).join("\n")}`, this);
    const container = new IncusContainer(name, { name: args.containerName, placement: args.placement }, { parent: this });
    // Letters and digits only: it travels through an environment file and haproxy.cfg's
    // environment expansion, where punctuation would need quoting rules of its own.
    const password = new random.RandomPassword(`${name}-stats-password`, { length: 40, special: false }, { parent: this });
    const setup = new command.local.Command(
      `${name}-setup`,
      {
        create: SETUP_SCRIPT,
        interpreter: BASH,
        environment: {
          VEZA_REF: container.ref,
          VEZA_STATS_PASSWORD: password.result,
          VEZA_HARDENING: renderTemplate("haproxy-hardening.conf", {}),
        },
        triggers: [container.generation],
        logging: "none",
      },
      { parent: this },
    );
    const environment = pulumi
      .all([container.ref, upstreams(args.pools?.backendApi?.servers), upstreams(args.pools?.streamServer?.servers)])
      .apply(([ref, backendApi, streamServer]) => {
        try {
          return applyConfigEnvironment(ref, options, { backendApi, streamServer });
        } catch (error) {
          throw new pulumi.ResourceError((error as Error).message, this);
        }
      });
    const apply = new command.local.Command(
      `${name}-config`,
      { create: APPLY_CONFIG_SCRIPT, interpreter: BASH, environment, triggers: [container.generation], logging: "stderr" },
      { parent: this, dependsOn: [setup] },
    );
    this.container = container;
    this.config = apply;
    this.containerName = args.containerName;
    this.address = container.address;
    this.statsPassword = password.result;
    this.configHash = apply.stdout;
    this.registerOutputs({
      containerName: this.containerName,
      address: this.address,
      statsPassword: this.statsPassword,
      configHash: this.configHash,
    });
  }
}
