/**
 * Scenario 13, a host dies: beside scenario 9 (one HAProxy container force-stopped), a whole Incus
 * member of the cluster lab loses power under the open-loop load, each request on a fresh connection
 * (lbNode.ts says why). `scripts/cluster-lab.sh kill-member` takes the member's links down, then
 * SIGKILLs its daemon and every container on it (docs/cluster-lab.md).
 *
 * - project: the `cluster` stack as committed (Pulumi.cluster.yaml): the HAProxy pair and both fleets
 *   spread over m1 m2 m3, clients on the virtual IP. The member of the node holding the address is
 *   killed; the node on another member takes the address over. The member is then revived, so the
 *   stack can be destroyed.
 * - anchor: the seed's layout, everything on one member (`incusTarget` ANCHOR_MEMBER) behind its one
 *   HAProxy node (`haproxyCount` 1, no virtual IP: clients reach the node's own address). Killing
 *   that member is a total outage: the bench watches DARK_BOUND_MS for any answer, then revives the
 *   member (what the seed needs: the host back) and measures until the first answer.
 *
 * t = 0 is when `kill-member` returned, the member dead for sure (links down, every process gone), as
 * scenario 9's is when `incus stop --force` returned: on this busy host the command takes a second or
 * two, and requests sent meanwhile may still reach the member before its links drop. Its duration is
 * kept, for "kill started -> first answer", the drill's figure (tests/lab/cluster-edge.test.ts). The cluster lab is built
 * here and torn down at the end, the `cluster` stack's state removed and its file put back as it
 * was; whoever runs this holds `flock /tmp/veza-cluster.lock`, as every user of the cluster lab does.
 */
import * as fs from "fs";
import * as path from "path";
import {
  CLUSTER_STACK,
  ClusterOutputs,
  bareName,
  clusterLab,
  clusterPulumi,
  upCluster,
  vipHolder,
  waitRevived,
} from "../../tests/lab/cluster";
import { REPO, answers, waitFor } from "../../tests/lab/harness";
import { sleep } from "../env";
import { ConfigName } from "../lb";
import { LoadSample, openLoad } from "../load";
import { LOAD_RATE, SETTLE_MS } from "../measure";
import { LbNodeRun, lbNodeFigures } from "./lbNode";

/** The anchor's one member: not m1, the cluster database's leader, whose death stalls the Incus API for tens of seconds. */
export const ANCHOR_MEMBER = "m2";
/** How long the anchor's dead member is watched for any answer before the bench revives it: a stand-in for someone noticing. */
export const DARK_BOUND_MS = 20_000;
/** Load goes on this long after the first answer: a revived member restarts five containers, which takes a while to settle. */
export const AFTER_ANSWER_MS = 10_000;
/** Longest wait for a first answer (after the takeover, or after the revival): a bound, not an expectation. */
const ANSWER_BOUND_MS = 120_000;

/** One member killed under load, from the load's own samples. */
export interface HostDiesRun extends Pick<
  LbNodeRun,
  "firstAnswerMs" | "failedInFlight" | "failedWhileDown" | "failedAfterAnswer" | "load" | "buckets" | "window"
> {
  config: ConfigName;
  /** The member killed, and the stack's containers that were on it. */
  member: string;
  containers: string[];
  /** The HAProxy node clients reached: the virtual IP's holder, or the only node. */
  victim: string;
  /** How long `kill-member` itself took (t = 0 is when it returned). */
  killCommandMs: number;
  /** When the last failed request was sent (null: none failed after t = 0), to see when the edge settled. */
  lastFailedSentMs: number | null;
  /** Anchor: when `revive-member` was issued. */
  reviveAtMs?: number;
}

/** The figures of one kill from its samples (`killedAt` is t = 0): scenario 9's, and when the last failed request was sent. */
export function hostDiesFigures(samples: LoadSample[], killedAt: number, windowStart: number, windowEnd: number) {
  const lastFailed = Math.max(...samples.filter((s) => !s.ok && s.sentAt >= killedAt).map((s) => s.sentAt));
  return {
    ...lbNodeFigures(samples, killedAt, windowStart, windowEnd),
    lastFailedSentMs: Number.isFinite(lastFailed) ? lastFailed - killedAt : null,
  };
}

/** The stack's containers on `member`. */
export function containersOn(stack: Pick<ClusterOutputs, "containerMembers">, member: string): string[] {
  return Object.entries(stack.containerMembers)
    .filter(([, on]) => on === member)
    .map(([container]) => container)
    .sort();
}

