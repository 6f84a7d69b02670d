/**
 * The addresses of the lab bridge (vezabr0) that scripts/lab-host.sh creates, and of the cluster
 * lab's instance segment (vezaclbr0 over the host bridge vzclseg0) that scripts/cluster-lab.sh
 * creates. They are fixed, not settings: veza-infra:virtualIp is checked against them, and unit
 * tests hold the two scripts to the same numbers. Each DHCP range stops short of its subnet's end
 * so that the addresses above it are never leased to a container and can carry a virtual IP.
 */

/** One IPv4 address as an unsigned 32-bit number, so ranges compare as numbers. */
export function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

/** A lab's subnet, its host's address on it and the range its DHCP server leases from. */
export interface LabNetwork {
  /** Network address. */
  network: string;
  prefixLength: number;
  /** The host's address on the bridge; containers reach the host here. */
  gateway: string;
  dhcpFirst: string;
  dhcpLast: string;
}

/** The one-host lab's bridge. */
export const LAB_NETWORK: Readonly<LabNetwork> = Object.freeze({
  network: "10.77.0.0",
  prefixLength: 24,
  gateway: "10.77.0.1",
  dhcpFirst: "10.77.0.2",
  dhcpLast: "10.77.0.199",
});

/** The cluster lab's one L2 segment over its members, whose DHCP server runs on the host. */
export const CLUSTER_LAB_NETWORK: Readonly<LabNetwork> = Object.freeze({
  network: "10.79.0.0",
  prefixLength: 24,
  gateway: "10.79.0.1",
  dhcpFirst: "10.79.0.2",
  dhcpLast: "10.79.0.199",
});

const subnetSize = (lab: LabNetwork) => 2 ** (32 - lab.prefixLength);

function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** A lab's subnet as `network/prefix`, e.g. for messages. */
export const subnetOf = (lab: LabNetwork) => `${lab.network}/${lab.prefixLength}`;
/** The host addresses of a lab's subnet no container is ever leased, as `first-last`: where a virtual IP goes. */
export const staticRangeOf = (lab: LabNetwork) =>
  `${numberToIpv4(ipv4ToNumber(lab.dhcpLast) + 1)}-${numberToIpv4(ipv4ToNumber(lab.network) + subnetSize(lab) - 2)}`;

/** The one-host lab's subnet as `network/prefix`. */
export const LAB_SUBNET = subnetOf(LAB_NETWORK);
/** Where the one-host lab's virtual IP goes. */
export const LAB_STATIC_RANGE = staticRangeOf(LAB_NETWORK);
/** Where the cluster lab's virtual IP goes. */
export const CLUSTER_LAB_STATIC_RANGE = staticRangeOf(CLUSTER_LAB_NETWORK);

const inSubnet = (value: number, lab: LabNetwork) =>
  value >= ipv4ToNumber(lab.network) && value < ipv4ToNumber(lab.network) + subnetSize(lab);

/**
 * The lab network a dotted-quad IPv4 address is judged against: the cluster lab's segment for an
 * address in it, else the one-host lab's (so that everything outside the segment is judged, and
 * explained, as before the cluster lab existed).
 */
export function labNetworkOf(address: string): Readonly<LabNetwork> {
  return inSubnet(ipv4ToNumber(address), CLUSTER_LAB_NETWORK) ? CLUSTER_LAB_NETWORK : LAB_NETWORK;
}

/**
 * Why a dotted-quad IPv4 address cannot be a lab's virtual IP, or undefined when it can: it must
 * be a host address of the one-host lab's subnet, or of the cluster lab's segment, that neither
 * the host nor a DHCP lease can ever hold.
 */
export function virtualIpConflict(address: string): string | undefined {
  const lab = labNetworkOf(address);
  const value = ipv4ToNumber(address);
  const network = ipv4ToNumber(lab.network);
  if (!inSubnet(value, lab)) return `outside the lab subnet ${subnetOf(lab)}`;
  if (value === network) return "the subnet's network address";
  if (value === network + subnetSize(lab) - 1) return "the subnet's broadcast address";
  if (address === lab.gateway) return "the bridge's own address on the host";
  if (value >= ipv4ToNumber(lab.dhcpFirst) && value <= ipv4ToNumber(lab.dhcpLast)) {
    return `inside the DHCP range ${lab.dhcpFirst}-${lab.dhcpLast}, so a container could be leased it`;
  }
  return undefined;
}
