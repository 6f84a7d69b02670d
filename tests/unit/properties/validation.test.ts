/**
 * The validator's allowlists as properties. Whatever a stack sets a string setting to, either
 * validation names that key or the value is made of the characters its message documents, none
 * of which means anything to a shell or to haproxy.cfg. And whatever the documented characters
 * make, the validator accepts and haproxy.cfg holds as plain words on the template's own lines:
 * no value adds a line or a word, whatever its content.
 */
import fc from "fast-check";
import { stackHaproxyConfig } from "../../../stack/componentArgs";
import { CLIENT_ADDRESS_SOURCES } from "../../../components/haproxy/haproxyOptions";
import { RULE_NAMES } from "../../../policy/rules";
import { DEFAULTS, Settings, configKey } from "../../../stack/settings";
import { SettingsError, validateSettings } from "../../../stack/validation";
import { FileAccess } from "../../../components/common/rules";
import { HAPROXY_INPUTS } from "../helpers/arbitraries";
import { HAPROXY, OPENSSL, describeWithTools, haproxyCheck, selfSignedPem, tempDir } from "../helpers/tools";

type StringKey = { [K in keyof Settings]: Settings[K] extends string | readonly string[] ? K : never }[keyof Settings];

/** Every path names a PEM with a certificate and its key, so only a path's characters can be refused. */
const EVERY_PATH_A_PEM: FileAccess = {
  kind: () => "file",
  readText: () => "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
};

