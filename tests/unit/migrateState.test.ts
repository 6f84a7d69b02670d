/** The state edits of the one-time move off the dynamic provider (the lab tier runs the real one). */
import { StackExport, needsMigration, oldPasswords, withProgramPasswordInputs, withoutDynamicResources } from "../../scripts/migrateState";

const URN = "urn:pulumi:lab::veza-infra::";
const node = { urn: `${URN}veza:infra:HaproxyNode::haproxy`, type: "veza:infra:HaproxyNode" };
const container = {
  urn: `${URN}veza:infra:HaproxyNode$veza:infra:IncusContainer::haproxy`,
  type: "veza:infra:IncusContainer",
  parent: node.urn,
};
const provider = { urn: `${URN}pulumi:providers:pulumi-nodejs::default`, type: "pulumi:providers:pulumi-nodejs" };
const dynamic = (parent: string, name: string, outputs: Record<string, unknown> = {}) => ({
  urn: `${URN}x$pulumi-nodejs:dynamic/veza:ShellCommand::${name}`,
  type: "pulumi-nodejs:dynamic/veza:ShellCommand",
  parent,
  provider: `${provider.urn}::id`,
  outputs,
});
const secret = (value: string) => ({
  "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
  plaintext: JSON.stringify(value),
});

const oldState = (): StackExport => ({
  version: 3,
  deployment: {
    manifest: {},
    resources: [
      node,
      container,
      provider,
      dynamic(container.urn, "haproxy-launch", { stdout: "10.77.0.9" }),
      dynamic(node.urn, "haproxy-stats-password", { stdout: secret("f00d".repeat(10)) }),
      { ...dynamic(node.urn, "haproxy-config"), dependencies: [dynamic(container.urn, "haproxy-launch").urn] },
    ],
  },
});

describe("moving a stack off the dynamic provider", () => {
  test("only a stack with dynamic resources needs it", () => {
    expect(needsMigration(oldState())).toBe(true);
    expect(needsMigration(withoutDynamicResources(oldState()))).toBe(false);
    expect(needsMigration({ version: 3, deployment: {} })).toBe(false);
  });

  test("the dynamic steps and their provider leave the state; components stay, untouched", () => {
    const after = withoutDynamicResources(oldState());
    expect(after.deployment.resources).toEqual([node, container]);
    expect(after.deployment.manifest).toEqual({});
  });

  test("a kept resource that depends on a removed one stops the migration", () => {
    const state = oldState();
    state.deployment.resources!.push({
      urn: `${URN}other::x`,
      type: "other",
      dependencies: [dynamic(container.urn, "haproxy-launch").urn],
    });
    expect(() => withoutDynamicResources(state)).toThrow(/depends on .*haproxy-launch, which the migration removes/);
  });

  test("the stats password is read from the secret export with its node", () => {
    expect(oldPasswords(oldState())).toEqual([
      { name: "haproxy-stats-password", value: "f00d".repeat(10), parentName: "haproxy", parentUrn: node.urn },
    ]);
  });

  test("an export without --show-secrets cannot give the password", () => {
    const state = oldState();
    const password = state.deployment.resources![4];
    password.outputs = { stdout: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" } };
    expect(() => oldPasswords(state)).toThrow(/--show-secrets/);
  });

  test("the imported password gets the program's inputs and keeps its value", () => {
    const imported = {
      urn: `${URN}veza:infra:HaproxyNode$random:index/randomPassword:RandomPassword::haproxy-stats-password`,
      type: "random:index/randomPassword:RandomPassword",
      inputs: { length: 40, special: true, upper: true },
      outputs: { length: 40, special: true, upper: true, result: "v" },
    };
    const after = withProgramPasswordInputs({ version: 3, deployment: { resources: [node, imported] } });
    expect(after.deployment.resources![1]).toEqual({
      ...imported,
      inputs: { length: 40, special: false, upper: true },
      outputs: { length: 40, special: false, upper: true, result: "v" },
    });
    expect(after.deployment.resources![0]).toBe(node);
  });
});
