/**
 * The segments of the two labs, described as the HAProxy pair's `vrrp` arguments describe one:
 * the lab bridge (vezabr0) that scripts/lab-host.sh creates, whose description is those arguments'
 * default, and the cluster lab's instance segment (vezaclbr0 over the host bridge vzclseg0) that
 * scripts/cluster-lab.sh creates, which Pulumi.cluster.yaml sets. Unit tests hold the two scripts
 * and that stack file to these numbers. Each DHCP range stops short of its subnet's end so that
 * the addresses above it are never leased to a container and can carry a virtual IP.
 */

/** A lab's segment: its subnet, the host's address on it, and the range its DHCP server leases from. */
export interface LabNetwork {
  /** The subnet as `network/prefix`. */
  subnet: string;
  /** The range the DHCP server leases from, as `first-last`. */
  leasedRange: string;
  /** The host's address on the bridge; containers reach the host here. */
  gateway: string;
}

/** The one-host lab's bridge. */
export const LAB_NETWORK: Readonly<LabNetwork> = Object.freeze({
  subnet: "10.77.0.0/24",
  leasedRange: "10.77.0.2-10.77.0.199",
  gateway: "10.77.0.1",
});

/** The cluster lab's one L2 segment over its members, whose DHCP server runs on the host. */
export const CLUSTER_LAB_NETWORK: Readonly<LabNetwork> = Object.freeze({
  subnet: "10.79.0.0/24",
  leasedRange: "10.79.0.2-10.79.0.199",
  gateway: "10.79.0.1",
});
