/**
 * `npm run bench`: the project's HAProxy config against the seed's (bench/anchor.cfg.mustache) on the
 * same bench-* containers, side by side in one run. Prints a table, writes bench/results/<time>.json
 * and the failover, LB-node and soak pictures (SVG), and refreshes bench/LATEST.md,
 * bench/timeline-backend-dies.svg, bench/timeline-lb-node-dies.svg and bench/soak.svg.
 *
 *   flock /tmp/veza-cluster.lock npm run bench   everything (scenario 13 on the cluster lab, hence the
 *                                                 lock), then `pulumi destroy -s bench`
 *   npm run bench -- --keep             leave the bench stack up
 *   npm run bench -- --only failover,locality    (overhead, failover, reconfig, locality, lbnode, speed,
 *                                                 preview, soak, limits, rollout, hostdies; a partial run leaves
 *                                                 bench/LATEST.md as it was, but for the own sections of the
 *                                                 version rollout and of the host dying when they ran)
 *   flock /tmp/veza-cluster.lock npm run bench -- --only lbnode,hostdies   the host dying (on the
 *                                                 cluster lab, which it builds and tears down) beside scenario 9
 *   npm run bench -- --only soak --soak-minutes 2   a shorter soak (default 10 minutes)
 *   npm run bench -- --only preview [--preview-stack lab]   preview cost alone: no container is
 *                                                 touched, the stack (default bench) is only previewed
 *   npm run bench -- --report bench/results/<time>.json   LATEST.md again from a saved full run
 *
 * Only the `bench` stack and bench-* containers are touched (bench/env.ts); the preview scenario
 * only previews its stack, and deploys its own trivial fixture (bench/fixtures/trivial); the host
 * dying uses the cluster lab and its `cluster` stack alone (bench/scenarios/hostDies.ts).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULTS } from "../stack/settings";
import { incus } from "../tests/lab/harness";
import { ANCHOR_SETTINGS } from "./anchor";
import { BENCH_DIR, BENCH_STACK, REPO_DIR, RESULTS_DIR, ensureStack, loadToolchainEnv, pulumi, timed } from "./env";
import { BASE, CONFIGS, Lb } from "./lb";
import {
  HOST_DIES_MARKERS,
  ROLLOUT_MARKERS,
  Results,
  failoverSvg,
  hostDiesSection,
  latestMarkdown,
  lbNodeSvg,
  markdownTable,
  rolloutSection,
  tableRows,
  withSection,
} from "./report";
import { EDGE_LIMITS_KEYS, edgeLimits } from "./scenarios/edgeLimits";
import { FailureKind, failover } from "./scenarios/failover";
import { hostDies } from "./scenarios/hostDies";
import { LB_NODE_KEYS, lbNode } from "./scenarios/lbNode";
import { locality } from "./scenarios/locality";
import { overhead, overheadBisect } from "./scenarios/overhead";
import { previewCost } from "./scenarios/previewCost";
import { reconfiguration } from "./scenarios/reconfig";
import { ROLLOUT_KEYS, versionRollout } from "./scenarios/rollout";
import { SOAK_DEFAULT_MINUTES, soak } from "./scenarios/soak";
import { soakSvg } from "./soakSvg";
import { coldStart, scaleSpeed } from "./scenarios/toolSpeed";

const SCENARIOS = [
  "overhead",
  "failover",
  "reconfig",
  "locality",
  "lbnode",
  "speed",
  "preview",
  "soak",
  "limits",
  "rollout",
  "hostdies",
] as const;
type Scenario = (typeof SCENARIOS)[number];
/** The scenarios that touch no bench-* container: the preview cost only previews, the host dying has the cluster lab. */
const OFF_FLEET: readonly Scenario[] = ["preview", "hostdies"];
/** The stack config keys the scenarios change; all are removed (back to defaults) before and after. */
const CHANGED_KEYS = ["healthCheckFall", "backendApiCount", "streamServerCount", ...LB_NODE_KEYS, ...EDGE_LIMITS_KEYS, ...ROLLOUT_KEYS];
/** The project's check spacing while a failure is confirmed (components/haproxyConfig.ts FAST_INTERVAL_MS). */
const FAST_INTERVAL_MS = 100;

