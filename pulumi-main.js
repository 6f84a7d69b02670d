/**
 * What Pulumi runs (Pulumi.yaml `main:`, runtime option `typescript: false`): the program compiled
 * by `npm run build` (bin/index.js) when bin/build-stamp.json says no file that compile read has
 * changed since (a stat of each, well under a millisecond), and otherwise index.ts itself through
 * ts-node in transpile-only mode, slower, with one line saying why. A stale build never runs.
 * Every export of the program is re-exported: those are the stack outputs.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS, run by node as is, never compiled */
"use strict";
const fs = require("fs");
const path = require("path");

/** @returns {string | undefined} why bin/ is not current, or undefined when it is */
function staleness() {
  /** @type {{ entry: string, inputs: { file: string, size: number, mtimeMs: number }[] }} */
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(__dirname, "bin", "build-stamp.json"), "utf8"));
  } catch {
    return "no current build in bin/";
  }
  for (const input of stamp.inputs) {
    let stat;
    try {
      stat = fs.statSync(path.join(__dirname, input.file));
    } catch {
      return `${input.file} is gone since the build`;
    }
    if (stat.mtimeMs !== input.mtimeMs || stat.size !== input.size) return `${input.file} changed since the build`;
  }
  return undefined;
}

const stale = staleness();
if (stale === undefined) {
  module.exports = require(path.join(__dirname, "bin", "index.js"));
} else {
  console.log(`veza-infra: ${stale}; running the TypeScript sources without type-checking, and slower (npm run build makes it fast again)`);
  require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "tsconfig.json") });
  module.exports = require(path.join(__dirname, "index.ts"));
}