/**
 * Kills `member` under load through `url`; `meanwhile` runs once the kill returned and resolves with
 * when it revived the member (the anchor), then the load goes on until an answer and AFTER_ANSWER_MS more.
 */
async function killUnderLoad(url: string, member: string, meanwhile: () => Promise<number | undefined>) {
  const load = openLoad(url, LOAD_RATE, { freshConnections: true });
  const windowStart = Date.now();
  let killedAt = 0;
  let killCommandMs = 0;
  let revivedAt: number | undefined;
  let samples: LoadSample[] = [];
  let windowEnd = windowStart;
  try {
    await sleep(SETTLE_MS);
    const commandAt = Date.now();
    await clusterLab("kill-member", member);
    killedAt = Date.now();
    killCommandMs = killedAt - commandAt;
    revivedAt = await meanwhile();
    await waitFor("an answer from the edge", () => answers(url), ANSWER_BOUND_MS, 20).catch(() => undefined);
    await sleep(AFTER_ANSWER_MS);
  } finally {
    windowEnd = Date.now();
    samples = await load.stop();
  }
  return {
    killCommandMs,
    ...(revivedAt === undefined ? {} : { reviveAtMs: revivedAt - killedAt }),
    ...hostDiesFigures(samples, killedAt, windowStart, windowEnd),
  };
}

const itemsUrl = (stack: ClusterOutputs) => `${stack.lbUrl.replace(/\/$/, "")}/api/v1/items`;

/** The project: the cluster stack as committed, the member under the virtual IP killed, then revived. */
async function projectRun(): Promise<HostDiesRun> {
  const stack = await upCluster();
  const victim = await vipHolder(stack);
  if (!victim) throw new Error(`no HAProxy node of the cluster stack holds ${stack.virtualIp}`);
  const member = stack.containerMembers[victim];
  const run = await killUnderLoad(itemsUrl(stack), member, () => Promise.resolve(undefined));
  await clusterLab("revive-member", member);
  await waitRevived(stack, member);
  return { config: "project", member, containers: containersOn(stack, member), victim, ...run };
}

/** The anchor: every container on ANCHOR_MEMBER behind one node; the member killed, watched DARK_BOUND_MS, revived. */
async function anchorRun(): Promise<HostDiesRun> {
  // From nothing: a change of member is delete-then-create of every container anyway.
  await clusterPulumi("destroy", "--yes", "--skip-preview");
  await clusterPulumi("config", "set", "veza-infra:incusTarget", ANCHOR_MEMBER);
  await clusterPulumi("config", "set", "veza-infra:haproxyCount", "1");
  await clusterPulumi("config", "rm", "veza-infra:virtualIp");
  const stack = await upCluster();
  const url = itemsUrl(stack);
  const run = await killUnderLoad(url, ANCHOR_MEMBER, async () => {
    await waitFor("an answer from the dead member's edge", () => answers(url), DARK_BOUND_MS, 20).catch(() => undefined);
    const revivedAt = Date.now();
    await clusterLab("revive-member", ANCHOR_MEMBER);
    return revivedAt;
  });
  await waitRevived(stack, ANCHOR_MEMBER);
  return {
    config: "anchor",
    member: ANCHOR_MEMBER,
    containers: containersOn(stack, ANCHOR_MEMBER),
    victim: bareName(stack.haproxyContainers[0]),
    ...run,
  };
}

/** Both runs on one cluster lab, project first (the stack as committed); the lab, the stack's state and config as they were after. */
export async function hostDies(): Promise<Partial<Record<ConfigName, HostDiesRun>>> {
  const stackFile = path.join(REPO, `Pulumi.${CLUSTER_STACK}.yaml`);
  const committed = fs.readFileSync(stackFile, "utf8");
  const runs: Partial<Record<ConfigName, HostDiesRun>> = {};
  try {
    await clusterLab("up");
    await clusterPulumi("stack", "init", "--no-select").catch((error: Error) => {
      if (!/already exists/.test(error.message)) throw error;
    });
    runs.project = await projectRun();
    runs.anchor = await anchorRun();
  } finally {
    await clusterPulumi("destroy", "--yes", "--skip-preview").catch(() => undefined);
    await clusterLab("down");
    // The cluster is gone: whatever the stack still lists went with it.
    await clusterPulumi("stack", "rm", "--yes", "--force", "--preserve-config").catch(() => undefined);
    fs.writeFileSync(stackFile, committed);
  }
  return runs;
}