function parseArgs(argv: string[]): { only: Set<Scenario>; keep: boolean; previewStack: string; soakMinutes: number } {
  const at = argv.indexOf("--only");
  const names = at >= 0 ? (argv[at + 1] ?? "").split(",").filter(Boolean) : [...SCENARIOS];
  const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(", ")}; choose from ${SCENARIOS.join(", ")}`);
  const stackAt = argv.indexOf("--preview-stack");
  const previewStack = stackAt >= 0 ? argv[stackAt + 1] : BENCH_STACK;
  if (!previewStack || previewStack.startsWith("-")) throw new Error("--preview-stack needs a stack name");
  if (previewStack !== BENCH_STACK && names.some((n) => n !== "preview"))
    throw new Error("--preview-stack is only for a run of --only preview");
  const minutesAt = argv.indexOf("--soak-minutes");
  const soakMinutes = minutesAt >= 0 ? Number(argv[minutesAt + 1]) : SOAK_DEFAULT_MINUTES;
  if (!(soakMinutes > 0 && soakMinutes <= 24 * 60))
    throw new Error(`--soak-minutes needs a number of minutes (got ${argv[minutesAt + 1]})`);
  return { only: new Set(names as Scenario[]), keep: argv.includes("--keep"), previewStack, soakMinutes };
}

const log = (started: number, message: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
const git = (...args: string[]) => execFileSync("git", args, { cwd: REPO_DIR, encoding: "utf8" }).trim();

async function main(): Promise<void> {
  const reportAt = process.argv.indexOf("--report");
  if (reportAt >= 0) {
    process.stdout.write(`${writeLatest(JSON.parse(fs.readFileSync(process.argv[reportAt + 1], "utf8")) as Results)}\n`);
    return;
  }
  const { only, keep, previewStack, soakMinutes } = parseArgs(process.argv.slice(2));
  const fleet = [...only].some((name) => !OFF_FLEET.includes(name));
  const started = Date.now();
  loadToolchainEnv();
  if (fleet) {
    await ensureStack();
    for (const key of CHANGED_KEYS) await pulumi("config", "rm", `veza-infra:${key}`);
  }

  const lb = new Lb();
  const results: Results = {
    startedAt: new Date(started).toISOString(),
    host: {
      nproc: os.cpus().length,
      loadavgAtStart: os.loadavg(),
      node: process.version,
      kernel: os.release(),
      command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
      commit: git("rev-parse", "HEAD"),
      // What the project's config is built from, if it differs from the commit.
      uncommitted: git("status", "--porcelain", "--", "index.ts", "components", "templates", "Pulumi.yaml", "lab")
        .split("\n")
        .filter(Boolean),
    },
    settings: {
      project: { ...DEFAULTS, fastIntervalMs: FAST_INTERVAL_MS },
      anchor: { ...ANCHOR_SETTINGS },
    },
    failover: {},
    restores: lb.restores,
    anchorFiles: {},
    files: [],
    errors: [],
  };
  const phase = async (name: string, action: () => Promise<void>) => {
    log(started, `${name} ...`);
    const t = await timed(async () => {
      try {
        await action();
      } catch (error) {
        results.errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
        log(started, `${name} FAILED: ${error instanceof Error ? error.stack : String(error)}`);
        await lb.use("project", BASE).catch((e) => log(started, `could not put the project's config back: ${e}`));
      }
    });
    log(started, `${name} done in ${(t.ms / 1000).toFixed(1)} s`);
  };

  try {
    // First, on its own lab: the bench fleet is not up yet, so the two labs never load the host together.
    if (only.has("hostdies")) {
      await phase("13 host dies: the cluster stack's member under the virtual IP, then the seed's layout's one member", async () => {
        results.hostDies = await hostDies();
      });
    }
    if (!fleet) {
      if (only.has("preview")) {
        await phase(`8 preview cost (stack ${previewStack})`, async () => {
          results.preview = await previewCost(previewStack);
        });
      }
      return;
    }
    if (only.has("speed")) {
      await phase("6 tool speed: destroy, empty -> all UP, raw launches, preview", async () => {
        results.cold = await coldStart(lb);
      });
    } else {
      await phase("pulumi up -s bench", async () => {
        await pulumi("up", "--yes", "--skip-preview");
        await lb.refresh();
        await lb.waitServing();
      });
    }
    if (!lb.out) throw new Error("the bench stack is not up; see the errors above");
    results.host.haproxy = (await incus("exec", lb.haproxy, "--", "haproxy", "-v")).split("\n")[0];
    // The anchor logs to /dev/log from inside `chroot /var/lib/haproxy`: its lines reach a journal
    // only if a syslog daemon made a socket there (scenario 7's bisect, the logging cost).
    results.host.anchorChrootLogSocket = await incus(
      "exec",
      lb.haproxy,
      "--",
      "sh",
      "-c",
      "test -S /var/lib/haproxy/dev/log && echo present || echo absent",
    );

    // While the stack is as the program says (right after its up): a no-change preview.
    if (only.has("preview")) {
      await phase("8 preview cost", async () => {
        results.preview = await previewCost(BENCH_STACK);
      });
    }

    if (only.has("overhead")) {
      await phase("7 LB overhead", async () => {
        results.overhead = await overhead(lb);
      });
      await phase("7 LB overhead: bisect of the project's config", async () => {
        results.overheadBisect = await overheadBisect(lb);
      });
    }
    if (only.has("failover")) {
      for (const kind of ["dies", "hangs"] as FailureKind[]) {
        for (const config of CONFIGS) {
          await phase(`${kind === "dies" ? "1+3 backend dies" : "2 backend hangs"} (${config})`, async () => {
            await lb.use(config, BASE);
            (results.failover[kind] ??= {})[config] = await failover(lb, config, kind);
          });
        }
      }
      await lb.use("project", BASE);
    }
    if (only.has("limits")) {
      await phase("11 edge limits: on / off", async () => {
        results.limits = await edgeLimits(lb);
      });
    }
    if (only.has("reconfig")) {
      await phase("4 reconfiguration under load", async () => {
        results.reconfig = await reconfiguration(lb);
      });
    }
    if (only.has("locality")) {
      await phase("5 hash locality", async () => {
        results.locality = await locality(lb);
      });
    }
    if (only.has("lbnode")) {
      await phase("9 LB node dies: the seed's one node, then the pair", async () => {
        results.lbNode = await lbNode(lb);
      });
    }
    if (only.has("speed")) {
      await phase("6 tool speed: scale-out by 1 and by 6", async () => {
        results.scale = await scaleSpeed(lb);
      });
    }
    if (only.has("soak")) {
      await phase(`10 soak, ${soakMinutes} min`, async () => {
        results.soak = await soak(lb, soakMinutes);
      });
    }
    // Last: it ships new programs to backend-api, which the other scenarios assume is the stand-in.
    if (only.has("rollout")) {
      await phase("11 version rollout: project, all at once, the seed's runbook; 2 then 6 backends", async () => {
        results.rollout = await versionRollout(lb, (message) => log(started, message));
      });
    }
  } finally {
    if (fleet) {
      await lb.use("project", BASE).catch((e) => results.errors.push(`restoring the project's config: ${e}`));
      for (const key of CHANGED_KEYS) await pulumi("config", "rm", `veza-infra:${key}`).catch(() => undefined);
    }
    results.anchorFiles = Object.fromEntries(lb.anchorFiles);
    if (fleet && !keep) {
      await phase("pulumi destroy -s bench", async () => {
        results.finalDestroyMs = (await timed(() => pulumi("destroy", "--yes", "--skip-preview"))).ms;
      });
    }
    results.finishedAt = new Date().toISOString();
    results.elapsedS = (Date.now() - started) / 1000;
    results.host.loadavgAtEnd = os.loadavg();
    writeOutputs(results, only.size === SCENARIOS.length);
  }
}

