/**
 * What every domain folder builds on: mustache rendering of templates/, POSIX shell quoting, and the
 * digest that makes a step re-run when a file it ships changes.
 */
export { renderTemplate } from "./templates";
export { shellQuote } from "./shell";
export { fileDigest } from "./fileDigest";