/** The problems validation finds in `raw`, none when it accepts it. */
function problemsOf(raw: Settings): readonly string[] {
  try {
    validateSettings(raw, EVERY_PATH_A_PEM);
    return [];
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
}

/**
 * Characters that are plain text to a POSIX shell and inside a word of haproxy.cfg: no blank,
 * quote, `$`, backtick, `#`, `;`, `&`, `|`, redirection, glob, bracket, brace, `%`, `\`, control or
 * non-ASCII character. (Whether a leading `-` is allowed is the setting's own rule: a path or
 * an Incus name given to a command must not read as an option; a cookie name is never given to one.)
 */
const PLAIN_WORD = /^[A-Za-z0-9._/:@+,=~-]*$/;

const URL_PATH = /^\/[A-Za-z0-9\-._~/:@+,=]{0,255}$/;
const FILE_PATH = /^$|^(?!-)[A-Za-z0-9._/+@-]{1,4096}$/;
const OPTIONAL_TOKEN = /^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const SIZE = /^$|^[1-9][0-9]*(MiB|GiB)$/;
const INCUS_NAME = /^[A-Za-z][A-Za-z0-9-]*$/;
const HOST_PORT = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/;
const IPV4 = /[0-9]{1,3}(\.[0-9]{1,3}){3}/;
const IPV4_NETWORK = new RegExp(`^${IPV4.source}/[0-9]{1,2}$`);

interface StringRule {
  /** The characters and shape the validator's message documents for the setting (a list: for each item). */
  documented: RegExp;
  /** Values it documents as valid; generated values are also these with something inserted. */
  examples: readonly string[];
  /** Other settings the value is judged with, where a default would refuse every value. */
  context?: Partial<Settings>;
}

/** Every setting that holds a string or a list of strings, as its validation message documents it. */
const STRING_SETTINGS: Record<StringKey, StringRule> = {
  tlsCertPath: { documented: FILE_PATH, examples: ["", "/etc/veza/edge.pem", "certs/a+b@c.pem"] },
  backendApiBinaryPath: { documented: FILE_PATH, examples: ["", "bin/backend-api"] },
  streamServerBinaryPath: { documented: FILE_PATH, examples: ["", "/opt/stream-server"] },
  backendApiHealthPath: { documented: URL_PATH, examples: ["/api/v1/health", "/"] },
  streamServerHealthPath: { documented: URL_PATH, examples: ["/health", "/a~b/c:d@e+f,g=h"] },
  streamPathPrefixes: { documented: URL_PATH, examples: ["/hls/", "/stream/"] },
  stickyCookieName: { documented: /^[A-Za-z0-9._-]{1,64}$/, examples: ["VEZA_SERVERID", "a.b-c"] },
  drainServers: { documented: INCUS_NAME, examples: ["backend-api-1", "stream-server-2"] },
  backendApiFallbackServers: { documented: HOST_PORT, examples: ["10.0.0.5:8080", "api.example.org:9080"] },
  streamServerFallbackServers: { documented: HOST_PORT, examples: ["localhost:8082"] },
  metricsAllowedSources: { documented: IPV4_NETWORK, examples: ["10.77.0.0/24", "192.0.2.7/32"] },
  rateLimitExemptSources: { documented: IPV4_NETWORK, examples: ["0.0.0.0/0"] },
  trustedProxies: { documented: IPV4_NETWORK, examples: ["198.51.100.0/24"], context: { clientAddressSource: "x-forwarded-for" } },
  clientAddressSource: { documented: new RegExp(`^(${CLIENT_ADDRESS_SOURCES.join("|")})$`), examples: CLIENT_ADDRESS_SOURCES },
  incusRemote: { documented: OPTIONAL_TOKEN, examples: ["", "lab-cluster"] },
  incusTarget: { documented: OPTIONAL_TOKEN, examples: ["", "node.1"] },
  incusImage: { documented: /^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/, examples: ["veza-lab/bookworm", "images:debian/12"] },
  incusNetwork: { documented: /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/, examples: ["vezabr0"] },
  incusStoragePool: { documented: /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, examples: ["veza"] },
  haproxyLimitsMemory: { documented: SIZE, examples: ["256MiB", ""] },
  haproxyRootSize: { documented: SIZE, examples: ["2GiB", ""] },
  backendApiLimitsMemory: { documented: SIZE, examples: ["1GiB"] },
  backendApiRootSize: { documented: SIZE, examples: ["1024MiB"] },
  streamServerLimitsMemory: { documented: SIZE, examples: ["64MiB"] },
  streamServerRootSize: { documented: SIZE, examples: ["4GiB"] },
  // The container names it starts must be Incus names, so it may be empty or start one.
  namePrefix: { documented: /^$|^[A-Za-z][A-Za-z0-9-]*$/, examples: ["", "lab-", "a1"] },
  virtualIp: { documented: new RegExp(`^${IPV4.source}$`), examples: ["10.77.0.250", ""], context: { haproxyCount: 2 } },
  vrrpSubnet: { documented: IPV4_NETWORK, examples: ["10.77.0.0/24", "10.76.0.0/15"] },
  vrrpLeasedRange: { documented: new RegExp(`^$|^${IPV4.source}-${IPV4.source}$`), examples: ["10.77.0.2-10.77.0.199", ""] },
  vrrpGateway: { documented: new RegExp(`^$|^${IPV4.source}$`), examples: ["10.77.0.1", "10.77.0.254", ""] },
  // Read by the policy pack only, and shown in previews: one line of the documented characters.
  policyWaivers: { documented: /^[a-z0-9-]+: *[A-Za-z0-9 .,;:()/'#_+-]{1,200}$/, examples: [`${RULE_NAMES[0]}: lab only (see docs/)`] },
};
/** Settings whose values never reach a shell or haproxy.cfg. */
const POLICY_ONLY: readonly StringKey[] = ["policyWaivers"];

const STRING_KEYS = Object.keys(STRING_SETTINGS) as StringKey[];

/** What a shell or haproxy.cfg reads as more than a character, and what a terminal or parser might. */
const HOSTILE = [..." \t\n\r\0\x7f\u0085\u00a0\u2028\u202e\ufeff\"'`$#;&|<>(){}[]*?!%\\é-", "$(id)", "${HOME}", "%0a", ".."];
const PLAIN = [..."aZ09._-/:@+,=~"];

/** Strings of any content, many of them a valid value with something inserted, some past every length limit. */
function anyString(examples: readonly string[]): fc.Arbitrary<string> {
  const withInsert = fc
    .tuple(fc.constantFrom(...examples), fc.nat(), fc.constantFrom(...HOSTILE))
    .map(([example, at, inserted]) => example.slice(0, at % (example.length + 1)) + inserted + example.slice(at % (example.length + 1)));
  return fc.oneof(
    fc.string({ unit: "binary", maxLength: 80 }),
    fc.string({ unit: fc.constantFrom(...PLAIN, ...HOSTILE), maxLength: 40 }),
    withInsert,
    fc.string({ unit: fc.constantFrom(...PLAIN), minLength: 10, maxLength: 300, size: "max" }),
    fc.constantFrom(...examples),
  );
}

const isList = (key: StringKey) => Array.isArray(DEFAULTS[key]);
const names = (problems: readonly string[], key: StringKey) =>
  problems.some((problem) => problem.startsWith(`${configKey(key)} `) || problem.startsWith(`${configKey(key)}[`));

describe("every string setting is held to its documented characters", () => {
  test("the table covers every setting that holds strings", () => {
    const holdingStrings = Object.keys(DEFAULTS).filter((key) => {
      const value = DEFAULTS[key as keyof Settings];
      return typeof value === "string" || Array.isArray(value);
    });
    expect([...STRING_KEYS].sort()).toEqual(holdingStrings.sort());
  });

  test.each(STRING_KEYS)("%s: any string is refused by name, or is of the documented characters", (key) => {
    const { documented, examples, context } = STRING_SETTINGS[key];
    fc.assert(
      fc.property(anyString(examples), (value) => {
        const problems = problemsOf({ ...DEFAULTS, ...context, [key]: isList(key) ? [value] : value });
        if (names(problems, key)) return;
        expect(value).toMatch(documented);
        if (!POLICY_ONLY.includes(key)) expect(value).toMatch(PLAIN_WORD);
      }),
      { numRuns: 150 },
    );
  });

  test.each(STRING_KEYS)("%s: a value that is not a string (a list: of strings) is refused by name", (key) => {
    const wrongType = fc
      .anything()
      .filter((value) =>
        isList(key) ? !Array.isArray(value) || value.some((item) => typeof item !== "string") : typeof value !== "string",
      );
    fc.assert(
      fc.property(wrongType, (value) => {
        expect(names(problemsOf({ ...DEFAULTS, ...STRING_SETTINGS[key].context, [key]: value } as Settings), key)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });
});

/** `settings` with every rendered string replaced by one fixed value of its kind, list lengths kept. */
function placeholders(settings: Settings): Settings {
  const each = (list: readonly string[], value: string) => list.map(() => value);
  return {
    ...settings,
    backendApiHealthPath: "/p",
    streamServerHealthPath: "/p",
    streamPathPrefixes: each(settings.streamPathPrefixes, "/p"),
    stickyCookieName: "c",
    metricsAllowedSources: each(settings.metricsAllowedSources, "10.0.0.0/8"),
    rateLimitExemptSources: each(settings.rateLimitExemptSources, "10.0.0.0/8"),
    trustedProxies: each(settings.trustedProxies, "10.0.0.0/8"),
    backendApiFallbackServers: each(settings.backendApiFallbackServers, "10.0.0.1:1"),
    streamServerFallbackServers: each(settings.streamServerFallbackServers, "10.0.0.1:1"),
  };
}

/** Each line with every run of plain-word characters as `w`: what is left is the config's structure. */
const shape = (config: string) => config.split("\n").map((line) => line.replace(/[A-Za-z0-9._/:@+,=~-]+/g, "w"));

describe("what the validator accepts, haproxy.cfg holds as words on the template's lines", () => {
  test("any documented value is accepted, and renders to the structure a placeholder of its kind does", () => {
    fc.assert(
      fc.property(HAPROXY_INPUTS, ({ settings, fleets }) => {
        expect(problemsOf(settings)).toEqual([]);
        expect(shape(stackHaproxyConfig(settings, fleets))).toEqual(shape(stackHaproxyConfig(placeholders(settings), fleets)));
      }),
      { numRuns: 100 },
    );
  });
});

describeWithTools([HAPROXY, OPENSSL])("what the validator accepts, the real haproxy -c accepts", () => {
  let pem: string;
  beforeAll(() => {
    pem = selfSignedPem(tempDir("pem"));
  });

  test("any documented value renders a config haproxy loads without a warning", () => {
    fc.assert(
      fc.property(HAPROXY_INPUTS, ({ settings, fleets }) => {
        const verdict = haproxyCheck(stackHaproxyConfig(settings, fleets), pem);
        expect(verdict.warnings).toEqual([]);
        expect(verdict.status).toBe(0);
      }),
      { numRuns: 10 },
    );
  });
});
