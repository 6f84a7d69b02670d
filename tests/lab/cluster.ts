/**
 * What the member-loss drill (cluster-edge.test.ts) and the bench's "host dies" scenario drive the
 * cluster lab with (scripts/cluster-lab.sh, docs/cluster-lab.md): the script itself, the `cluster`
 * stack, and what the cluster says of its members and instances. Every use of the cluster lab runs
 * under `flock /tmp/veza-cluster.lock`, taken by whoever starts the run.
 */
import { StackOutputs, answers, run, waitFor } from "./harness";

export const CLUSTER_STACK = "cluster";
export const CLUSTER_REMOTE = "veza-cluster";

export const clusterLab = (...args: string[]) => run("bash", ["scripts/cluster-lab.sh", ...args], { timeoutMs: 20 * 60_000 });
export const clusterPulumi = (...args: string[]) => run("pulumi", [...args, "--stack", CLUSTER_STACK, "--non-interactive"]);
/** Standard input closed: with a pipe there, some incus commands wait to read from it. */
export const clusterIncus = (...args: string[]) => run("incus", args, { input: "", timeoutMs: 5 * 60_000 });

export interface ClusterOutputs extends StackOutputs {
  containerMembers: Record<string, string>;
}

/** What the cluster says of one instance: where it runs, whether it runs, its identity, its addresses. */
export interface Instance {
  name: string;
  location: string;
  status: string;
  config: Record<string, string>;
  state: { network?: Record<string, { addresses: { family: string; address: string }[] }> } | null;
}

export async function instances(): Promise<Map<string, Instance>> {
  const list = JSON.parse(await clusterIncus("list", `${CLUSTER_REMOTE}:`, "--format", "json")) as Instance[];
  return new Map(list.map((instance) => [instance.name, instance]));
}

/** Each member's status as the cluster lists it (Online, Offline, Evacuated). */
export async function members(): Promise<Map<string, string>> {
  const list = JSON.parse(await clusterIncus("cluster", "list", `${CLUSTER_REMOTE}:`, "--format", "json")) as {
    server_name: string;
    status: string;
  }[];
  return new Map(list.map((member) => [member.server_name, member.status]));
}

/** A stack output's container name without its remote. */
export const bareName = (container: string) => container.replace(`${CLUSTER_REMOTE}:`, "");

/** The HAProxy container with the virtual IP on its eth0, by the cluster's own listing; "" if none. */
export async function vipHolder(stack: ClusterOutputs): Promise<string> {
  const listed = await instances();
  return (
    stack.haproxyContainers
      .map(bareName)
      .find((name) =>
        listed.get(name)?.state?.network?.eth0?.addresses.some((a) => a.family === "inet" && a.address === stack.virtualIp),
      ) ?? ""
  );
}

/** Whether every server is UP in an HAProxy container's `show stat`. */
export async function allServersUp(container: string): Promise<boolean> {
  const stat = await run("incus", ["exec", `${CLUSTER_REMOTE}:${bareName(container)}`, "--", "socat", "stdio", "/run/haproxy/admin.sock"], {
    input: "show stat\n",
    timeoutMs: 30_000,
  });
  const rows = stat
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(","))
    .filter(([, server]) => server !== "FRONTEND" && server !== "BACKEND");
  return rows.length > 0 && rows.every((fields) => fields[17] === "UP");
}

/** `pulumi up` of the cluster stack, then until its address answers and every server is UP on every HAProxy node. */
export async function upCluster(): Promise<ClusterOutputs> {
  await clusterPulumi("up", "--yes", "--skip-preview");
  const stack = JSON.parse(await clusterPulumi("stack", "output", "--json", "--show-secrets")) as ClusterOutputs;
  await waitFor("the edge's address to answer", () => answers(`${stack.lbUrl.replace(/\/$/, "")}/api/v1/health`), 120_000, 200);
  await waitFor(
    "every server UP on every HAProxy node",
    async () => (await Promise.all(stack.haproxyContainers.map(allServersUp))).every(Boolean),
    180_000,
    1_000,
  );
  return stack;
}

/** Until `member` is online again and every container of `stack` runs (after `revive-member`). */
export async function waitRevived(stack: ClusterOutputs, member: string): Promise<void> {
  await waitFor(`${member} online again`, async () => (await members()).get(member) === "Online", 180_000, 1_000);
  await waitFor(
    "every container of the stack running",
    async () => {
      const listed = await instances();
      return Object.keys(stack.containerMembers).every((name) => listed.get(name)?.status === "Running");
    },
    180_000,
    1_000,
  );
}
