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
import { Fleets, STATS_PASSWORD_ENV, Upstream, renderHaproxyConfig } from "../components/haproxyConfig";
import { CONFIG_NAMESPACE, DEFAULTS, Settings, fleetNames, settingsFromConfig } from "../components/settings";
import { validateSettings } from "../components/validation";

const PROJECT_DIR = path.resolve(__dirname, "..");
const parseYaml: (text: string) => unknown = load;

function readYaml(file: string): Record<string, unknown> {
  const parsed = parseYaml(fs.readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null) throw new Error(`${file} is not a YAML mapping`);
  return parsed as Record<string, unknown>;
}

/** Strips the namespace of a `veza-infra:<key>` entry; refuses a key the project does not declare. */
function settingKey(fullKey: string, file: string): keyof Settings {
  const key = fullKey.slice(CONFIG_NAMESPACE.length + 1);
  if (!Object.hasOwn(DEFAULTS, key)) throw new Error(`${file}: unknown stack-config key ${fullKey}`);
  return key as keyof Settings;
}

/** The `config:` entries of the project's namespace in a Pulumi YAML file, by setting name. */
function namespaceEntries(file: string): Map<keyof Settings, unknown> {
  const config = (readYaml(file).config ?? {}) as Record<string, unknown>;
  const ours = Object.entries(config).filter(([key]) => key.startsWith(`${CONFIG_NAMESPACE}:`));
  return new Map(ours.map(([key, value]) => [settingKey(key, file), value]));
}

/** Defaults declared in Pulumi.yaml (`config: veza-infra:<key>: default:`), by setting name. */
function readPulumiDefaults(projectDir = PROJECT_DIR): Map<keyof Settings, unknown> {
  const declared = namespaceEntries(path.join(projectDir, "Pulumi.yaml"));
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

/** What to render: raw settings, and the upstreams the input gives (the others are sampled). */
interface Input {
  raw: ReturnType<typeof settingsFromConfig>;
  fleets: Partial<Fleets>;
}

function stackInput(stack: string): Input {
  const file = path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${file}`);
  const defaults = readPulumiDefaults();
  const overrides = namespaceEntries(file);
  return { raw: settingsFromConfig((key) => overrides.get(key as keyof Settings) ?? defaults.get(key as keyof Settings)), fleets: {} };
}

function jsonInput(file: string): Input {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${file} must hold a JSON object`);
  const { settings = {}, backendApi, streamServer, ...rest } = parsed as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new Error(`${file}: unknown field(s) ${extra.join(", ")}; expected settings, backendApi, streamServer`);
  if (typeof settings !== "object" || settings === null || Array.isArray(settings)) throw new Error(`${file}: "settings" must be an object`);
  const given = settings as Record<string, unknown>;
  for (const key of Object.keys(given)) settingKey(`${CONFIG_NAMESPACE}:${key}`, file);
  return {
    raw: settingsFromConfig((key) => given[key]),
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
  const settings = validateSettings(input.raw);
  const samples = sampleFleets(settings);
  const fleets = { ...samples, ...input.fleets };
  const sampled = !input.fleets.backendApi || !input.fleets.streamServer;
  const notes = [
    ...(sampled ? ["# render: sample upstream addresses (10.77.0.11..); the deploy uses the addresses Incus assigns."] : []),
    `# render: the stats password comes from $${STATS_PASSWORD_ENV}; set it to check this file with haproxy -c.`,
  ];
  return `${notes.join("\n")}\n${renderHaproxyConfig(settings, fleets)}`;
}

if (require.main === module) {
  try {
    process.stdout.write(renderFromArgs(process.argv.slice(2)));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
