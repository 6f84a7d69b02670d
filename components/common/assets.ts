import * as fs from "fs";
import * as path from "path";

/**
 * The package's own directory: the nearest one above this file with a package.json. That is the
 * checkout when run from the sources (components/common/), from the program's build
 * (bin/components/common/) or from the library's (dist/components/common/), and
 * node_modules/veza-infra in a program that installed the package: never that program's working
 * directory, whose templates/ and lab/ are not ours.
 */
function packageDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

const PACKAGE_DIR = packageDir();

/** The absolute path of one of the package's own files (`files` in package.json), e.g. "templates". */
export function assetPath(relative: string): string {
  return path.join(PACKAGE_DIR, relative);
}

/**
 * One of the package's own files as a path relative to `cwd` (where Pulumi runs the program and
 * its commands), so a step's environment reads the same from every checkout: `relative` itself
 * when the file at that path under `cwd` is the package's own (the project's own program, also
 * when its directory is reached through a link or linked entry by entry, as the bench's
 * type-checked preview does), else the way from `cwd` to the package
 * (`node_modules/veza-infra/lab/standin.js` in a program that installed it).
 */
export function assetPathFrom(cwd: string, relative: string): string {
  const own = fs.realpathSync(assetPath(relative));
  const local = path.resolve(cwd, relative);
  return fs.existsSync(local) && fs.realpathSync(local) === own ? relative : path.relative(cwd, own);
}
