/**
 * Prints the haproxy.cfg a stack would get, without Pulumi or Incus:
 *
 *   npm run render -- --stack lab              Pulumi.yaml defaults + Pulumi.lab.yaml
 *   npm run render -- --settings file.json     { "settings": {...}, "backendApi": [...], "streamServer": [...] }
 *
 * Upstream addresses the input does not give are sample ones (10.77.0.11..), said so in a comment
 * at the top. Invalid input exits 1 with the validation message.
 */
import * as fs from "fs";
import * as path from "path";
import { load } from "js-yaml";
import { Fleets, STATS_PASSWORD_ENV, Upstream } from "../components/haproxy/haproxyConfig";
import { LOCAL_FILES } from "../components/common/rules";
import { stackHaproxyConfig } from "../stack/componentArgs";
import { CONFIG_NAMESPACE, Settings, containerName, fleetNames, haproxyNames, settingsFromConfig } from "../stack/settings";
import { validateSettings } from "../stack/validation";

const PROJECT_DIR = path.resolve(__dirname, "..");
const parseYaml: (text: string) => unknown = load;

function readYaml(file: string): Record<string, unknown> {
  const parsed = parseYaml(fs.readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null) throw new Error(`${file} is not a YAML mapping`);
  return parsed as Record<string, unknown>;
}

/**
 * The `config:` entries of a Pulumi YAML file, by full key (`veza-infra:httpPort`). Keys that are
 * not settings are left to validation, which reports them with every other problem.
 */
function configEntries(file: string): Map<string, unknown> {
  return new Map(Object.entries((readYaml(file).config ?? {}) as Record<string, unknown>));
}

/** Defaults declared in Pulumi.yaml (`config: veza-infra:<key>: default:`), by full key. */
function readPulumiDefaults(projectDir = PROJECT_DIR): Map<string, unknown> {
  const declared = configEntries(path.join(projectDir, "Pulumi.yaml"));
  return new Map([...declared].map(([key, declaration]) => [key, (declaration as { default?: unknown } | null)?.default]));
}

/** Sample upstreams for the configured counts: 10.77.0.11, .12, ... across both fleets. */
function sampleFleets(settings: Settings): Fleets {
  const names = fleetNames(settings);
  const address = (i: number) => `10.77.0.${11 + i}`;
  return {
    backendApi: names.backendApi.map((name, i) => ({ name, address: address(i) })),
    streamServer: names.streamServer.map((name, i) => ({ name, address: address(names.backendApi.length + i) })),
  };
}

function upstreamList(value: unknown, field: string): Upstream[] {
  const valid = Array.isArray(value) && value.every((u) => typeof u?.name === "string" && typeof u?.address === "string");
  if (!valid) throw new Error(`"${field}" must be a list of { "name": string, "address": string }`);
  return value as Upstream[];
}

/** What to render: raw settings, every key the input sets, and the upstreams it gives (the others are sampled). */
interface Input {
  raw: ReturnType<typeof settingsFromConfig>;
  configKeys: string[];
  fleets: Partial<Fleets>;
}

const fullKey = (key: string) => `${CONFIG_NAMESPACE}:${key}`;

function stackInput(stack: string): Input {
  const file = path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${file}`);
  const defaults = readPulumiDefaults();
  const overrides = configEntries(file);
  return {
    raw: settingsFromConfig((key) => overrides.get(fullKey(key)) ?? defaults.get(fullKey(key))),
    configKeys: [...overrides.keys()],
    fleets: {},
  };
}

function jsonInput(file: string): Input {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${file} must hold a JSON object`);
  const { settings = {}, backendApi, streamServer, ...rest } = parsed as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new Error(`${file}: unknown field(s) ${extra.join(", ")}; expected settings, backendApi, streamServer`);
  if (typeof settings !== "object" || settings === null || Array.isArray(settings))
    throw new Error(`${file}: "settings" must be an object`);
  const given = settings as Record<string, unknown>;
  return {
    raw: settingsFromConfig((key) => given[key]),
    configKeys: Object.keys(given).map(fullKey),
    fleets: {
      ...(backendApi === undefined ? {} : { backendApi: upstreamList(backendApi, "backendApi") }),
      ...(streamServer === undefined ? {} : { streamServer: upstreamList(streamServer, "streamServer") }),
    },
  };
}

/** The config text for the command line's arguments, headed by comments on what is not real. */
function renderFromArgs(args: string[]): string {
  const [flag, value, ...more] = args;
  if (!value || more.length > 0 || (flag !== "--stack" && flag !== "--settings")) {
    throw new Error("usage: npm run render -- --stack <name> | --settings <file.json>");
  }
  const input = flag === "--stack" ? stackInput(value) : jsonInput(value);
  const settings = validateSettings(input.raw, LOCAL_FILES, input.configKeys);
  const samples = sampleFleets(settings);
  const fleets = { ...samples, ...input.fleets };
  const sampled = !input.fleets.backendApi || !input.fleets.streamServer;
  // The pair's file names both nodes as peers; their addresses are Incus' to assign too.
  const peers = haproxyNames(settings.haproxyCount === 2 ? 2 : 0).map((name, i) => ({
    name: containerName(settings.namePrefix, name),
    address: `10.77.0.${5 + i}`,
  }));
  const notes = [
    ...(sampled ? ["# render: sample upstream addresses (10.77.0.11..); the deploy uses the addresses Incus assigns."] : []),
    ...(peers.length > 0 ? ["# render: sample addresses of the pair's nodes (10.77.0.5, 10.77.0.6), named as their containers."] : []),
    `# render: the stats password comes from $${STATS_PASSWORD_ENV}; set it to check this file with haproxy -c.`,
  ];
  return `${notes.join("\n")}\n${stackHaproxyConfig(settings, fleets, peers)}`;
}

if (require.main === module) {
  try {
    process.stdout.write(renderFromArgs(process.argv.slice(2)));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
