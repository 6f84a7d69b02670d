/**
 * Scenario 5: hash locality of stream_pool. 1,000 track ids are placed (X-Served-By) on 2 stream
 * servers, again after a third is added, and again after stream-server-1 is removed. The project
 * removes it the way removal acts on the ring at run time: `set server stream_pool/stream-server-1
 * state maint` (the stack's count can only drop the highest index). The anchor is re-rendered
 * without it, as the seed's role would do, which renumbers the servers after it.
 */
import { get } from "../../tests/lab/harness";
import { serverName, sleep } from "../env";
import { BASE, CONFIGS, ConfigName, Lb, Shape } from "../lb";

export const TRACK_COUNT = 1000;
const TRACKS = Array.from({ length: TRACK_COUNT }, (_, i) => `/hls/track-${i}/index.m3u8`);
const CONCURRENCY = 20;

export type Placement = Map<string, string>;

/** How a fleet change moved the ids (pure). */
export interface Movement {
  servers: number;
  moved: number;
  movedFraction: number;
  /** Ids that moved from one server that stayed to another that stayed. */
  movedBetweenStayed: number;
  sharesBefore: Record<string, number>;
  sharesAfter: Record<string, number>;
}

function shares(placement: Placement): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const server of placement.values()) counts[server] = (counts[server] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort());
}

/** Compares two placements of the same ids; `servers` is the larger fleet (N of the 1/N target). */
export function movement(before: Placement, after: Placement): Movement {
  const stayed = new Set([...before.values()].filter((s) => [...after.values()].includes(s)));
  let moved = 0;
  let movedBetweenStayed = 0;
  for (const [id, from] of before) {
    const to = after.get(id);
    if (to === from) continue;
    moved++;
    if (stayed.has(from) && to !== undefined && stayed.has(to)) movedBetweenStayed++;
  }
  const servers = Math.max(new Set(before.values()).size, new Set(after.values()).size);
  return {
    servers,
    moved,
    movedFraction: moved / before.size,
    movedBetweenStayed,
    sharesBefore: shares(before),
    sharesAfter: shares(after),
  };
}

async function servedBy(lb: Lb, track: string): Promise<string> {
  let problem = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await sleep(200);
    try {
      const response = await get(lb.url(track));
      if (response.status === 200) return serverName(response.servedBy);
      problem = `HTTP ${response.status}`;
    } catch (error) {
      problem = String(error);
    }
  }
  throw new Error(`${track}: ${problem}`);
}

async function placement(lb: Lb): Promise<Placement> {
  const result: Placement = new Map();
  for (let i = 0; i < TRACKS.length; i += CONCURRENCY) {
    const batch = TRACKS.slice(i, i + CONCURRENCY);
    const servers = await Promise.all(batch.map((t) => servedBy(lb, t)));
    batch.forEach((t, j) => result.set(t, servers[j]));
  }
  return result;
}

/** A placement read twice in a row with the same answer (a ring still ramping would differ). */
async function stablePlacement(lb: Lb): Promise<Placement> {
  let last = await placement(lb);
  for (let attempt = 0; attempt < 10; attempt++) {
    await sleep(1_000);
    const next = await placement(lb);
    if ([...next].every(([id, s]) => last.get(id) === s)) return next;
    last = next;
  }
  throw new Error("the stream_pool placement did not settle within 10 readings");
}

export interface LocalityRun {
  add: Movement;
  remove: Movement;
}

export async function locality(lb: Lb): Promise<Record<ConfigName, LocalityRun>> {
  const added: Shape = { ...BASE, streamServerCount: 3 };
  const removed: Shape = { ...added, removed: ["stream-server-1"] };
  const runs = {} as Record<ConfigName, LocalityRun>;
  for (const config of CONFIGS) {
    await lb.use(config, BASE);
    const p0 = await stablePlacement(lb);
    await lb.apply(added);
    const p1 = await stablePlacement(lb);
    await lb.apply(removed);
    const p2 = await stablePlacement(lb);
    await lb.apply(added);
    runs[config] = { add: movement(p0, p1), remove: movement(p1, p2) };
  }
  await lb.use("project", BASE);
  return runs;
}
