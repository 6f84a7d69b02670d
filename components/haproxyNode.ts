import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  ADMIN_SOCKET,
  HaproxySettings,
  STATS_PASSWORD_ENV,
  TLS_PEM_PATH,
  Upstream,
  configHash,
  renderHaproxyConfig,
  serverNames,
} from "./haproxyConfig";
import { IncusContainer } from "./incusContainer";
import { IncusPlacement, writeFileCommand } from "./incusScripts";
import { shellQuote } from "./shell";
import { ShellCommand } from "./shellCommand";
import { renderTemplate } from "./templates";

/** Environment file the stats password reaches HAProxy through, so it never stands in haproxy.cfg or in state. */
const SECRETS_ENV = "/etc/haproxy/veza-secrets.env";
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
}

/** Installs the stats password as an environment file of haproxy.service; this script is a secret. */
function secretsScript(ref: string, statsPassword: string): string {
  return `${writeFileCommand(ref, SECRETS_ENV, `${STATS_PASSWORD_ENV}=${statsPassword}\n`, "0600")}
${writeFileCommand(ref, "/etc/systemd/system/haproxy.service.d/veza-secrets.conf", `[Service]\nEnvironmentFile=${SECRETS_ENV}\n`, "0644")}`;
}

/**
 * The unit's hardening drop-in, and the unit enabled (the lab image leaves it disabled, as only
 * this container runs HAProxy). A reload keeps the master's environment and sandbox, so the unit's
 * changes take a restart: this runs when the container is new, before any traffic, and when the
 * drop-in itself changes.
 */
function setupScript(ref: string): string {
  return `ref=${shellQuote(ref)}
${writeFileCommand(ref, "/etc/systemd/system/haproxy.service.d/veza-hardening.conf", renderTemplate("haproxy-hardening.conf", {}), "0644")}
incus exec "$ref" -- sh -c 'systemctl daemon-reload && systemctl enable --quiet --no-reload haproxy && systemctl restart haproxy'`;
}

/**
 * Inside the container: a new PEM (pushed beside the live one) is swapped in, then the candidate
 * config is checked with it; on rejection both go back, and HAProxy's own message is printed.
 */
const CHECK_CANDIDATE = `set -eu
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

/** Pushes the PEM from the Pulumi host beside the live one; only its digest stands in the script. */
function pushPemCommands(tlsCertPath: string): string {
  if (!tlsCertPath) return "";
  const digest = crypto.createHash("sha256").update(fs.readFileSync(tlsCertPath)).digest("hex");
  return `# pem sha256 ${digest}
incus exec "$ref" -- install -d -m 0750 -g haproxy ${path.posix.dirname(TLS_PEM_PATH)}
incus file push --mode 0640 ${shellQuote(tlsCertPath)} "$ref${TLS_PEM_PATH}.next" >&2
incus exec "$ref" -- chgrp haproxy ${TLS_PEM_PATH}.next
`;
}

/**
 * Inside the container: carry runtime state over (only when the live config names the same
 * state file, see haproxyConfig.ts), swap the checked candidate in, reload (master-worker: the new
 * worker takes over the listeners, nothing is refused), and wait for the new worker. When none
 * comes up, the previous file goes back: what is on disk stays what is serving.
 */
const SWAP_AND_RELOAD = `set -eu
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
 * Applies a rendered haproxy.cfg without ever breaking the live load balancer: the candidate is
 * written beside the live file and checked there by the container's own `haproxy -c`; only then
 * does it replace the live file, with a hitless reload. The servers' runtime states (drain or ready)
 * are then set through the admin socket.
 */
export function applyConfigScript(
  ref: string,
  config: string,
  tlsCertPath: string,
  serverStates: { path: string; state: "drain" | "ready" }[],
): string {
  // One line of `;`-separated commands: the admin socket runs them all, one `incus exec` in all.
  const states = serverStates.length
    ? `echo ${shellQuote(serverStates.map((s) => `set server ${s.path} state ${s.state}`).join("; "))} | incus exec "$ref" -- socat stdio ${ADMIN_SOCKET} >/dev/null\n`
    : "";
  return `# config sha256 ${configHash(config)}
ref=${shellQuote(ref)}
${writeFileCommand(ref, CANDIDATE, config, "0644")}
${pushPemCommands(tlsCertPath)}if ! verdict=$(incus exec "$ref" -- sh -c ${shellQuote(CHECK_CANDIDATE)} 2>&1); then
  printf 'HAProxy rejected the new configuration; the live one keeps serving.\\n%s\\n' "$verdict" >&2
  exit 1
fi
incus exec "$ref" -- sh -c ${shellQuote(SWAP_AND_RELOAD)}
${states}echo ${configHash(config)}`;
}

/**
 * The load balancer: an Incus container running HAProxy, its config rendered from the fleets'
 * addresses and applied safely, and a generated stats password kept secret.
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

  constructor(name: string, args: HaproxyNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:HaproxyNode", name, {}, opts);
    const container = new IncusContainer(name, { name: args.containerName, placement: args.placement }, { parent: this });
    const settings = pulumi.output(args.settings);
    const password = new ShellCommand(
      `${name}-stats-password`,
      { create: `node -e "process.stdout.write(require('crypto').randomBytes(20).toString('hex'))"` },
      { parent: this, additionalSecretOutputs: ["stdout"] },
    );
    const secrets = new ShellCommand(
      `${name}-secrets`,
      {
        create: pulumi.secret(pulumi.all([container.ref, password.stdout]).apply(([ref, pw]) => secretsScript(ref, pw))),
        triggers: [container.generation],
      },
      { parent: this },
    );
    const setup = new ShellCommand(
      `${name}-setup`,
      {
        create: container.ref.apply(setupScript),
        triggers: [container.generation],
      },
      { parent: this, dependsOn: [secrets] },
    );
    const script = pulumi
      .all([container.ref, settings, args.backendApi, args.streamServer])
      .apply(([ref, s, backendApi, streamServer]) => {
        const fleets = { backendApi, streamServer };
        const drained = new Set(s.drainServers);
        const serverStates = serverNames(s, fleets).map(({ backend, server }) => ({
          path: `${backend}/${server}`,
          state: drained.has(server) ? ("drain" as const) : ("ready" as const),
        }));
        return applyConfigScript(ref, renderHaproxyConfig(s, fleets), s.tlsCertPath, serverStates);
      });
    const apply = new ShellCommand(
      `${name}-config`,
      { create: script, triggers: [container.generation] },
      { parent: this, dependsOn: [setup] },
    );
    this.containerName = args.containerName;
    this.address = container.address;
    this.statsPassword = pulumi.secret(password.stdout);
    this.configHash = apply.stdout;
    this.registerOutputs({
      containerName: this.containerName,
      address: this.address,
      statsPassword: this.statsPassword,
      configHash: this.configHash,
    });
  }
}
