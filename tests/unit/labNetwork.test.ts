import * as fs from "fs";
import * as path from "path";
import {
  CLUSTER_LAB_NETWORK,
  CLUSTER_LAB_STATIC_RANGE,
  LAB_NETWORK,
  LAB_STATIC_RANGE,
  LAB_SUBNET,
  ipv4ToNumber,
  virtualIpConflict,
} from "../../components/incus/labNetwork";

const labHost = fs.readFileSync(path.join(__dirname, "..", "..", "scripts", "lab-host.sh"), "utf8");
/** The value of a plain `name=value` assignment of lab-host.sh. */
const assigned = (name: string) => new RegExp(`^${name}=(\\S+)$`, "m").exec(labHost)?.[1];

describe("the lab bridge", () => {
  test("lab-host.sh creates it with the addresses labNetwork.ts validates against", () => {
    expect(assigned("subnet")).toBe(`${LAB_NETWORK.gateway}/${LAB_NETWORK.prefixLength}`);
    expect(assigned("dhcp_ranges")).toBe(`${LAB_NETWORK.dhcpFirst}-${LAB_NETWORK.dhcpLast}`);
    expect(labHost).toContain("[ipv4.dhcp.ranges]=$dhcp_ranges");
  });

  test("leaves the top of the subnet to virtual IPs", () => {
    expect(LAB_SUBNET).toBe("10.77.0.0/24");
    expect(LAB_STATIC_RANGE).toBe("10.77.0.200-10.77.0.254");
  });

  test("the image carries keepalived, disabled like HAProxy, and the host has it to check configs", () => {
    const packages =
      /^image_packages=\(\n([\s\S]*?)\n\)$/m
        .exec(labHost)?.[1]
        .split("\n")
        .flatMap((line) => line.replace(/#.*/, "").trim().split(/\s+/)) ?? [];
    expect(packages).toEqual(expect.arrayContaining(["haproxy", "keepalived"]));
    expect(labHost).toContain('chroot "$rootfs" systemctl disable haproxy.service keepalived.service');
    expect(labHost).toMatch(/^for p in debootstrap haproxy keepalived /m);
  });
});

describe("the cluster lab's segment", () => {
  const clusterLab = fs.readFileSync(path.join(__dirname, "..", "..", "scripts", "cluster-lab.sh"), "utf8");
  const segment = /^seg_net=(\S+)$/m.exec(clusterLab)?.[1];

  test("cluster-lab.sh gives the host bridge and its DHCP server the addresses labNetwork.ts validates against", () => {
    expect(`${segment}.1/24`).toBe(`${CLUSTER_LAB_NETWORK.gateway}/${CLUSTER_LAB_NETWORK.prefixLength}`);
    expect(clusterLab).toContain('ensure_bridge "$seg_bridge" "$seg_net.1/24"');
    expect(clusterLab).toContain('--dhcp-range="$seg_net.2,$seg_net.199,12h"');
    expect(`${segment}.2-${segment}.199`).toBe(`${CLUSTER_LAB_NETWORK.dhcpFirst}-${CLUSTER_LAB_NETWORK.dhcpLast}`);
    expect(CLUSTER_LAB_STATIC_RANGE).toBe("10.79.0.200-10.79.0.254");
  });
});

describe("virtualIpConflict", () => {
  test.each(["10.77.0.200", "10.77.0.230", "10.77.0.254", "10.79.0.200", "10.79.0.254"])("%s can be a virtual IP", (address) => {
    expect(virtualIpConflict(address)).toBeUndefined();
  });

  test.each([
    ["10.77.0.0", "the subnet's network address"],
    ["10.77.0.255", "the subnet's broadcast address"],
    ["10.77.0.1", "the bridge's own address on the host"],
    ["10.77.0.2", "inside the DHCP range 10.77.0.2-10.77.0.199, so a container could be leased it"],
    ["10.77.0.199", "inside the DHCP range 10.77.0.2-10.77.0.199, so a container could be leased it"],
    ["10.76.255.255", "outside the lab subnet 10.77.0.0/24"],
    ["10.77.1.0", "outside the lab subnet 10.77.0.0/24"],
    ["10.78.0.200", "outside the lab subnet 10.77.0.0/24"],
    ["10.79.0.1", "the bridge's own address on the host"],
    ["10.79.0.150", "inside the DHCP range 10.79.0.2-10.79.0.199, so a container could be leased it"],
    ["10.79.0.255", "the subnet's broadcast address"],
  ])("%s cannot: %s", (address, reason) => {
    expect(virtualIpConflict(address)).toBe(reason);
  });

  test("compares addresses as unsigned numbers", () => {
    expect(ipv4ToNumber("255.255.255.255")).toBe(2 ** 32 - 1);
    expect(ipv4ToNumber("10.77.0.200")).toBeGreaterThan(ipv4ToNumber("10.77.0.199"));
  });
});
