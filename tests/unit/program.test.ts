/**
 * The resource graph of index.ts under Pulumi's runtime mocks: types, parents, names, the stack
 * outputs, that a settings change reaches no container, and that bad settings stop the program
 * before any resource exists. The real engine and real containers are the lab tier's job.
 */
import type * as PulumiModule from "@pulumi/pulumi";
import { shellCommandProvider } from "../../components/shellCommand";

interface Registered {
  type: string;
  name: string;
  /** Type of the parent, as the mock URN spells it; empty for a top-level resource. */
  parentType: string;
  inputs: Record<string, unknown>;
}

interface ProgramRun {
  resources: Registered[];
  outputs: Record<string, unknown>;
}

const SHELL = "pulumi-nodejs:dynamic/veza:ShellCommand";

/** Runs index.ts with `config` (keys without namespace) in a fresh module registry and mock runtime. */
async function runProgram(config: Record<string, string>): Promise<ProgramRun> {
  const run: ProgramRun = { resources: [], outputs: {} };
  await jest.isolateModulesAsync(async () => {
    const pulumi: typeof PulumiModule = await import("@pulumi/pulumi");
    let host = 10;
    const inputsByName = new Map<string, Record<string, unknown>>();
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          inputsByName.set(args.name, args.inputs);
          const stdout = args.name.endsWith("-launch") ? `10.77.0.${host++}` : args.name.endsWith("-stats-password") ? "f".repeat(40) : "";
          return { id: `${args.name}-id`, state: { ...args.inputs, stdout } };
        },
        call: (args) => args.inputs,
      },
      "veza-infra",
      "lab",
      false,
    );
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [`veza-infra:${key}`, value])));
    const program = await import("../../index");
    run.outputs = await new Promise((resolve) =>
      pulumi.all(program as unknown as Record<string, PulumiModule.Input<unknown>>).apply((values) => resolve(values)),
    );
    // The mock monitor keeps every URN; its type part is `<parent type>$<type>`.
    const monitor = pulumi.runtime.getMonitor() as unknown as { resources: Map<string, unknown> };
    for (const urn of monitor.resources.keys()) {
      const [, , typeChain, name] = urn.split("::");
      const chain = typeChain.split("$");
      run.resources.push({ type: chain[chain.length - 1], name, parentType: chain.slice(0, -1).join("$"), inputs: inputsByName.get(name) ?? {} });
    }
  });
  return run;
}

const byName = (run: ProgramRun, name: string, type = SHELL) => {
  const found = run.resources.find((r) => r.name === name && r.type === type);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};

