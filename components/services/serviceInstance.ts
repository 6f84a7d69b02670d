import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Upstream } from "../haproxy/haproxyConfig";
import { IncusContainer, checkedContainer } from "../incus/incusContainer";
import { fileDigest } from "../common/fileDigest";
import { IncusPlacement, labelledStep } from "../incus/incusScripts";
import { LiveContainer, driftOf, driftOption, sha256 } from "../incus/liveState";
import type { RolloutInstance } from "./rollout";
import { InstanceLimits } from "../incus/instanceLimits";
import { DEPLOY_SCRIPT } from "./serviceScripts";
import { renderTemplate } from "../common/templates";
import { PORT_RANGE, URL_PATH, URL_PATH_RULE, hostFile, notAFile } from "../common/checks";
import { Rules, argumentPath, completed, integer, problemsOf, text } from "../common/rules";
import { assetPathFrom } from "../common/assets";

/**
 * The package's lab stand-in, which serves when no real binary is configured: `lab/standin.js` in
 * this project, `node_modules/veza-infra/lab/standin.js` in a program that installed the package.
 * Relative to the working directory, where Pulumi runs the program and its commands, so the deploy
 * script reads the same from every checkout and a fresh clone previews no change.
 */
export const STANDIN_PATH = assetPathFrom(process.cwd(), "lab/standin.js");

/** What differs between the Veza services; everything else about deploying them is shared. */
export interface ServiceRole {
  /** Service name: the systemd unit is `veza-<service>`, files live in /opt/veza/<service>. */
  service: "backend-api" | "stream-server";
  /** Unprivileged system user the service runs as. */
  user: string;
  /** Unit description. */
  description: string;
}

/** What runs in a service container; each field left out takes its default. */
export interface ServiceOptions {
  /** TCP port the service listens on (1..65535; the unit grants no privilege, so in practice 1024 and up). Defaults to 8080 for backend-api, 8082 for stream-server (seed `haproxy_backend_api_port`, `haproxy_stream_server_port`). */
  port?: number;
  /** Path answering 200 when the service is healthy; the deploy waits for it. Defaults to "/api/v1/health" for backend-api, "/health" for stream-server. */
  healthPath?: string;
  /** Binary on the Pulumi host to push; empty deploys the lab stand-in (lab/standin.js). Defaults to "". */
  binaryPath?: string;
  /**
   * How long, in seconds, the service may take to answer its health check once started (1..3600),
   * on a new container and in every rollout step (then again for HAProxy to see it UP). Longer
   * suits a slow start; a broken release is given up on later. Defaults to 30.
   */
  startTimeoutSeconds?: number;
}

/** Arguments shared by {@link BackendApiInstance} and {@link StreamServerInstance}. */
export interface ServiceInstanceArgs extends ServiceOptions {
  /** Incus container name, e.g. `lab-backend-api-1` (letters, digits and hyphens). Required. */
  containerName: string;
  /** Remote, cluster target, image, network and pool of the container. Required. */
  placement: pulumi.Input<IncusPlacement>;
  /** The container's CPU, memory and root disk limits, changed in place. Each field defaults as {@link InstanceLimits} says. */
  limits?: InstanceLimits;
  /**
   * What is live in the container now (liveState.ts's `observeContainers`): where the program,
   * unit or service differ from what this instance deploys, the preview says so and `up` repairs
   * it. Left out, nothing is compared.
   */
  live?: LiveContainer;
}

/** A program on the Pulumi host, pushed into the container; "" for the lab stand-in. */
const binary = hostFile("name an existing file on the Pulumi host", (path, context) => notAFile(context.files, path));

/** The rules of a service's {@link ServiceOptions}, by field. */
export function serviceRules(service: ServiceRole["service"]): Rules {
  const backendApi = service === "backend-api";
  return {
    port: integer(PORT_RANGE[0], PORT_RANGE[1], backendApi ? 8080 : 8082),
    healthPath: text(URL_PATH, URL_PATH_RULE, backendApi ? "/api/v1/health" : "/health"),
    binaryPath: binary,
    startTimeoutSeconds: integer(1, 3600, 30),
  };
}

/** Everything the deploy step needs, resolved from the inputs. */
export interface ServiceDeploySpec {
  role: ServiceRole;
  containerName: string;
  port: number;
  healthPath: string;
  binaryPath: string;
  startTimeoutSeconds: number;
}

/**
 * The environment of {@link DEPLOY_SCRIPT} but for the container (VEZA_REF): the program to push
 * (a real binary, or the lab stand-in) with its digest, so a changed file changes the step, and
 * the rendered unit. Known before the container exists, so its drift can be judged at preview.
 */
export function serviceDeployEnvironment(spec: ServiceDeploySpec): Record<string, string> {
  const { role, port } = spec;
  const home = `/opt/veza/${role.service}`;
  const program = spec.binaryPath || STANDIN_PATH;
  const programFile = programFileOf(role.service, spec.binaryPath);
  const execStart = spec.binaryPath
    ? `${home}/${programFile}`
    : `/usr/bin/node ${home}/${programFile} --role ${role.service} --port ${port} --name ${spec.containerName}`;
  const unit = renderTemplate("service.service.mustache", {
    description: role.description,
    user: role.user,
    execStart,
    envFile: `/etc/veza/${role.service}.env`,
    workingDirectory: home,
    logDirectory: "/var/log/veza",
    port,
  });
  return {
    VEZA_SERVICE: role.service,
    VEZA_USER: role.user,
    VEZA_PORT: String(port),
    VEZA_HEALTH_PATH: spec.healthPath,
    VEZA_PROGRAM: program,
    VEZA_PROGRAM_FILE: programFile,
    VEZA_PROGRAM_SHA256: fileDigest(program),
    VEZA_UNIT: unit,
    VEZA_START_TIMEOUT: String(spec.startTimeoutSeconds),
  };
}

