import * as pulumi from "@pulumi/pulumi";
import { ServiceInstance, ServiceInstanceArgs } from "./serviceInstance";

/** One backend-api container: the stateless Go API (HTTP and WebSocket) behind api_pool. */
export class BackendApiInstance extends ServiceInstance {
  constructor(name: string, args: ServiceInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("veza:infra:BackendApiInstance", { service: "backend-api", user: "veza-api", description: "Veza backend API" }, name, args, opts);
  }
}
