/**
 * Scenario 6: how fast the tool is, each figure beside the raw `incus launch` of the same number of
 * containers in parallel (deleted right after), as a ratio. The launches are bench-raw-N containers.
 */
import { DEFAULTS } from "../../components/settings";
import { incus, run } from "../../tests/lab/harness";
import { BENCH_PREFIX, ours, pulumi, timed } from "../env";
import { BASE, Lb } from "../lb";

export interface RawLaunch {
  containers: number;
  launchMs: number;
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
}

export interface ScaleSpeed {
  /** backend-api 2 -> 3 (`pulumi up` until every server is UP). */
  outBy1: Timed;
  /** backend-api 2 -> 8. */
  outBy6: Timed;
  /** outBy6.ms / outBy1.ms (target <= 1.5), and the same for the raw launches. */
  ratio6to1: number;
  rawRatio6to1: number;
  inBy1Ms: number;
  inBy6Ms: number;
}

const rawName = (i: number) => ours(`${BENCH_PREFIX}raw-${i}`);

async function deleteRaw(names: string[]): Promise<void> {
  const existing = new Set((await incus("list", "-c", "n", "-f", "csv")).split("\n"));
  await Promise.all(names.filter((n) => existing.has(n)).map((n) => incus("delete", "--force", n)));
}

/** `incus launch` of `count` containers in parallel, as the project's placement would, then their deletion. */
export async function rawLaunch(count: number): Promise<RawLaunch> {
  const names = Array.from({ length: count }, (_, i) => rawName(i + 1));
  await deleteRaw(names);
  const launch = await timed(() =>
    Promise.all(
      names.map((n) =>
        // stdin closed: `incus launch` reads instance config from a stdin that is not a terminal.
        run("incus", ["launch", DEFAULTS.incusImage, n, "--storage", DEFAULTS.incusStoragePool, "--network", DEFAULTS.incusNetwork], { input: "" }),
      ),
    ),
  );
  const removal = await timed(() => deleteRaw(names));
  return { containers: count, launchMs: launch.ms, deleteMs: removal.ms };
}

const beside = (ms: number, raw: RawLaunch): Timed => ({ ms, raw, ratio: ms / raw.launchMs });

/** Destroys the bench stack, then times `pulumi up` to every server UP, and a no-change preview. */
export async function coldStart(lb: Lb): Promise<ColdStart> {
  const destroy = await timed(() => pulumi("destroy", "--yes", "--skip-preview"));
  const up = await timed(async () => {
    await pulumi("up", "--yes", "--skip-preview");
    await lb.refresh();
    await lb.waitServing();
  });
  const containers = 1 + lb.out.backendApiContainers.length + lb.out.streamServerContainers.length;
  const raw = await rawLaunch(containers);
  const preview = await timed(() => pulumi("preview", "--expect-no-changes"));
  return { destroyMs: destroy.ms, emptyToUp: beside(up.ms, raw), preview: { ms: preview.ms } };
}

/** Scale-out by 1 and by 6 backends (and back), each beside the raw launch of as many containers. */
export async function scaleSpeed(lb: Lb): Promise<ScaleSpeed> {
  await lb.use("project", BASE);
  const step = async (added: number) => {
    const out = await timed(() => lb.apply({ ...BASE, backendApiCount: BASE.backendApiCount + added }));
    const back = await timed(() => lb.apply(BASE));
    return { out: beside(out.ms, await rawLaunch(added)), backMs: back.ms };
  };
  const one = await step(1);
  const six = await step(6);
  return {
    outBy1: one.out,
    outBy6: six.out,
    ratio6to1: six.out.ms / one.out.ms,
    rawRatio6to1: (six.out.raw?.launchMs ?? NaN) / (one.out.raw?.launchMs ?? NaN),
    inBy1Ms: one.backMs,
    inBy6Ms: six.backMs,
  };
}
