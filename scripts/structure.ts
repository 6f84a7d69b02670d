/**
 * The project's shape, as docs/structure.md reports it and tests/unit/structure.test.ts holds it:
 * files per folder, the import graph between the program's own TypeScript files (its circles, and
 * any arrow from the library out to the application), and the longest functions.
 * Everything but {@link readTree} is pure over the files' texts, so a test can hand it a made-up tree.
 * `npx ts-node scripts/structure.ts [dir]` prints the tables of a checkout (default: this one).
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

/** The library: what `npm pack` ships and other programs import. */
export const LIBRARY = "components";
/** The application around it, which the library must never import. */
export const APPLICATION = ["index.ts", "stack", "policy", "bench", "scripts", "tests", "lab", "examples"];
/** The program `pulumi up` runs, whose folders and functions the tables describe. */
export const PROGRAM = [LIBRARY, "stack", "index.ts"];

/** TypeScript files by path (relative to the checkout, forward slashes) to their text. */
export type Tree = ReadonlyMap<string, string>;
/** file -> the files it imports. */
export type Graph = ReadonlyMap<string, readonly string[]>;

/** Every .ts file under `dirs` of the checkout at `root` with its text; node_modules and .d.ts left out. */
export function readTree(root: string, dirs: readonly string[]): Tree {
  const tree = new Map<string, string>();
  const walk = (rel: string) => {
    const full = path.join(root, rel);
    if (!fs.existsSync(full)) return;
    if (fs.statSync(full).isFile()) {
      if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) tree.set(rel, fs.readFileSync(full, "utf8"));
      return;
    }
    for (const entry of fs.readdirSync(full).sort()) if (entry !== "node_modules") walk(path.posix.join(rel, entry));
  };
  dirs.forEach(walk);
  return tree;
}

const parse = (tree: Tree, file: string) => ts.createSourceFile(file, tree.get(file) ?? "", ts.ScriptTarget.ES2022, true);

/**
 * The project files `file` imports: static imports and re-exports, `import type` too (a type import
 * is still an arrow). A relative import naming no file of the tree stays as its normalized path, so an
 * arrow to a folder that was not read still shows.
 */
export function importsOf(tree: Tree, file: string): string[] {
  return parse(tree, file).statements.flatMap((statement) => {
    const specifier =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier
        ? (statement.moduleSpecifier as ts.StringLiteral).text
        : undefined;
    if (!specifier?.startsWith(".")) return [];
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
    return [[`${base}.ts`, `${base}/index.ts`].find((candidate) => tree.has(candidate)) ?? base];
  });
}

/** The import graph of `files` (default: the whole tree). */
export function importGraph(tree: Tree, files: readonly string[] = [...tree.keys()]): Graph {
  return new Map(files.map((file) => [file, importsOf(tree, file)]));
}

/** Each circle of the graph once, as the files around it (Tarjan's strongly connected components of more than one file, or a file importing itself). */
export function circles(graph: Graph): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    indexOf.set(file, index);
    low.set(file, index++);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, indexOf.get(next)!));
    }
    if (low.get(file) === indexOf.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component.sort());
    }
  };
  [...graph.keys()].sort().forEach((file) => indexOf.has(file) || visit(file));
  return found;
}

