/**
 * Writes docs/structure.md: the shape of a checkout from before the library's folders beside the
 * shape of this one, and the duplicated blocks each leaves in the library and the stack layer.
 * `npx ts-node scripts/structureDoc.ts BEFORE_DIR [AFTER_DIR]`; BEFORE_DIR is a checkout of
 * {@link BEFORE_COMMIT} (REGENERATE below makes one).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { APPLICATION, LIBRARY, Shape, readTree, shapeOf, shapeTables } from "./structure";

/** The last commit with the flat components/ folder. */
export const BEFORE_COMMIT = "c66f155";
/** The folders `duplicates` reads: the library and the stack's config layer. */
const DUPLICATES_OVER = [LIBRARY, "stack"];
const DUPLICATES_ROWS = 20;
const REGENERATE = [
  `git worktree add --detach /tmp/structure-before ${BEFORE_COMMIT}`,
  "npx ts-node scripts/structureDoc.ts /tmp/structure-before",
  "git worktree remove /tmp/structure-before",
].join(" && ");

/** One checkout as the document shows it. */
export interface Side {
  /** Its commit, with "+ uncommitted changes" when the files read differ from it. */
  commit: string;
  shape: Shape;
  /** What `duplicates` printed for each folder of DUPLICATES_OVER the checkout has, by its command. */
  duplicates: Map<string, string>;
}

/** The document, from the two sides. */
export function structureDoc(before: Side, after: Side): string {
  const duplicates = (label: string, side: Side) => [
    `${label}:`,
    "",
    "```",
    ...[...side.duplicates].flatMap(([command, output]) => [`$ ${command}`, output.trimEnd()]),
    "```",
    "",
  ];
  return [
    "# Structure, before and after the library's folders",
    "",
    "<!-- Generated: do not edit by hand. -->",
    "",
    `Before: commit ${before.commit}, components/ one flat folder. After: commit ${after.commit}.`,
    `Regenerate with \`${REGENERATE}\`.`,
    "",
    `Read: the TypeScript files under ${[LIBRARY, ...APPLICATION].map((top) => `\`${top}\``).join(", ")}, and their static`,
    "imports and re-exports (`import type` too). Circles and arrows out of the library are over all of them; files,",
    "folder arrows and functions over the program (`components/`, `stack/`, `index.ts`).",
    "",
    ...shapeTables([
      { label: "before", shape: before.shape },
      { label: "after", shape: after.shape },
    ]),
    "## Duplicated blocks left",
    "",
    "`duplicates` lists the pairs of places sharing six or more lines (the same, or of the same shape);",
    "a folder a checkout does not have is not read.",
    "",
    ...duplicates("Before", before),
    ...duplicates("After", after),
  ]
    .join("\n")
    .replace(/\n+$/, "\n");
}

/** Reads one checkout: its commit, its shape, and what `duplicates` finds in it. */
function readSide(root: string): Side {
  const git = (...args: string[]) => execFileSync("git", ["-C", root, ...args], { encoding: "utf8" }).trim();
  const tops = [LIBRARY, ...APPLICATION].filter((top) => fs.existsSync(path.join(root, top)));
  const changed = git("status", "--porcelain", "--", ...tops) !== "";
  const duplicates = new Map(
    DUPLICATES_OVER.filter((dir) => fs.existsSync(path.join(root, dir))).map((dir) => {
      const args = ["--repo", dir, "--most", String(DUPLICATES_ROWS)];
      return [`duplicates ${args.join(" ")}`, execFileSync("duplicates", args, { cwd: root, encoding: "utf8" })];
    }),
  );
  return {
    commit: `${git("rev-parse", "--short=7", "HEAD")}${changed ? " + uncommitted changes" : ""}`,
    shape: shapeOf(readTree(root, tops)),
    duplicates,
  };
}

if (require.main === module) {
  const [beforeDir, afterDir = path.join(__dirname, "..")] = process.argv.slice(2);
  if (!beforeDir) throw new Error(`usage: npx ts-node scripts/structureDoc.ts BEFORE_DIR [AFTER_DIR]; all in one: ${REGENERATE}`);
  fs.writeFileSync(path.join(__dirname, "..", "docs", "structure.md"), structureDoc(readSide(beforeDir), readSide(path.resolve(afterDir))));
}
