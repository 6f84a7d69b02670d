import * as crypto from "crypto";
import * as fs from "fs";

/**
 * sha256 of a file on the Pulumi host. A step's environment carries it beside the file's path, so
 * a changed file (a PEM, a service binary) changes the step and re-runs it.
 */
export function fileDigest(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
