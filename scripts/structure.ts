/**
 * The project's shape, as docs/structure.md reports it and tests/unit/structure.test.ts holds it:
 * files per folder, the import graph between the program's own TypeScript files (its circles, and
 * any arrow from the library out to the application), and the longest functions.
 * `npx ts-node scripts/structure.ts [dir]` prints the report of a checkout (default: this one).
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

/** The library: what `npm pack` ships and other programs import. */
export const LIBRARY = "components";
/** The application around it, which the library must never import. */
export const APPLICATION = ["index.ts", "stack", "policy", "bench", "scripts", "tests", "lab", "examples"];

/** Every .ts file under `dirs` of `root`, relative and with forward slashes, node_modules left out. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    const full = path.join(root, rel);
    if (!fs.existsSync(full)) return;
    if (fs.statSync(full).isFile()) {
      if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) found.push(rel);
      return;
    }
    for (const entry of fs.readdirSync(full).sort()) if (entry !== "node_modules") walk(path.posix.join(rel, entry));
  };
  dirs.forEach(walk);
  return found;
}

/** The project files `file` imports (static imports and re-exports; `import type` too: a type import is still an arrow). */
export function importsOf(root: string, file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.ES2022, true);
  const targets: string[] = [];
  for (const statement of source.statements) {
    const specifier =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier
        ? (statement.moduleSpecifier as ts.StringLiteral).text
        : undefined;
    if (!specifier?.startsWith(".")) continue;
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
    const target = [`${base}.ts`, `${base}/index.ts`, base].find((candidate) => fs.existsSync(path.join(root, candidate)));
    if (target) targets.push(target);
  }
  return targets;
}

/** file -> the project files it imports. */
export function importGraph(root: string, files: readonly string[]): Map<string, string[]> {
  return new Map(files.map((file) => [file, importsOf(root, file)]));
}

/** Each circle of the graph once, as the files around it (Tarjan's strongly connected components of more than one file, or a file importing itself). */
export function circles(graph: Map<string, string[]>): string[][] {
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

/** Arrows from a library file to a file outside the library. */
export function arrowsOut(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([file, targets]) =>
    file.startsWith(`${LIBRARY}/`) ? targets.filter((t) => !t.startsWith(`${LIBRARY}/`)).map((t) => `${file} -> ${t}`) : [],
  );
}

/** Arrows between folders, counted: "components/haproxy -> components/incus" and so on. */
export function folderArrows(graph: Map<string, string[]>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const arrow = `${folderOf(file)} -> ${folderOf(target)}`;
      if (folderOf(file) !== folderOf(target)) counts.set(arrow, (counts.get(arrow) ?? 0) + 1);
    }
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

/** The longest functions (declarations, methods, constructors and arrow functions bound to a name), in lines. */
export function longestFunctions(root: string, files: readonly string[], top = 5): { name: string; lines: number }[] {
  const found: { name: string; lines: number }[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.ES2022, true);
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
      if (name) found.push({ name: `${file}: ${name}`, lines: lineOf(node.getEnd()) - lineOf(node.getStart(source)) + 1 });
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found.sort((a, b) => b.lines - a.lines || a.name.localeCompare(b.name)).slice(0, top);
}

/** The report of the checkout at `root`, as markdown. */
export function structureReport(root: string): string {
  const files = sourceFiles(root, [LIBRARY, "stack", "index.ts"]);
  const graph = importGraph(root, files);
  const perFolder = new Map<string, number>();
  files.forEach((file) => perFolder.set(folderOf(file), (perFolder.get(folderOf(file)) ?? 0) + 1));
  const lines = [
    "Files per folder:",
    ...[...perFolder].sort(([a], [b]) => a.localeCompare(b)).map(([folder, count]) => `- ${folder}: ${count}`),
    "",
    "Arrows between folders (imports):",
    ...[...folderArrows(graph)].map(([arrow, count]) => `- ${arrow} (${count})`),
    "",
    `Circles: ${
      circles(graph)
        .map((c) => c.join(" <-> "))
        .join("; ") || "none"
    }`,
    `Library -> outside: ${arrowsOut(graph).join("; ") || "none"}`,
    "",
    "Longest functions (lines):",
    ...longestFunctions(root, files).map(({ name, lines: n }) => `- ${name}: ${n}`),
  ];
  return `${lines.join("\n")}\n`;
}

if (require.main === module) process.stdout.write(structureReport(path.resolve(process.argv[2] ?? path.join(__dirname, ".."))));
