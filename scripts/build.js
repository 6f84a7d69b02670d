#!/usr/bin/env node
/**
 * `npm run build`: compiles index.ts and what it imports (tsconfig.build.json) to bin/, type-checked
 * and incremental, then writes bin/build-stamp.json: the size and mtime of every project file the
 * compile read (and of package-lock.json), each taken just before it was read. The launcher Pulumi
 * runs (pulumi-main.js) runs bin/index.js only while all of them still match, so a stale build is
 * never what Pulumi runs. No stamp is written when the compile reports an error. When the stamp
 * still matches, nothing is compiled (a few stats: ~0.1 s with node's start, instead of the
 * compiler parsing @pulumi/pulumi's types again, several seconds).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS, run by node as is, never compiled */
"use strict";
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const REPO = path.resolve(__dirname, "..");
const CONFIG = path.join(REPO, "tsconfig.build.json");
const STAMP = path.join(REPO, "bin", "build-stamp.json");

/** @param {string} file @returns {{ file: string, size: number, mtimeMs: number } | undefined} */
function fingerprint(file) {
  const relative = path.relative(REPO, file);
  if (relative.startsWith("..") || relative.split(path.sep).includes("node_modules")) return undefined;
  const stat = fs.statSync(file);
  return { file: relative.split(path.sep).join("/"), size: stat.size, mtimeMs: stat.mtimeMs };
}

/** @returns {boolean} whether bin/build-stamp.json exists and every file in it is as it was */
function current() {
  try {
    const stamp = JSON.parse(fs.readFileSync(STAMP, "utf8"));
    return stamp.inputs.every((/** @type {{ file: string, size: number, mtimeMs: number }} */ input) => {
      const now = fingerprint(path.join(REPO, input.file));
      return now !== undefined && now.size === input.size && now.mtimeMs === input.mtimeMs;
    });
  } catch {
    return false;
  }
}

function main() {
  const started = performance.now();
  if (!process.argv.includes("--force") && current()) {
    process.stdout.write("build: bin/ is current\n");
    return;
  }
  fs.rmSync(STAMP, { force: true });
  /** @type {Map<string, { file: string, size: number, mtimeMs: number }>} */
  const inputs = new Map();
  const note = (/** @type {string} */ file) => {
    const f = fs.existsSync(file) ? fingerprint(path.resolve(file)) : undefined;
    if (f && !inputs.has(f.file)) inputs.set(f.file, f);
  };
  note(CONFIG);
  note(path.join(REPO, "tsconfig.json"));
  note(path.join(REPO, "package-lock.json"));
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (/** @type {ts.Diagnostic} */ d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(CONFIG, undefined, host);
  if (!parsed) throw new Error(`cannot read ${CONFIG}`);
  const compilerHost = ts.createIncrementalCompilerHost(parsed.options);
  const getSourceFile = compilerHost.getSourceFile;
  compilerHost.getSourceFile = (fileName, ...rest) => {
    note(fileName);
    return getSourceFile.call(compilerHost, fileName, ...rest);
  };
  const builder = ts.createIncrementalProgram({
    rootNames: parsed.fileNames,
    options: parsed.options,
    configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(parsed),
    projectReferences: parsed.projectReferences,
    host: compilerHost,
  });
  const diagnostics = [
    ...builder.getConfigFileParsingDiagnostics(),
    ...builder.getOptionsDiagnostics(),
    ...builder.getGlobalDiagnostics(),
    ...builder.getSyntacticDiagnostics(),
    ...builder.getSemanticDiagnostics(),
    ...builder.emit().diagnostics,
  ];
  if (diagnostics.length > 0) {
    const format = { getCanonicalFileName: (/** @type {string} */ f) => f, getCurrentDirectory: () => REPO, getNewLine: () => "\n" };
    process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, format));
    process.stderr.write(`build failed: ${diagnostics.length} error(s); bin/ is not marked current, so Pulumi runs the sources (slower)\n`);
    process.exitCode = 1;
    return;
  }
  const entry = path.join(REPO, "bin", "index.js");
  if (!fs.existsSync(entry)) throw new Error(`the compile wrote no ${path.relative(REPO, entry)}`);
  const stamp = { entry: "bin/index.js", inputs: [...inputs.values()].sort((a, b) => a.file.localeCompare(b.file)) };
  fs.writeFileSync(`${STAMP}.tmp`, JSON.stringify(stamp, null, 1) + "\n");
  fs.renameSync(`${STAMP}.tmp`, STAMP);
  process.stdout.write(`build: bin/index.js from ${stamp.inputs.length} files in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
}

main();
