import * as crypto from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { IncusContainer } from "./incusContainer";
import { IncusPlacement, writeFileCommand } from "./incusScripts";
import { shellQuote } from "./shell";
import { ShellCommand } from "./shellCommand";
import { renderTemplate } from "./templates";

/**
 * The lab stand-in that serves when no real binary is configured. Relative to the project
 * directory, where Pulumi runs the program and its commands, so the deploy script reads the same
 * from every checkout and a fresh clone previews no change.
 */
export const STANDIN_PATH = "lab/standin.js";

/** What differs between the Veza services; everything else about deploying them is shared. */
export interface ServiceRole {
  /** Service name: the systemd unit is `veza-<service>`, files live in /opt/veza/<service>. */
  service: "backend-api" | "stream-server";
  /** Unprivileged system user the service runs as. */
  user: string;
  /** Unit description. */
  description: string;
}

/** Arguments shared by {@link BackendApiInstance} and {@link StreamServerInstance}. */
export interface ServiceInstanceArgs {
  /** Incus container name (validated; includes the stack's name prefix). */
  containerName: string;
  /** Remote, cluster target, image, network and pool of the container. */
  placement: pulumi.Input<IncusPlacement>;
  /** TCP port the service listens on. */
  port: pulumi.Input<number>;
  /** Path answering 200 when the service is healthy; the deploy waits for it. */
  healthPath: pulumi.Input<string>;
  /** Binary on the Pulumi host to push; empty deploys the lab stand-in. */
  binaryPath: pulumi.Input<string>;
}

/** Everything the deploy script needs, resolved from the inputs. */
export interface ServiceDeploySpec {
  role: ServiceRole;
  ref: string;
  containerName: string;
  port: number;
  healthPath: string;
  binaryPath: string;
}

/** sha256 of a file on the Pulumi host, so a changed binary changes the deploy script and re-runs it. */
function fileDigest(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/**
 * The idempotent deploy of one service into its container, as the seed's backend_api role lays it
 * out: system user, /opt/veza/<service>, /etc/veza env dir (an existing env file is kept: it holds
 * the operator's secrets), /var/log/veza, a hardened unit; then a restart and a wait until healthy,
 * so HAProxy never sees the new server before it answers.
 */
export function serviceDeployScript(spec: ServiceDeploySpec): string {
  const { role, ref, port } = spec;
  const home = `/opt/veza/${role.service}`;
  const unit = `veza-${role.service}`;
  const envFile = `/etc/veza/${role.service}.env`;
  const program = spec.binaryPath || STANDIN_PATH;
  const programInContainer = `${home}/${spec.binaryPath ? role.service : "standin.js"}`;
  const execStart = spec.binaryPath
    ? programInContainer
    : `/usr/bin/node ${programInContainer} --role ${role.service} --port ${port} --name ${spec.containerName}`;
  const unitText = renderTemplate("service.service.mustache", {
    description: role.description,
    user: role.user,
    execStart,
    envFile,
    workingDirectory: home,
    logDirectory: "/var/log/veza",
    port,
  });
  // Each step is one `incus exec` (a round trip through incusd), not one per command: six
  // deploys at once share the daemon and 2 cores.
  const layout = `set -e
id -u ${role.user} >/dev/null 2>&1 || useradd --system --home-dir ${home} --no-create-home --shell /usr/sbin/nologin ${role.user}
install -d -m 0755 ${home} /etc/veza
install -d -m 0750 -o ${role.user} -g ${role.user} /var/log/veza
[ -e ${envFile} ] || install -m 0640 -g ${role.user} /dev/null ${envFile}`;
  // A daemon-reload costs about 0.1 CPU-second in a container: only when the unit changed on disk
  // after systemd loaded it (a new unit is loaded fresh by `show`); enable's own reload is skipped.
  const startAndWait = `set -e
systemctl enable --quiet --no-reload ${unit}
[ "$(systemctl show -p NeedDaemonReload --value ${unit})" = no ] || systemctl daemon-reload
systemctl restart ${unit}
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null --max-time 1 ${shellQuote(`http://127.0.0.1:${port}${spec.healthPath}`)} 2>/dev/null && exit 0
  sleep 0.1
done
journalctl -u ${unit} -n 20 --no-pager >&2 || true
echo "${unit} in ${spec.containerName} did not answer ${spec.healthPath} on port ${port} within 30 s" >&2
exit 1`;
  return `# program sha256 ${fileDigest(program)}
ref=${shellQuote(ref)}
incus exec "$ref" -- sh -c ${shellQuote(layout)}
incus file push --mode 0755 ${shellQuote(program)} "$ref${programInContainer}" >&2
${writeFileCommand(ref, `/etc/systemd/system/${unit}.service`, unitText, "0644")}
incus exec "$ref" -- sh -c ${shellQuote(startAndWait)}`;
}

/**
 * One Veza service in its own Incus container. The two services differ only in their
 * {@link ServiceRole}; the subclasses fix it and their type token.
 */
export abstract class ServiceInstance extends pulumi.ComponentResource {
  /** Incus container name. */
  public readonly containerName: string;
  /** Server name in HAProxy and in the sticky cookie: the component's name, e.g. `backend-api-1`. */
  public readonly serverName: string;
  /** IPv4 address, known only once the service answers its health check. */
  public readonly address: pulumi.Output<string>;

  protected constructor(
    type: string,
    role: ServiceRole,
    name: string,
    args: ServiceInstanceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    const container = new IncusContainer(name, { name: args.containerName, placement: args.placement }, { parent: this });
    const script = pulumi
      .all([container.ref, args.port, args.healthPath, args.binaryPath])
      .apply(([ref, port, healthPath, binaryPath]) =>
        serviceDeployScript({ role, ref, containerName: args.containerName, port, healthPath, binaryPath }),
      );
    const deploy = new ShellCommand(
      `${name}-deploy`,
      { create: script, triggers: [container.generation] },
      { parent: this },
    );
    this.containerName = args.containerName;
    this.serverName = name;
    this.address = pulumi.all([container.address, deploy.stdout]).apply(([address]) => address);
    this.registerOutputs({ containerName: this.containerName, address: this.address });
  }
}
