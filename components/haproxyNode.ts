import * as crypto from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { HaproxySettings, Upstream, renderHaproxyConfig, serverNames } from "./haproxyConfig";
import { IncusContainer } from "./incusContainer";
import { IncusPlacement, writeFileCommand } from "./incusScripts";
import { shellQuote } from "./shell";
import { ShellCommand } from "./shellCommand";
import { renderTemplate } from "./templates";

/** Where the PEM (certificate and key) is installed in the HAProxy container. */
export const TLS_PEM_IN_CONTAINER = "/etc/haproxy/certs/veza.pem";
/** Environment file the stats password reaches HAProxy through, so it never stands in haproxy.cfg or in state. */
const SECRETS_ENV = "/etc/haproxy/veza-secrets.env";
const CANDIDATE = "/etc/haproxy/haproxy.cfg.next";
const ADMIN_SOCKET = "/run/haproxy/admin.sock";

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

/** One-time preparation: the hardening drop-in and, when TLS is on, the PEM pushed from the Pulumi host. */
function setupScript(ref: string, tlsCertPath: string): string {
  const dropIn = renderTemplate("haproxy-hardening.conf", {});
  const pem = tlsCertPath
    ? `# pem sha256 ${crypto.createHash("sha256").update(fs.readFileSync(tlsCertPath)).digest("hex")}
incus exec "$ref" -- install -d -m 0750 -g haproxy /etc/haproxy/certs
incus file push --mode 0640 --gid "$(incus exec "$ref" -- getent group haproxy | cut -d: -f3)" ${shellQuote(tlsCertPath)} "$ref${TLS_PEM_IN_CONTAINER}" >&2`
    : "";
  return `ref=${shellQuote(ref)}
${writeFileCommand(ref, "/etc/systemd/system/haproxy.service.d/veza-hardening.conf", dropIn, "0644")}
${pem}
incus exec "$ref" -- systemctl daemon-reload`;
}

/** Installs the stats password as an environment file of haproxy.service; this script is a secret. */
function secretsScript(ref: string, statsPassword: string): string {
  const dropIn = `[Service]\nEnvironmentFile=${SECRETS_ENV}\n`;
  return `ref=${shellQuote(ref)}
incus exec "$ref" -- mkdir -p /etc/systemd/system/haproxy.service.d
${writeFileCommand(ref, SECRETS_ENV, `VEZA_STATS_PASSWORD=${statsPassword}\n`, "0600")}
${writeFileCommand(ref, "/etc/systemd/system/haproxy.service.d/veza-secrets.conf", dropIn, "0644")}
incus exec "$ref" -- systemctl daemon-reload`;
}

/**
 * Applies a rendered haproxy.cfg without ever breaking the live load balancer: the candidate is
 * written beside the live file and checked there by the container's own `haproxy -c`; only then
 * does it replace the live file and trigger a hitless reload (master-worker, listeners passed to the
 * new worker). The runtime states of the servers (drain or ready) are then set through the admin
 * socket, and the server-state file carries them and the health state across later reloads.
 */
export function applyConfigScript(ref: string, config: string, serverStates: { path: string; state: "drain" | "ready" }[]): string {
  const admin = (command: string) => `echo ${shellQuote(command)} | incus exec "$ref" -- socat stdio ${ADMIN_SOCKET}`;
  const states = serverStates.map((s) => `${admin(`set server ${s.path} state ${s.state}`)} >/dev/null`).join("\n");
  return `# config sha256 ${crypto.createHash("sha256").update(config).digest("hex")}
ref=${shellQuote(ref)}
${writeFileCommand(ref, CANDIDATE, config, "0644")}
if ! verdict=$(incus exec "$ref" -- sh -c ${shellQuote(`set -a; . ${SECRETS_ENV}; haproxy -c -f ${CANDIDATE}`)} 2>&1); then
  incus exec "$ref" -- rm -f ${CANDIDATE}
  printf 'HAProxy rejected the new configuration; the live one keeps serving.\\n%s\\n' "$verdict" >&2
  exit 1
fi
worker_pid() { ${admin("show info")} 2>/dev/null | awk -F': ' '$1 == "Pid" { print $2 }'; }
before=$(worker_pid || true)
incus exec "$ref" -- sh -c ${shellQuote(
    `if [ -S ${ADMIN_SOCKET} ]; then echo "show servers state" | socat stdio ${ADMIN_SOCKET} > /var/lib/haproxy/server-state; fi; ` +
      `mv ${CANDIDATE} /etc/haproxy/haproxy.cfg; ` +
      `if systemctl is-active --quiet haproxy; then systemctl reload haproxy; else systemctl enable --quiet haproxy; systemctl restart haproxy; fi`,
  )}
for _ in $(seq 1 100); do
  after=$(worker_pid || true)
  [ -n "$after" ] && [ "$after" != "$before" ] && break
  sleep 0.1
done
[ -n "$after" ] && [ "$after" != "$before" ] || { echo "HAProxy did not come back on ${ADMIN_SOCKET} within 10 s after the reload" >&2; exit 1; }
${states}
echo ${shellQuote(crypto.createHash("sha256").update(config).digest("hex"))}`;
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
        create: pulumi.all([container.ref, settings]).apply(([ref, s]) => setupScript(ref, s.tlsCertPath)),
        triggers: [container.generation],
      },
      { parent: this },
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
        return applyConfigScript(ref, renderHaproxyConfig(s, fleets), serverStates);
      });
    const apply = new ShellCommand(
      `${name}-config`,
      { create: script, triggers: [container.generation] },
      { parent: this, dependsOn: [secrets, setup] },
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
