import * as pulumi from "@pulumi/pulumi";
import { ServiceInstance, ServiceInstanceArgs } from "./serviceInstance";

/** One stream-server container: the HLS streamer with a hot in-process cache behind stream_pool. */
export class StreamServerInstance extends ServiceInstance {
  constructor(name: string, args: ServiceInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      "veza:infra:StreamServerInstance",
      { service: "stream-server", user: "veza-stream", description: "Veza HLS stream server" },
      name,
      args,
      opts,
    );
  }
}
