/**
 * The commands the documentation shows an operator, and what the lab tier does with each: the rule
 * that finds them, and the plan of every one. tests/unit/readmeCommands.test.ts holds the plan to
 * the files; tests/lab/readme-commands.test.ts runs what the plan says it runs.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** The repository's root, which every {@link Source}'s file is relative to. */
const ROOT = path.join(__dirname, "..");

/** How the lab tier runs a command: it must exit 0, and print what `output` matches. */
export interface Run {
  output?: RegExp;
  /** A command that follows a log until interrupted: stopped after this long, and passed if still running. */
  followMs?: number;
}

/** A command the lab tier does not run, and why. */
export interface Excluded {
  excluded: string;
}

/**
 * One place commands are shown: the ```bash blocks under one `## ` heading of one file, and the
 * plan of each command there, as {@link commandsIn} gives it (comments dropped, lines joined by
 * newlines). A command shown there but missing from `commands`, an entry the section no longer
 * shows, or a section that is gone fails tests/unit/readmeCommands.test.ts.
 */
export interface Source {
  /** Relative to the repository's root. */
  file: string;
  section: string;
  commands: Record<string, Run | Excluded>;
}

/** Every place commands are run from, in the order the lab tier runs them. */
export const PLAN: readonly Source[] = [
  {
    file: "README.md",
    section: "Two commands",
    commands: {
      "npm run lab": {
        excluded: "brings up the lab the lab tier runs against: the tier needs it done, and a second run is a no-change up",
      },
      "npm test": { excluded: "runs the lab tier, this test among it" },
    },
  },
  {
    file: "docs/configuration.md",
    section: "Setting a key",
    commands: {
      "pulumi config set -s lab veza-infra:healthCheckFall 3": {},
      "pulumi config rm -s lab veza-infra:healthCheckFall": {},
      "pulumi config set --path -s lab 'veza-infra:drainServers[0]' backend-api-1": {},
      "pulumi config set --path -s lab 'veza-infra:drainServers[1]' backend-api-2": {},
      "pulumi config get -s lab veza-infra:drainServers": { output: /^\["backend-api-1","backend-api-2"\]$/ },
      "pulumi config rm --path -s lab 'veza-infra:drainServers[1]'": {},
      "pulumi config rm -s lab veza-infra:drainServers": {},
    },
  },
  {
    file: "docs/operations.md",
    section: "Commands",
    commands: {
      "source scripts/env.sh": {},
      "npm run render -- --stack lab": { output: /backend api_pool/ },
      "npm run render -- --settings tests/fixtures/settings-fallback.json": { output: /server stream-server-1 10\.77\.0\.40:8082/ },
      "pulumi config set -s lab veza-infra:healthCheckFall 3 && pulumi preview -s lab --diff": { output: /haproxy-pair-config/ },
      "pulumi up -s lab": { output: /haproxy-pair-config/ },
      "pulumi config set --path -s lab 'veza-infra:drainServers[0]' backend-api-1 && pulumi up -s lab": { output: /haproxy-pair-config/ },
      "pulumi config rm -s lab veza-infra:drainServers && pulumi up -s lab": { output: /haproxy-pair-config/ },
      "pulumi config set -s lab veza-infra:backendApiCount 3 && pulumi up -s lab": { output: /backend-api-3/ },
      "pulumi destroy -s lab": {
        excluded:
          "deletes the lab every other lab test and helper works on; tests/lab/lab.test.ts destroys and re-creates it in a test of its own",
      },
      "npm run bench": { excluded: "about 20 minutes on its own bench stack, for timing figures: a run of its own, not a check" },
      "npm run build": { output: /^build: bin\// },
      "pulumi stack output -s lab haproxyContainers --json": { output: /"lab-haproxy",\s*"lab-haproxy-2"/ },
      [`for c in $(pulumi stack output -s lab haproxyContainers --json | jq -r '.[]'); do
  if incus exec "$c" -- ip -4 -o addr show dev eth0 | grep -F ' 10.77.0.200/' >/dev/null; then echo "$c holds it"; fi; done`]: {
        output: /^lab-haproxy(-2)? holds it$/,
      },
      "incus exec lab-haproxy -- ip -4 addr show eth0": { output: /inet 10\.77\.0\./ },
      "incus exec lab-haproxy -- journalctl -u keepalived -n 20 --no-pager": { output: /keepalived/i },
      "pulumi config set -s lab veza-infra:haproxyCount 1 && pulumi config rm -s lab veza-infra:virtualIp && pulumi up -s lab": {
        output: /haproxy-2/,
      },
      "pulumi config set -s lab veza-infra:haproxyCount 2 && pulumi config set -s lab veza-infra:virtualIp 10.77.0.200 && pulumi up -s lab":
        {
          output: /haproxy-2/,
        },
      'for c in lab-haproxy lab-haproxy-2; do incus exec "$c" -- sh -c \'echo "show servers state" | socat stdio /run/haproxy/admin.sock\'; done':
        {
          output: /api_pool .*backend-api-1/,
        },
      "incus exec lab-haproxy -- sh -c 'echo \"show stat\" | socat stdio /run/haproxy/admin.sock'": { output: /^# pxname,svname/ },
      "incus exec lab-haproxy -- journalctl -u haproxy -f": { followMs: 3_000 },
      "pulumi config set -s lab veza-infra:logEveryRequest true && pulumi up -s lab": { output: /haproxy-pair-config/ },
      "pulumi config rm -s lab veza-infra:logEveryRequest && pulumi up -s lab": { output: /haproxy-pair-config/ },
    },
  },
];

/** `line` without its comment: from a `#` that starts a word outside quotes to the end. */
export function stripComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = "";
      else if (c === "\\" && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "\\") i++;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** Whether bash can parse `text` as it stands (`bash -n`): false while a `for`, quote or `&&` is open. */
function complete(text: string): boolean {
  try {
    execFileSync("bash", ["-n", "-c", text], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * The commands of every ```bash block under the `## ` heading `section` of `markdown`, in order: a
 * line is a command, or the start of one that runs over the next lines until bash can parse it
 * (a `for` loop); comment lines and blank lines are not commands; comments are dropped. Throws
 * when the section is not there, so a renamed heading cannot drop its commands unnoticed.
 */
export function commandsIn(markdown: string, section: string): string[] {
  const commands: string[] = [];
  let found = false;
  let current = "";
  let inBlock = false;
  let pending: string[] = [];
  for (const line of markdown.split("\n")) {
    if (!inBlock && line.startsWith("## ")) {
      current = line.slice(3).trim();
      found ||= current === section;
    } else if (!inBlock && line.trim() === "```bash") inBlock = current === section;
    else if (inBlock && line.trim() === "```") {
      if (pending.length > 0) throw new Error(`a command in ${section} never ends: ${pending.join("\n")}`);
      inBlock = false;
    } else if (inBlock) {
      const code = stripComment(line);
      if (code.trim() === "" && pending.length === 0) continue;
      pending.push(code);
      if (complete(pending.join("\n"))) {
        commands.push(pending.join("\n").trim());
        pending = [];
      }
    }
  }
  if (!found) throw new Error(`no "## ${section}" section`);
  return commands;
}

/** The commands `source` shows as its file stands now. */
export function shownCommands(source: Source): string[] {
  try {
    return commandsIn(fs.readFileSync(path.join(ROOT, source.file), "utf8"), source.section);
  } catch (error) {
    throw new Error(`${source.file}: ${(error as Error).message}`);
  }
}
