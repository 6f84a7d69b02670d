/**
 * What every domain folder builds on: mustache rendering of templates/, POSIX shell quoting, and the
 * digest that makes a step re-run when a file it ships changes.
 */
export { LOCAL_FILES, argumentPath, flag, integer, list, oneOf, problemsOf, text } from "./rules";
export type { FileAccess, Namer, Rule, RuleContext, Rules } from "./rules";
export { INCUS_NAME_RULE, isHost, isIPv4, isIPv4Cidr, isIncusName, parseHostPort } from "./checks";
export { renderTemplate } from "./templates";
export { shellQuote } from "./shell";
export { fileDigest } from "./fileDigest";
