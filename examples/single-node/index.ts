/**
 * veza-infra as another program uses it: the packed library installed from its tarball, one
 * backend-api and one stream-server behind one HAProxy node, on the Incus the lab set-up prepares
 * (scripts/lab-host.sh: network vezabr0, storage pool veza, image veza-lab/bookworm).
 *
 * Tried by hand: `npm pack` at the repository's root (writes ../../veza-infra-0.1.0.tgz), then
 * here `npm install`, `pulumi stack init example` and `pulumi preview`.
 */
import * as pulumi from "@pulumi/pulumi";
import { BackendApiInstance, HaproxyNode, IncusPlacement, StreamServerInstance } from "veza-infra";

const namePrefix = new pulumi.Config().require("namePrefix");
const placement: IncusPlacement = { remote: "", target: "", image: "veza-lab/bookworm", network: "vezabr0", storagePool: "veza" };

// No binaryPath: each instance runs the package's own stand-in service.
const backendApi = new BackendApiInstance("backend-api-1", { containerName: `${namePrefix}backend-api-1`, placement });
const streamServer = new StreamServerInstance("stream-server-1", { containerName: `${namePrefix}stream-server-1`, placement });

const edge = new HaproxyNode("haproxy", {
  containerName: `${namePrefix}haproxy`,
  placement,
  pools: { backendApi: { servers: [backendApi] }, streamServer: { servers: [streamServer] } },
});

export const lbUrl = pulumi.interpolate`http://${edge.address}/`;
export const statsPassword = edge.statsPassword;