/** The program's file name in /opt/veza/<service>/: the service's name for a real binary, the stand-in's own otherwise. */
export function programFileOf(service: ServiceRole["service"], binaryPath: string): string {
  return binaryPath ? service : "standin.js";
}

/** Where the deploy step installs the program and the unit of `service`. */
export function servicePaths(service: ServiceRole["service"], programFile: string): { program: string; unit: string } {
  return { program: `/opt/veza/${service}/${programFile}`, unit: `/etc/systemd/system/veza-${service}.service` };
}

/** The files and unit an instance's probe reads (liveState.ts), for `observeContainers`. */
export function serviceWatch(service: ServiceRole["service"], binaryPath: string): { files: string[]; units: string[] } {
  const paths = servicePaths(service, programFileOf(service, binaryPath));
  return { files: [paths.program, paths.unit], units: [`veza-${service}`] };
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
  /**
   * IPv4 address, carrying a dependency on the deploy step: whatever takes it (haproxy.cfg) runs
   * only once the service answers its health check, so HAProxy never sees a server before it serves.
   */
  public readonly address: pulumi.Output<string>;
  /** The service's container. */
  public readonly container: IncusContainer;
  /** The step that pushes the program and unit and waits for the health check. */
  public readonly deploy: command.local.Command;
  /** What HAProxy needs of this server, known once it answers its health check; pass the instance to a HaproxyNode pool. */
  public readonly upstream: pulumi.Output<Upstream>;
  /** The service this instance runs. */
  public readonly service: ServiceRole["service"];
  /** Port, health path and start time-out of the service, as the fleet's rollout needs them. */
  public readonly options: Readonly<Required<ServiceOptions>>;
  /** The program's file name in /opt/veza/<service>/. */
  public readonly programFile: string;
  /** The release this instance is to run, for the fleet's rollout ({@link FleetRollout}). */
  public readonly release: pulumi.Output<RolloutInstance>;
  /** What differs between the live program, unit or service and this release (empty when they agree or nothing was observed). */
  public readonly drift: readonly string[];
  /**
   * Whether the fleet's rollout restarts this instance: its service serves another release now.
   * A missing container or a stopped service is started at once by the deploy step instead.
   */
  public readonly rolls: boolean;

  protected constructor(type: string, role: ServiceRole, name: string, args: ServiceInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    const rules = serviceRules(role.service);
    const options = completed<Required<ServiceOptions>>(rules, args);
    // Checked here, naming the argument, rather than later inside a container.
    const problems = problemsOf(rules, (field) => options[field as keyof ServiceOptions], argumentPath);
    const container = checkedContainer(this, name, args, problems, role.service);
    const release = serviceDeployEnvironment({ role, containerName: args.containerName, ...options });
    const paths = servicePaths(role.service, release.VEZA_PROGRAM_FILE);
    const programSha256 = release.VEZA_PROGRAM_SHA256;
    const unitSha256 = sha256(release.VEZA_UNIT);
    this.drift = driftOf(args.live, {
      files: { [paths.program]: programSha256, [paths.unit]: unitSha256 },
      units: [`veza-${role.service}`],
    });
    const serving = args.live?.status === "running" && args.live.units[`veza-${role.service}`] === "active";
    const fileDrift = driftOf(args.live, { files: { [paths.program]: programSha256, [paths.unit]: unitSha256 } });
    this.rolls = serving && fileDrift.length > 0;
    const live = driftOption(this.drift, new Date());
    const step = labelledStep(["deploy the service", DEPLOY_SCRIPT]);
    const deploy = new command.local.Command(
      `${name}-deploy`,
      {
        create: step.create,
        interpreter: step.interpreter,
        environment: container.ref.apply((ref) => ({ ...step.environment, VEZA_REF: ref, ...release, ...live.environment })),
        triggers: [container.launchId],
        logging: "stderr",
      },
      // A new container is limited before its service starts.
      { parent: this, dependsOn: container.limits ? [container.limits] : [], ignoreChanges: live.ignoreChanges },
    );
    this.container = container;
    this.deploy = deploy;
    this.containerName = args.containerName;
    this.serverName = name;
    // The deploy's URN, not its stdout: a new release (staged, not restarted here) leaves the
    // address known at preview, so haproxy.cfg is not shown as changing when it does not.
    this.address = pulumi.all([container.address, deploy.urn]).apply(([address]) => address);
    this.upstream = this.address.apply((address) => ({ name, address }));
    this.service = role.service;
    this.options = options;
    this.programFile = release.VEZA_PROGRAM_FILE;
    this.release = container.ref.apply((ref) => ({ server: name, ref, programSha256, unitSha256 }));
    this.registerOutputs({ containerName: this.containerName, address: this.address, upstream: this.upstream });
  }
}
