/**
 * fast-check arbitraries of the program's inputs, shared by the property tests.
 */
import fc from "fast-check";
import { Fleets, Upstream } from "../../../components/haproxy/haproxyConfig";
import { CLIENT_ADDRESS_SOURCES } from "../../../components/haproxy/haproxyOptions";
import { DEFAULTS, Settings } from "../../../stack/settings";

const URL_PATHS = fc.stringMatching(/^\/[A-Za-z0-9\-._~/:@+,=]{0,40}$/);

/** `address`/`bits` with the host bits cleared: a network the validator accepts. */
function network(address: string, bits: number): string {
  const value = address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const block = 2 ** (32 - bits);
  const base = value - (value % block);
  return `${[24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join(".")}/${bits}`;
}
const NETWORKS = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([address, bits]) => network(address, bits));
/** Fallbacks by address only: `haproxy -c` resolves names, and tests reach no network. */
const FALLBACKS = fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([host, port]) => `${host}:${port}`);

const fleet = (base: string, count: number, firstOctet: number): Upstream[] =>
  Array.from({ length: count }, (_, i) => ({ name: `${base}-${i + 1}`, address: `10.77.0.${firstOctet + i}` }));

/**
 * Settings the validator accepts, with values of the documented characters for every string
 * haproxy.cfg holds, and fleets to go with them (an empty fleet uses its fallbacks).
 */
export const HAPROXY_INPUTS = fc
  .record({
    backendApiHealthPath: URL_PATHS,
    streamServerHealthPath: URL_PATHS,
    streamPathPrefixes: fc.array(URL_PATHS, { minLength: 1, maxLength: 70, size: "max" }),
    stickyCookieName: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
    metricsAllowedSources: fc.array(NETWORKS, { minLength: 1, maxLength: 32, size: "max" }),
    rateLimitExemptSources: fc.array(NETWORKS, { maxLength: 32, size: "max" }),
    rateLimitEnabled: fc.boolean(),
    clientAddressSource: fc.constantFrom(...CLIENT_ADDRESS_SOURCES),
    proxies: fc.array(NETWORKS, { minLength: 1, maxLength: 32, size: "max" }),
    backendApiFallbackServers: fc.array(FALLBACKS, { minLength: 1, maxLength: 4 }),
    streamServerFallbackServers: fc.array(FALLBACKS, { minLength: 1, maxLength: 4 }),
    backendApiCount: fc.integer({ min: 0, max: 8 }),
    streamServerCount: fc.integer({ min: 0, max: 8 }),
    tlsCertPath: fc.constantFrom("", "/etc/veza/edge.pem"),
    gracefulDrainSeconds: fc.integer({ min: 0, max: 3600 }),
    logEveryRequest: fc.boolean(),
  })
  .map(({ proxies, ...given }): { settings: Settings; fleets: Fleets } => ({
    settings: { ...DEFAULTS, ...given, trustedProxies: given.clientAddressSource === "connection" ? [] : proxies } as Settings,
    fleets: {
      backendApi: fleet("backend-api", given.backendApiCount, 11),
      streamServer: fleet("stream-server", given.streamServerCount, 21),
    },
  }));
