import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { APPLICATION, LIBRARY, arrowsOut, circles, folderOf, importGraph, readTree, shapeOf } from "../../scripts/structure";

describe("the checker, on a made-up tree", () => {
  // Three library folders importing each other in a circle (one arrow a type import), and the
  // first of them importing the stack and a policy folder that is not read.
  const files: Record<string, string> = {
    "components/index.ts": 'export * from "./a";\n',
    "components/a/index.ts": 'export { x } from "./x";\n',
    "components/a/x.ts": [
      'import { y } from "../b/y";',
      'import { rule } from "../../policy/rules";',
      'import { s } from "../../stack/s";',
      "export const x = () => y() + rule + s;",
    ].join("\n"),
    "components/b/y.ts": 'import { z } from "../c/z";\nexport function y() {\n  return z;\n}\n',
    "components/c/z.ts": 'import type { x } from "../a/x";\nexport const z: ReturnType<typeof x> = 1;\n',
    "stack/s.ts": "export const s = 1;\n",
  };
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "veza-structure-"));
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    }
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test("reports its circle, its arrows out (a folder not read too), its folders and its longest functions", () => {
    expect(shapeOf(readTree(root, [LIBRARY, ...APPLICATION]))).toEqual({
      files: new Map([
        ["components", 1],
        ["components/a", 2],
        ["components/b", 1],
        ["components/c", 1],
        ["stack", 1],
      ]),
      folderArrows: new Map([
        ["components -> components/a", 1],
        ["components/a -> components/b", 1],
        ["components/a -> policy", 1],
        ["components/a -> stack", 1],
        ["components/b -> components/c", 1],
        ["components/c -> components/a", 1],
      ]),
      circles: [["components/a/x.ts", "components/b/y.ts", "components/c/z.ts"]],
      arrowsOut: ["components/a/x.ts -> policy/rules", "components/a/x.ts -> stack/s.ts"],
      longest: [
        { file: "components/b/y.ts", name: "y", lines: 3 },
        { file: "components/a/x.ts", name: "x", lines: 1 },
      ],
    });
  });

  test("finds a file that imports itself, and no circle where the arrows run one way", () => {
    const graph = new Map([
      ["a.ts", ["a.ts", "b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", []],
    ]);
    expect(circles(graph)).toEqual([["a.ts"]]);
  });
});

describe("this checkout", () => {
  const tree = readTree(path.join(__dirname, "..", ".."), [LIBRARY, ...APPLICATION]);
  const graph = importGraph(tree);
  const libraryFolders = [...new Set([...tree.keys()].filter((file) => file.startsWith(`${LIBRARY}/`)).map(folderOf))].filter(
    (folder) => folder !== LIBRARY,
  );

  test("no import circle among the program's own TypeScript files", () => {
    expect(circles(graph).map((circle) => circle.join(" <-> "))).toEqual([]);
  });

  test(`nothing under ${LIBRARY}/ imports the application (${APPLICATION.join(", ")})`, () => {
    expect(arrowsOut(graph)).toEqual([]);
  });

  test(`every folder of ${LIBRARY}/ has an index.ts, and ${LIBRARY}/index.ts re-exports each`, () => {
    expect(libraryFolders.length).toBeGreaterThan(0);
    expect(libraryFolders.filter((folder) => !tree.has(`${folder}/index.ts`))).toEqual([]);
    expect(graph.get(`${LIBRARY}/index.ts`)).toEqual(expect.arrayContaining(libraryFolders.map((folder) => `${folder}/index.ts`)));
  });
});
