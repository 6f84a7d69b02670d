/**
 * Instance sizing on the real lab: limits set by stack config reach the running backend-api
 * containers through their limits steps alone (the preview plans an update of those steps and
 * nothing else), the containers stay the same ones (created_at and volatile.uuid unchanged), the
 * kernel inside enforces the new values and the service keeps answering, under the lab tier's
 * steady 50 req/s without a failed request; removing the settings brings the defaults back the
 * same way.
 */
import { LabOutputs, get, incus, outputs, pulumi, steadyLoad, waitAllUp, waitFor } from "./harness";

jest.setTimeout(10 * 60_000);

let lab: LabOutputs;

beforeAll(async () => {
  await pulumi("up", "--yes", "--skip-preview");
  lab = await outputs();
  await waitAllUp(lab, 120_000);
});

const MiB = 1024 * 1024;

/** What makes a container the same one: Incus's creation time and its volatile.uuid. */
async function identity(container: string): Promise<string> {
  const instance = JSON.parse(await incus("query", `/1.0/instances/${container}`)) as {
    created_at: string;
    config: Record<string, string>;
  };
  return `${instance.created_at} ${instance.config["volatile.uuid"]}`;
}

/** The limits as Incus holds them and as the kernel inside enforces them. */
async function limits(container: string) {
  const state = JSON.parse(await incus("query", `/1.0/instances/${container}/state`)) as { disk: { root?: { total: number } } };
  return {
    cpu: await incus("config", "get", container, "limits.cpu"),
    memory: await incus("config", "get", container, "limits.memory"),
    rootSize: await incus("config", "device", "get", container, "root", "size"),
    nproc: await incus("exec", container, "--", "nproc"),
    // cgroup v1 on this host (v2 elsewhere): the ceiling the kernel holds the container to.
    memoryMax: await incus(
      "exec",
      container,
      "--",
      "sh",
      "-c",
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ),
    rootTotal: state.disk.root?.total ?? 0,
  };
}

/** What a preview plans: "op name" of every step that is not "same". */
async function planned(): Promise<string[]> {
  const preview = JSON.parse(await pulumi("preview", "--json")) as { steps: { op: string; urn: string }[] };
  return preview.steps
    .filter((step) => step.op !== "same")
    .map((step) => `${step.op} ${step.urn.split("::").pop()}`)
    .sort();
}

/** Every backend-api answers its health check directly and through the load balancer. */
async function serving(): Promise<void> {
  for (const address of lab.backendApiAddresses) expect((await get(`http://${address}:8080/api/v1/health`)).status).toBe(200);
  expect((await get(`${lab.lbUrl}api/v1/health`)).status).toBe(200);
}

/**
 * Waits (up to 30 s) until a container's limits read as `expected`, then checks them. Incus sets
 * a count of CPUs by pinning: its CPU balancer picks the cores asynchronously, after the config
 * change returned (debounced, slower on a busy host), so `nproc` inside follows a moment later.
 */
async function limitsBecome(container: string, expected: Awaited<ReturnType<typeof limits>>): Promise<void> {
  const ms = await waitFor(
    `the limits of ${container} to read ${JSON.stringify(expected)}`,
    async () => JSON.stringify(await limits(container)) === JSON.stringify(expected),
    30_000,
    200,
  ).catch(() => -1);
  waits.push(`${container} ${ms < 0 ? "not within 30 s" : `${ms} ms`}`);
  expect(await limits(container)).toEqual(expected);
}
const waits: string[] = [];

const DEFAULT = { cpu: "1", memory: "256MiB", rootSize: "", nproc: "1", memoryMax: String(256 * MiB), rootTotal: 0 };
const KEYS = { backendApiLimitsCpu: "2", backendApiLimitsMemory: "512MiB", backendApiRootSize: "4GiB" };

test("CPU, memory and root disk limits set by stack config change the running containers in place, and go back", async () => {
  const containers = lab.backendApiContainers;
  const before = await Promise.all(containers.map(identity));
  for (const container of containers) expect(await limits(container)).toEqual(DEFAULT);
  const load = steadyLoad(`${lab.lbUrl}api/v1/items`, 50);
  try {
    try {
      for (const [key, value] of Object.entries(KEYS)) await pulumi("config", "set", `veza-infra:${key}`, value);
      expect(await planned()).toEqual(["update backend-api-1-limits", "update backend-api-2-limits"]);
      await pulumi("up", "--yes", "--skip-preview");
      for (const container of containers) {
        await limitsBecome(container, {
          cpu: "2",
          memory: "512MiB",
          rootSize: "4GiB",
          nproc: "2",
          memoryMax: String(512 * MiB),
          rootTotal: 4096 * MiB,
        });
      }
      expect(await Promise.all(containers.map(identity))).toEqual(before);
      // The other roles keep their own limits.
      expect(await incus("config", "get", lab.streamServerContainers[0], "limits.memory")).toBe("256MiB");
      await serving();
    } finally {
      for (const key of Object.keys(KEYS)) await pulumi("config", "rm", `veza-infra:${key}`);
    }
    expect(await planned()).toEqual(["update backend-api-1-limits", "update backend-api-2-limits"]);
    await pulumi("up", "--yes", "--skip-preview");
    for (const container of containers) await limitsBecome(container, DEFAULT);
    expect(await Promise.all(containers.map(identity))).toEqual(before);
    await serving();
  } finally {
    const result = await load.stop();
    console.log(
      `limits edited and reverted under load: requests ok/failed ${result.tally}; ` +
        `up returned to the limits read inside: ${waits.join(", ")}`,
    );
    expect(result.failures).toEqual([]);
  }
  await pulumi("preview", "--expect-no-changes");
});
