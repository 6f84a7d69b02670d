import * as fs from "fs";
import * as path from "path";
import Mustache from "mustache";

const TEMPLATE_DIR = path.resolve(__dirname, "..", "templates");

/**
 * Renders a file of templates/ with mustache. HTML escaping is off: these are config files and
 * scripts, whose values are validated before they get here.
 */
export function renderTemplate(file: string, view: object): string {
  const template = fs.readFileSync(path.join(TEMPLATE_DIR, file), "utf8");
  return Mustache.render(template, view, {}, { escape: (value: string) => value });
}
