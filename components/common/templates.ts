import * as fs from "fs";
import * as path from "path";
import Mustache from "mustache";

/**
 * The project directory (the one with Pulumi.yaml): components/.. when run from the sources,
 * bin/components/../.. when run from the build (pulumi-main.js). Templates are always read from the
 * sources' templates/, never copied into bin/, so a template edit needs no rebuild.
 */
function projectDir(): string {
  for (let dir = path.resolve(__dirname, ".."); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${__dirname}`);
  }
}

const TEMPLATE_DIR = path.join(projectDir(), "templates");

/**
 * Renders a file of templates/ with mustache. HTML escaping is off: these are config files and
 * scripts, whose values are validated before they get here.
 */
export function renderTemplate(file: string, view: object): string {
  const template = fs.readFileSync(path.join(TEMPLATE_DIR, file), "utf8");
  return Mustache.render(template, view, {}, { escape: (value: string) => value });
}
