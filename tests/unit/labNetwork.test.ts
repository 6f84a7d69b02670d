import * as fs from "fs";
import * as path from "path";
import { load } from "js-yaml";
import { CLUSTER_LAB_NETWORK, LAB_NETWORK } from "../../components/incus/labNetwork";
import { completeVrrp } from "../../components/haproxy/haproxyPair";

const ROOT = path.join(__dirname, "..", "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const labHost = read("scripts/lab-host.sh");
/** The value of a plain `name=value` assignment of lab-host.sh. */
const assigned = (name: string) => new RegExp(`^${name}=(\\S+)$`, "m").exec(labHost)?.[1];
/** A segment's subnet as its bridge is given it: the host's address with the prefix length. */
const bridgeAddress = (lab: typeof LAB_NETWORK) => `${lab.gateway}/${lab.subnet.split("/")[1]}`;
/** The `vrrp*` keys a stack file sets, by their argument's name. */
const segmentOfStack = (file: string) => {
  const config = (load(read(file)) as { config: Record<string, unknown> }).config;
  return {
    subnet: config["veza-infra:vrrpSubnet"],
    leasedRange: config["veza-infra:vrrpLeasedRange"],
    gateway: config["veza-infra:vrrpGateway"],
  };
};

describe("the lab bridge", () => {
  test("lab-host.sh creates it with the addresses the pair's segment defaults to", () => {
    expect(assigned("subnet")).toBe(bridgeAddress(LAB_NETWORK));
    expect(assigned("dhcp_ranges")).toBe(LAB_NETWORK.leasedRange);
    expect(labHost).toContain("[ipv4.dhcp.ranges]=$dhcp_ranges");
    const { subnet, leasedRange, gateway } = completeVrrp({ virtualIp: "" });
    expect({ subnet, leasedRange, gateway }).toEqual(LAB_NETWORK);
  });

  test("the lab stack leaves the segment to those defaults", () => {
    expect(segmentOfStack("Pulumi.lab.yaml")).toEqual({ subnet: undefined, leasedRange: undefined, gateway: undefined });
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
  const clusterLab = read("scripts/cluster-lab.sh");
  const segment = /^seg_net=(\S+)$/m.exec(clusterLab)?.[1];

  test("cluster-lab.sh gives the host bridge and its DHCP server the addresses of CLUSTER_LAB_NETWORK", () => {
    expect(`${segment}.1/24`).toBe(bridgeAddress(CLUSTER_LAB_NETWORK));
    expect(clusterLab).toContain('ensure_bridge "$seg_bridge" "$seg_net.1/24"');
    expect(clusterLab).toContain('--dhcp-range="$seg_net.2,$seg_net.199,12h"');
    expect(`${segment}.2-${segment}.199`).toBe(CLUSTER_LAB_NETWORK.leasedRange);
    expect(`${segment}.0/24`).toBe(CLUSTER_LAB_NETWORK.subnet);
  });

  test("the cluster stack describes that segment to the pair", () => {
    expect(segmentOfStack("Pulumi.cluster.yaml")).toEqual(CLUSTER_LAB_NETWORK);
  });
});