/** The folder a file belongs to for the report: its first two path segments under the library, else its first. */
export function folderOf(file: string): string {
  const parts = file.split("/");
  if (parts.length === 1) return ".";
  return parts[0] === LIBRARY && parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Arrows from a library file to a file outside the library, as "file -> target". */
export function arrowsOut(graph: Graph): string[] {
  return [...graph].flatMap(([file, targets]) =>
    file.startsWith(`${LIBRARY}/`) ? targets.filter((t) => !t.startsWith(`${LIBRARY}/`)).map((t) => `${file} -> ${t}`) : [],
  );
}

/** Arrows between folders, counted: "components/haproxy -> components/incus" and so on, sorted. */
export function folderArrows(graph: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const arrow = `${folderOf(file)} -> ${folderOf(target)}`;
      if (folderOf(file) !== folderOf(target)) counts.set(arrow, (counts.get(arrow) ?? 0) + 1);
    }
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

/** A function's place and length. */
export interface FunctionLength {
  file: string;
  name: string;
  lines: number;
}

/** The `top` longest functions (declarations, methods, constructors and arrow functions bound to a name), longest first. */
export function longestFunctions(tree: Tree, files: readonly string[] = [...tree.keys()], top = 5): FunctionLength[] {
  const found: FunctionLength[] = [];
  for (const file of files) {
    const source = parse(tree, file);
    const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
    const visit = (node: ts.Node) => {
      let name: string | undefined;
      if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) name = node.name.getText(source);
      else if (ts.isConstructorDeclaration(node)) name = `${(node.parent as ts.ClassDeclaration).name?.getText(source)} constructor`;
      else if (
        ts.isVariableDeclaration(node) &&
        node.initializer &&
        (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
      )
        name = node.name.getText(source);
      if (name) found.push({ file, name, lines: lineOf(node.getEnd()) - lineOf(node.getStart(source)) + 1 });
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found.sort((a, b) => b.lines - a.lines || `${a.file}${a.name}`.localeCompare(`${b.file}${b.name}`)).slice(0, top);
}

/** What the report says of one checkout. */
export interface Shape {
  /** Files per folder of the program, sorted by folder. */
  files: Map<string, number>;
  /** Arrows from the program's folders to any folder, counted. */
  folderArrows: Map<string, number>;
  /** Circles among every TypeScript file read (library and application). */
  circles: string[][];
  /** Arrows from the library to anything outside it. */
  arrowsOut: string[];
  /** The program's five longest functions. */
  longest: FunctionLength[];
}

/** The shape of a tree read over the library and the application. */
export function shapeOf(tree: Tree): Shape {
  const graph = importGraph(tree);
  const program = [...tree.keys()].filter((file) => PROGRAM.some((top) => file === top || file.startsWith(`${top}/`)));
  const files = new Map<string, number>();
  program.forEach((file) => files.set(folderOf(file), (files.get(folderOf(file)) ?? 0) + 1));
  return {
    files: new Map([...files].sort(([a], [b]) => a.localeCompare(b))),
    folderArrows: folderArrows(new Map(program.map((file) => [file, graph.get(file)!]))),
    circles: circles(graph),
    arrowsOut: arrowsOut(graph),
    longest: longestFunctions(tree, program),
  };
}

/** Markdown sections comparing the shapes of the `columns`, one column (or list) per checkout. */
export function shapeTables(columns: readonly { label: string; shape: Shape }[]): string[] {
  const table = (title: string, pick: (shape: Shape) => Map<string, number>) => {
    const rows = [...new Set(columns.flatMap(({ shape }) => [...pick(shape).keys()]))].sort();
    return [
      `| ${title} | ${columns.map(({ label }) => label).join(" | ")} |`,
      `| --- |${" ---: |".repeat(columns.length)}`,
      ...rows.map((row) => `| ${row} | ${columns.map(({ shape }) => pick(shape).get(row) ?? "–").join(" | ")} |`),
    ];
  };
  const lists = (items: (shape: Shape) => string[]) =>
    columns.flatMap(({ label, shape }) => {
      const listed = items(shape);
      return listed.length ? [`${label}:`, ...listed.map((item) => `- ${item}`), ""] : [`${label}: none.`, ""];
    });
  return [
    "## Files per folder",
    "",
    ...table("folder", (shape) => shape.files),
    "",
    "## Imports between folders",
    "",
    "File imports from the program's folders, counted per pair of folders (`.` is the top-level `index.ts`).",
    "",
    ...table("from -> to", (shape) => shape.folderArrows),
    "",
    "## Circles (file level)",
    "",
    ...lists((shape) => shape.circles.map((circle) => circle.join(" <-> "))),
    "## Arrows from the library to the application",
    "",
    ...lists((shape) => shape.arrowsOut),
    "## Longest functions",
    "",
    ...lists((shape) => shape.longest.map(({ file, name, lines }) => `${lines} lines: \`${name}\` (${file})`)),
  ];
}

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, ".."));
  process.stdout.write(`${shapeTables([{ label: root, shape: shapeOf(readTree(root, [LIBRARY, ...APPLICATION])) }]).join("\n")}\n`);
}