describe("index.ts under mocks", () => {
  let lab: ProgramRun;
  beforeAll(async () => {
    lab = await runProgram({ namePrefix: "lab-" });
  });

  test("one HAProxy node, two of each service, each with its container", () => {
    const count = (type: string) => lab.resources.filter((r) => r.type === type).length;
    expect(count("veza:infra:HaproxyNode")).toBe(1);
    expect(count("veza:infra:BackendApiInstance")).toBe(2);
    expect(count("veza:infra:StreamServerInstance")).toBe(2);
    expect(count("veza:infra:IncusContainer")).toBe(5);
  });

  test("children hang under their component", () => {
    // Under mocks there is no stack resource: top-level components have no parent.
    expect(byName(lab, "backend-api-1", "veza:infra:BackendApiInstance").parentType).toBe("");
    expect(byName(lab, "backend-api-1", "veza:infra:IncusContainer").parentType).toBe("veza:infra:BackendApiInstance");
    expect(byName(lab, "stream-server-2", "veza:infra:IncusContainer").parentType).toBe("veza:infra:StreamServerInstance");
    expect(byName(lab, "haproxy", "veza:infra:IncusContainer").parentType).toBe("veza:infra:HaproxyNode");
    expect(byName(lab, "backend-api-1-launch").parentType).toBe("veza:infra:IncusContainer");
    expect(byName(lab, "backend-api-1-deploy").parentType).toBe("veza:infra:BackendApiInstance");
    expect(byName(lab, "stream-server-2-deploy").parentType).toBe("veza:infra:StreamServerInstance");
    for (const step of ["haproxy-config", "haproxy-setup", "haproxy-secrets", "haproxy-stats-password"]) {
      expect(byName(lab, step).parentType).toBe("veza:infra:HaproxyNode");
    }
    expect(lab.resources.filter((r) => r.type === SHELL).every((r) => r.parentType.startsWith("veza:infra:"))).toBe(true);
  });

  test("containers carry the stack's prefix; HAProxy servers keep the service names", () => {
    expect(lab.outputs.backendApiContainers).toEqual(["lab-backend-api-1", "lab-backend-api-2"]);
    expect(lab.outputs.streamServerContainers).toEqual(["lab-stream-server-1", "lab-stream-server-2"]);
    expect(lab.outputs.haproxyContainer).toBe("lab-haproxy");
    expect(byName(lab, "backend-api-1-launch").inputs.create).toContain("ref='lab-backend-api-1'");
    const config = String(byName(lab, "haproxy-config").inputs.create);
    expect(config).toMatch(/server backend-api-1 10\.77\.0\.\d+:8080/);
    expect(config).toMatch(/server stream-server-2 10\.77\.0\.\d+:8082/);
  });

  test("the outputs say where the LB is and how to reach the stats page; the password stays out of scripts", () => {
    expect(lab.outputs.lbUrl).toMatch(/^http:\/\/10\.77\.0\.\d+\/$/);
    expect(lab.outputs.statsAccess).toContain("http://127.0.0.1:9100/stats");
    expect(lab.outputs.statsPassword).toBe("f".repeat(40));
    for (const r of lab.resources.filter((r) => r.name !== "haproxy-secrets" && r.name !== "haproxy-stats-password")) {
      expect(JSON.stringify(r.inputs)).not.toContain("f".repeat(40));
    }
  });

  test("a settings change reaches only the HAProxy config step: no container is replaced or touched", async () => {
    const edited = await runProgram({ namePrefix: "lab-", healthCheckIntervalMs: "1000", gracefulDrainSeconds: "10", stickyCookieName: "PIN" });
    const changed = edited.resources
      .filter((r) => r.type === SHELL)
      .filter((r) => {
        const before = byName(lab, r.name).inputs;
        return JSON.stringify([before.create, before.triggers]) !== JSON.stringify([r.inputs.create, r.inputs.triggers]);
      })
      .map((r) => r.name);
    expect(changed).toEqual(["haproxy-config"]);
  });

  test("bad settings stop the program before any resource is registered, naming every key", async () => {
    let registered = 0;
    const message = await runProgram({ healthCheckFall: "0", httpPort: "70000", stickyCookieName: "a b" }).then(
      (run) => ((registered = run.resources.length), "no error"),
      (error: Error) => error.message,
    );
    expect(message).toContain("veza-infra:healthCheckFall must be an integer from 1 to 100 (got 0)");
    expect(message).toContain("veza-infra:httpPort must be an integer from 1 to 65535 (got 70000)");
    expect(message).toContain("veza-infra:stickyCookieName must be an RFC 6265 cookie name");
    expect(registered).toBe(0);
  });
});

describe("the ShellCommand provider's diff", () => {
  const olds = { create: "a", delete: "d", triggers: ["x"], stdout: "" };

  test("a changed script updates in place", async () => {
    const diff = await shellCommandProvider.diff!("id", olds, { ...olds, create: "b" });
    expect(diff).toMatchObject({ changes: true, replaces: [] });
  });

  test("changed triggers replace, deleting first (container names are fixed)", async () => {
    const diff = await shellCommandProvider.diff!("id", olds, { ...olds, triggers: ["y"] });
    expect(diff).toMatchObject({ changes: true, replaces: ["triggers"], deleteBeforeReplace: true });
  });

  test("nothing changed, nothing to do", async () => {
    expect(await shellCommandProvider.diff!("id", olds, { ...olds })).toMatchObject({ changes: false });
  });
});
