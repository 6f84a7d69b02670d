/**
 * Scenario 6: how fast the tool is, each figure beside the raw `incus launch` of the same number of
 * containers in parallel (deleted right after), as a ratio. The launches are bench-raw-N containers.
 */
import { DEFAULTS } from "../../stack/settings";
import { incus, run } from "../../tests/lab/harness";
import { BENCH_PREFIX, ours, pulumi, sleep, timed } from "../env";
import { BASE, Lb } from "../lb";
import { SETTLE_MS } from "../measure";

export interface RawLaunch {
  containers: number;
  /** `incus launch` of all of them, in parallel, until every command returned. */
  launchMs: number;
  /** Until each one's systemd also finished booting (`systemctl is-system-running --wait`), as the project's launch waits. */
  bootedMs: number;
  deleteMs: number;
}

export interface Timed {
  ms: number;
  raw?: RawLaunch;
  /** ms / raw.launchMs */
  ratio?: number;
}

export interface ColdStart {
  destroyMs: number;
  /** `pulumi up` from an empty stack until every server is UP on the admin socket. */
  emptyToUp: Timed;
  /** No-change `pulumi preview --expect-no-changes`. */
  preview: Timed;
  /** No-change `pulumi up --expect-no-changes` (absent in runs saved before it was measured). */
  upNoChange?: Timed;
}

export interface ScaleSpeed {
  /** backend-api 2 -> 3 (`pulumi up` until every server is UP), best of ROUNDS, beside the raw launch of 1. */
  outBy1: Timed;
  /** backend-api 2 -> 8, best of ROUNDS, beside the raw launch of 6. */
  outBy6: Timed;
  /** outBy6.ms / outBy1.ms (target <= 1.5), and the same for the raw launches and raw boots. */
  ratio6to1: number;
  rawRatio6to1: number;
  rawBootRatio6to1: number;
  /** Every round, in the order run (1, 6, 1, 6, ...). */
  rounds: { added: number; outMs: number; backMs: number; raw: RawLaunch }[];
}

/** Scale-out by 1 and by 6 alternate this many times; the best time of each counts (this host is shared). */
const ROUNDS = 2;

const rawName = (i: number) => ours(`${BENCH_PREFIX}raw-${i}`);

async function deleteRaw(names: string[]): Promise<void> {
  const existing = new Set((await incus("list", "-c", "n", "-f", "csv")).split("\n"));
  await Promise.all(names.filter((n) => existing.has(n)).map((n) => incus("delete", "--force", n)));
}

/** `incus launch` of `count` containers in parallel, as the project's placement would, then their deletion. */
export async function rawLaunch(count: number): Promise<RawLaunch> {
  const names = Array.from({ length: count }, (_, i) => rawName(i + 1));
  await deleteRaw(names);
  const started = performance.now();
  let launchMs = 0;
  await Promise.all(
    names.map(async (n) => {
      // stdin closed: `incus launch` reads instance config from a stdin that is not a terminal.
      await run("incus", ["launch", DEFAULTS.incusImage, n, "--storage", DEFAULTS.incusStoragePool, "--network", DEFAULTS.incusNetwork], {
        input: "",
      });
      launchMs = Math.max(launchMs, performance.now() - started);
      await run("incus", ["exec", n, "--", "timeout", "60", "systemctl", "is-system-running", "--wait"], { input: "" }).catch(
        () => undefined,
      );
    }),
  );
  const bootedMs = performance.now() - started;
  const removal = await timed(() => deleteRaw(names));
  return { containers: count, launchMs, bootedMs, deleteMs: removal.ms };
}

/** Flushes the deletions to disk, then a short pause. */
async function settle(): Promise<void> {
  await run("sync", []);
  await sleep(SETTLE_MS);
}

const beside = (ms: number, raw: RawLaunch): Timed => ({ ms, raw, ratio: ms / raw.launchMs });

/** Every bench-* container (the stack's and raw launches), e.g. one left by an interrupted run. */
async function benchContainers(): Promise<string[]> {
  return (await incus("list", "-c", "n", "-f", "csv")).split("\n").filter((n) => n.startsWith(BENCH_PREFIX));
}

/** Destroys the bench stack (and any bench-* container left over), then times `pulumi up` to every server UP, a no-change preview and a no-change up. */
export async function coldStart(lb: Lb): Promise<ColdStart> {
  const destroy = await timed(() => pulumi("destroy", "--yes", "--skip-preview"));
  await Promise.all((await benchContainers()).map((n) => incus("delete", "--force", ours(n))));
  await settle();
  // The stack makes haproxy + 2 backend-api + 2 stream-server containers.
  const raw = await rawLaunch(1 + BASE.backendApiCount + BASE.streamServerCount);
  await settle();
  const up = await timed(async () => {
    await pulumi("up", "--yes", "--skip-preview");
    await lb.refresh();
    await lb.waitServing();
  });
  const preview = await timed(() => pulumi("preview", "--expect-no-changes"));
  const upNoChange = await timed(() => pulumi("up", "--yes", "--expect-no-changes"));
  return { destroyMs: destroy.ms, emptyToUp: beside(up.ms, raw), preview: { ms: preview.ms }, upNoChange: { ms: upNoChange.ms } };
}

/** Scale-out by 1 and by 6 backends (and back), alternating, each beside the raw launch of as many containers. */
export async function scaleSpeed(lb: Lb): Promise<ScaleSpeed> {
  await lb.use("project", BASE);
  const rounds: ScaleSpeed["rounds"] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const added of [1, 6]) {
      // Deleting containers leaves the pool busy for a while: each measurement starts after a settle.
      const raw = await rawLaunch(added);
      await settle();
      const out = await timed(() => lb.apply({ ...BASE, backendApiCount: BASE.backendApiCount + added }));
      const back = await timed(() => lb.apply(BASE));
      await settle();
      rounds.push({ added, outMs: out.ms, backMs: back.ms, raw });
    }
  }
  const best = (added: number): Timed => {
    const of = rounds.filter((r) => r.added === added);
    const ms = Math.min(...of.map((r) => r.outMs));
    const raw = of.map((r) => r.raw).reduce((a, b) => (b.launchMs < a.launchMs ? b : a));
    return beside(ms, raw);
  };
  const rawBest = (added: number, key: "launchMs" | "bootedMs") =>
    Math.min(...rounds.filter((r) => r.added === added).map((r) => r.raw[key]));
  const outBy1 = best(1);
  const outBy6 = best(6);
  return {
    outBy1,
    outBy6,
    ratio6to1: outBy6.ms / outBy1.ms,
    rawRatio6to1: rawBest(6, "launchMs") / rawBest(1, "launchMs"),
    rawBootRatio6to1: rawBest(6, "bootedMs") / rawBest(1, "bootedMs"),
    rounds,
  };
}
