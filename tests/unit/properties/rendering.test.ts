/**
 * Rendering as properties. The config hash that triggers a reload changes exactly when the text
 * does, so the text must be a function of what it is rendered from and nothing else: the same
 * arguments give the same bytes, however the settings object was built; a setting the file does
 * not hold never changes it; and a fleet listed in another order changes only the order of its
 * `server` lines: a reordered fleet would reload HAProxy, but every URI keeps its stream server and
 * every cookie its api server.
 */
import fc from "fast-check";
import { Fleets, Upstream } from "../../../components/haproxy/haproxyConfig";
import { KeepalivedArgs, renderKeepalivedConfig } from "../../../components/haproxy/keepalivedConfig";
import { completeVrrp } from "../../../components/haproxy/haproxyPair";
import { stackHaproxyConfig } from "../../../stack/componentArgs";
import { HAPROXY_FIELDS } from "../../../stack/fields";
import { DEFAULTS, Settings } from "../../../stack/settings";
import { HAPROXY_INPUTS } from "../helpers/arbitraries";

/** `object` rebuilt with its keys in another order. */
const reordered = <T extends object>(object: T, order: readonly number[]): T => {
  const entries = Object.entries(object);
  return Object.fromEntries(order.map((i) => entries[i % entries.length]).concat(entries)) as T;
};
const KEY_ORDER = fc.array(fc.nat(), { maxLength: 80 });

/** The settings haproxy.cfg does not hold: every other key, and the drains, which are runtime state. */
const NOT_RENDERED = (Object.keys(DEFAULTS) as (keyof Settings)[]).filter((key) => !(key in HAPROXY_FIELDS) || key === "drainServers");

/** Each backend's `server` lines sorted, the rest of the config as it is. */
function serverLinesSorted(config: string): string {
  return config
    .split("\n\n")
    .map((section) => {
      const lines = section.split("\n");
      const servers = lines.filter((line) => line.startsWith("    server ")).sort();
      return lines.map((line) => (line.startsWith("    server ") ? servers.shift() : line)).join("\n");
    })
    .join("\n\n");
}

const PEERS: Upstream[] = [
  { name: "lab-haproxy", address: "10.77.0.5" },
  { name: "lab-haproxy-2", address: "10.77.0.6" },
];
const PEER_SETS = fc.constantFrom<readonly Upstream[]>([], PEERS);

describe("haproxy.cfg", () => {
  test("the same arguments give the same bytes, whatever order the settings' keys were set in", () => {
    fc.assert(
      fc.property(HAPROXY_INPUTS, PEER_SETS, KEY_ORDER, ({ settings, fleets }, peers, order) => {
        const config = stackHaproxyConfig(settings, fleets, peers);
        expect(stackHaproxyConfig(structuredClone(settings), structuredClone(fleets), peers)).toBe(config);
        expect(stackHaproxyConfig(reordered(settings, order), fleets, peers)).toBe(config);
      }),
      { numRuns: 60 },
    );
  });

  test("a setting it does not hold, the drains among them, never changes it", () => {
    const changed = fc.record({ key: fc.constantFrom(...NOT_RENDERED), value: fc.anything() });
    fc.assert(
      fc.property(HAPROXY_INPUTS, changed, ({ settings, fleets }, { key, value }) => {
        expect(stackHaproxyConfig({ ...settings, [key]: value }, fleets)).toBe(stackHaproxyConfig(settings, fleets));
      }),
      { numRuns: 60 },
    );
  });

  // A server's ring points come from its id and weight alone, so the same lines make the same ring.
  test("fleets listed in another order change only the order of the server lines", () => {
    const shuffled = HAPROXY_INPUTS.chain(({ settings, fleets }) =>
      fc.record({
        settings: fc.constant(settings),
        fleets: fc.constant(fleets),
        reordered: fc.record<Fleets>({
          backendApi: fc.shuffledSubarray(fleets.backendApi, { minLength: fleets.backendApi.length }),
          streamServer: fc.shuffledSubarray(fleets.streamServer, { minLength: fleets.streamServer.length }),
        }),
      }),
    );
    fc.assert(
      fc.property(shuffled, ({ settings, fleets, reordered }) => {
        expect(serverLinesSorted(stackHaproxyConfig(settings, reordered))).toBe(serverLinesSorted(stackHaproxyConfig(settings, fleets)));
      }),
      { numRuns: 60 },
    );
  });
});

/** Two nodes with Incus names and distinct addresses on the lab's segment, none of them the virtual IP, and valid VRRP settings. */
const PAIRS = fc
  .record({
    names: fc.uniqueArray(fc.stringMatching(/^[A-Za-z]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?$/), { minLength: 2, maxLength: 2 }),
    addresses: fc.uniqueArray(fc.integer({ min: 2, max: 199 }), { minLength: 2, maxLength: 2 }),
    virtualIp: fc.integer({ min: 200, max: 254 }),
    routerId: fc.integer({ min: 1, max: 255 }),
    advertIntervalMs: fc.integer({ min: 10, max: 100 }).map((centiseconds) => centiseconds * 10),
    statsPort: fc.integer({ min: 1, max: 65535 }),
  })
  .map(({ names, addresses, virtualIp, statsPort, ...vrrp }) => ({
    settings: { statsPort, vrrp: completeVrrp({ ...vrrp, virtualIp: `10.77.0.${virtualIp}` }) } satisfies KeepalivedArgs,
    pair: names.map((name, i): Upstream => ({ name, address: `10.77.0.${addresses[i]}` })),
  }));

describe("keepalived.conf", () => {
  test("the same arguments give the same bytes, whatever order the settings' keys were set in", () => {
    fc.assert(
      fc.property(PAIRS, KEY_ORDER, ({ settings, pair }, order) => {
        for (const node of pair) {
          const config = renderKeepalivedConfig(settings, pair, node.name);
          expect(renderKeepalivedConfig(structuredClone(settings), structuredClone(pair), node.name)).toBe(config);
          expect(renderKeepalivedConfig(reordered(settings, order), pair, node.name)).toBe(config);
        }
      }),
      { numRuns: 60 },
    );
  });

  test("the two nodes' files differ only in who each node is, who its peer is, and its priority", () => {
    fc.assert(
      fc.property(PAIRS, ({ settings, pair }) => {
        const [first, second] = pair.map((node) => renderKeepalivedConfig(settings, pair, node.name).split("\n"));
        expect(second).toHaveLength(first.length);
        const differing = first.flatMap((line, i) => (line === second[i] ? [] : [[line.trim(), second[i].trim()]]));
        const [a, b] = pair;
        expect(differing).toEqual([
          [`router_id ${a.name}`, `router_id ${b.name}`],
          ["priority 150", "priority 100"],
          [`unicast_src_ip ${a.address}`, `unicast_src_ip ${b.address}`],
          [b.address, a.address],
        ]);
      }),
      { numRuns: 60 },
    );
  });
});
