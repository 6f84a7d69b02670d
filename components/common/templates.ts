import * as fs from "fs";
import * as path from "path";
import Mustache from "mustache";
import { assetPath } from "./assets";

/**
 * The package's templates/, beside its compiled code in the package; never copied into bin/ or
 * dist/, so a template edit needs no rebuild.
 */
const TEMPLATE_DIR = assetPath("templates");

/**
 * Renders a file of templates/ with mustache. HTML escaping is off: these are config files and
 * scripts, whose values are validated before they get here.
 */
export function renderTemplate(file: string, view: object): string {
  const template = fs.readFileSync(path.join(TEMPLATE_DIR, file), "utf8");
  return Mustache.render(template, view, {}, { escape: (value: string) => value });
}