/** bench/LATEST.md, which the README and docs/ link to, from the results of a run of every scenario; returns the table. */
function writeLatest(results: Results): string {
  const table = markdownTable(tableRows(results));
  const commit = `${String(results.host.commit).slice(0, 7)}${(results.host.uncommitted as string[]).length ? " + uncommitted changes" : ""}`;
  fs.writeFileSync(path.join(BENCH_DIR, "LATEST.md"), latestMarkdown(results, table, commit));
  return table;
}

function writeOutputs(results: Results, complete: boolean): void {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, "-");
  const json = path.join(RESULTS_DIR, `${stamp}.json`);
  for (const kind of ["dies", "hangs"] as FailureKind[]) {
    const svg = failoverSvg(kind, results.failover[kind] ?? {});
    if (!svg) continue;
    const file = path.join(RESULTS_DIR, `${stamp}-backend-${kind}.svg`);
    fs.writeFileSync(file, svg);
    results.files.push(path.relative(REPO_DIR, file));
    if (kind === "dies" && results.failover.dies?.project && results.failover.dies.anchor)
      fs.copyFileSync(file, path.join(BENCH_DIR, "timeline-backend-dies.svg"));
  }
  if (results.soak) {
    const file = path.join(RESULTS_DIR, `${stamp}-soak.svg`);
    fs.writeFileSync(file, soakSvg(results.soak));
    results.files.push(path.relative(REPO_DIR, file));
    if (complete) fs.copyFileSync(file, path.join(BENCH_DIR, "soak.svg"));
  }
  const lbNodeTimeline = lbNodeSvg(results.lbNode ?? {});
  if (lbNodeTimeline) {
    const file = path.join(RESULTS_DIR, `${stamp}-lb-node-dies.svg`);
    fs.writeFileSync(file, lbNodeTimeline);
    results.files.push(path.relative(REPO_DIR, file));
    if (results.lbNode?.project && results.lbNode.anchor) fs.copyFileSync(file, path.join(BENCH_DIR, "timeline-lb-node-dies.svg"));
  }
  results.files.unshift(path.relative(REPO_DIR, json));
  fs.writeFileSync(json, JSON.stringify(results, null, 2) + "\n");
  const table = complete ? writeLatest(results) : markdownTable(tableRows(results));
  process.stdout.write(`\n${table}\n\nresults: ${path.relative(REPO_DIR, json)}\n`);
  // The sections that stand apart from the table, so that a run of their scenario alone refreshes them.
  const sections = [
    results.rollout && { name: "the version rollout's", text: rolloutSection(results.rollout, results), markers: ROLLOUT_MARKERS },
    results.hostDies && {
      name: "the host dying's",
      text: hostDiesSection(results.hostDies, results.lbNode, results),
      markers: HOST_DIES_MARKERS,
    },
  ].filter((section) => !!section);
  for (const section of sections) process.stdout.write(`\n${section.text}\n`);
  if (!complete && sections.length > 0) {
    const latest = path.join(BENCH_DIR, "LATEST.md");
    fs.writeFileSync(
      latest,
      sections.reduce((text, section) => withSection(text, section.text, section.markers), fs.readFileSync(latest, "utf8")),
    );
    process.stdout.write(
      `a partial run (--only): of bench/LATEST.md, only ${sections.map((s) => s.name).join(" and ")} ${sections.length > 1 ? "sections were" : "section was"} refreshed\n`,
    );
  } else if (!complete) process.stdout.write("a partial run (--only): bench/LATEST.md is left as it was\n");
  if (results.errors.length > 0) process.stdout.write(`errors:\n${results.errors.map((e) => `  - ${e}`).join("\n")}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
