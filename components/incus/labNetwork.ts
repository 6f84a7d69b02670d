/**
 * The addresses of the lab bridge (vezabr0) that scripts/lab-host.sh creates. They are fixed, not
 * settings: veza-infra:virtualIp is checked against them, and a unit test holds lab-host.sh to the
 * same numbers. The DHCP range stops short of the subnet's end so that the addresses above it are
 * never leased to a container and can carry a virtual IP.
 */

/** One IPv4 address as an unsigned 32-bit number, so ranges compare as numbers. */
export function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

/** The lab bridge's subnet, its own address and the range its DHCP server leases from. */
export const LAB_NETWORK = Object.freeze({
  /** Network address. */
  network: "10.77.0.0",
  prefixLength: 24,
  /** The bridge's address on the host; containers reach the host here. */
  gateway: "10.77.0.1",
  dhcpFirst: "10.77.0.2",
  dhcpLast: "10.77.0.199",
});

const SUBNET_SIZE = 2 ** (32 - LAB_NETWORK.prefixLength);

function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** The subnet as `network/prefix`, e.g. for messages. */
export const LAB_SUBNET = `${LAB_NETWORK.network}/${LAB_NETWORK.prefixLength}`;
/** The host addresses no container is ever leased, as `first-last`: where a virtual IP goes. */
export const LAB_STATIC_RANGE = `${numberToIpv4(ipv4ToNumber(LAB_NETWORK.dhcpLast) + 1)}-${numberToIpv4(ipv4ToNumber(LAB_NETWORK.network) + SUBNET_SIZE - 2)}`;

/**
 * Why a dotted-quad IPv4 address cannot be the lab's virtual IP, or undefined when it can: it must
 * be a host address of the subnet that neither the bridge nor a DHCP lease can ever hold.
 */
export function virtualIpConflict(address: string): string | undefined {
  const value = ipv4ToNumber(address);
  const network = ipv4ToNumber(LAB_NETWORK.network);
  if (value < network || value >= network + SUBNET_SIZE) return `outside the lab subnet ${LAB_SUBNET}`;
  if (value === network) return "the subnet's network address";
  if (value === network + SUBNET_SIZE - 1) return "the subnet's broadcast address";
  if (address === LAB_NETWORK.gateway) return "the bridge's own address on the host";
  if (value >= ipv4ToNumber(LAB_NETWORK.dhcpFirst) && value <= ipv4ToNumber(LAB_NETWORK.dhcpLast)) {
    return `inside the DHCP range ${LAB_NETWORK.dhcpFirst}-${LAB_NETWORK.dhcpLast}, so a container could be leased it`;
  }
  return undefined;
}
