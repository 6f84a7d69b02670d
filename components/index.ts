/**
 * The library's public API, for other Pulumi programs:
 * `import { HaproxyPair, BackendApiInstance } from "veza-infra"`.
 */
export * from "./common";
export * from "./incus";
export * from "./haproxy";
export * from "./services";
