import * as fs from "fs";
import * as path from "path";
import { load } from "js-yaml";
import { DEFAULTS, SEED_DEFAULTS, Settings, containerName, fleetNames, settingsFromConfig } from "../../stack/settings";

interface Declaration {
  type: "integer" | "string" | "array" | "boolean";
  items?: { type: string };
  default: unknown;
}

const parseYaml: (text: string) => unknown = load;
const project = parseYaml(fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8")) as {
  config: Record<string, Declaration>;
};
const declared = new Map(Object.entries(project.config).map(([key, declaration]) => [key.replace(/^veza-infra:/, ""), declaration]));

describe("DEFAULTS", () => {
  test("has exactly the keys Pulumi.yaml declares", () => {
    expect(Object.keys(DEFAULTS).sort()).toEqual([...declared.keys()].sort());
  });

  test.each([...declared.entries()])("%s has Pulumi.yaml's default and type", (key, declaration) => {
    const value = DEFAULTS[key as keyof Settings];
    expect(value).toEqual(declaration.default);
    const expectedType = { integer: "number", string: "string", array: "object", boolean: "boolean" }[declaration.type];
    expect(typeof value).toBe(expectedType);
    if (declaration.type === "integer") expect(Number.isInteger(value)).toBe(true);
    if (declaration.type === "array") expect(declaration.items?.type).toBe("string");
  });

  test("differs from the seed's table only in the health-check cadence", () => {
    const differing = Object.entries(SEED_DEFAULTS)
      .filter(([key, seed]) => DEFAULTS[key as keyof Settings] !== seed)
      .map(([key]) => key);
    expect(differing).toEqual(["healthCheckIntervalMs", "healthCheckFall"]);
  });
});

describe("settingsFromConfig", () => {
  test("fills every unset key with its default", () => {
    expect(settingsFromConfig(() => undefined)).toEqual(DEFAULTS);
  });

  test("reads Pulumi's string values as the numbers and lists they spell", () => {
    const given: Record<string, string> = { retries: "5", streamPathPrefixes: '["/a/"]', namePrefix: "lab-" };
    const raw = settingsFromConfig((key) => given[key]);
    expect(raw.retries).toBe(5);
    expect(raw.streamPathPrefixes).toEqual(["/a/"]);
    expect(raw.namePrefix).toBe("lab-");
  });

  test("reads Pulumi's true and false strings as booleans", () => {
    expect(settingsFromConfig((key) => (key === "logEveryRequest" ? "true" : undefined)).logEveryRequest).toBe(true);
    expect(settingsFromConfig((key) => (key === "logEveryRequest" ? "false" : undefined)).logEveryRequest).toBe(false);
    expect(settingsFromConfig((key) => (key === "logEveryRequest" ? "yes" : undefined)).logEveryRequest).toBe("yes");
  });

  test("passes values that do not parse through unchanged, for validation to report", () => {
    const given: Record<string, unknown> = { retries: "three", drainServers: "backend-api-1", httpPort: 8.5 };
    const raw = settingsFromConfig((key) => given[key]);
    expect(raw.retries).toBe("three");
    expect(raw.drainServers).toBe("backend-api-1");
    expect(raw.httpPort).toBe(8.5);
  });

  test("keeps an integer string beyond 2^53 as typed, so its message quotes it exactly", () => {
    const given: Record<string, string> = { retries: "9223372036854775807", httpPort: "9007199254740991" };
    const raw = settingsFromConfig((key) => given[key]);
    expect(raw.retries).toBe("9223372036854775807");
    expect(raw.httpPort).toBe(Number.MAX_SAFE_INTEGER);
  });

  test("hands out copies of default lists, so the defaults cannot be edited through a result", () => {
    const raw = settingsFromConfig(() => undefined);
    (raw.streamPathPrefixes as string[]).push("/x/");
    expect(DEFAULTS.streamPathPrefixes).toEqual(["/hls/", "/stream/"]);
  });
});

describe("fleet and container names", () => {
  test("are numbered from 1 and carry the prefix only in Incus", () => {
    expect(fleetNames({ backendApiCount: 2, streamServerCount: 1 })).toEqual({
      backendApi: ["backend-api-1", "backend-api-2"],
      streamServer: ["stream-server-1"],
    });
    expect(fleetNames({ backendApiCount: 0, streamServerCount: 0 })).toEqual({ backendApi: [], streamServer: [] });
    expect(containerName("lab-", "backend-api-1")).toBe("lab-backend-api-1");
  });
});
