/**
 * Scenario 4: reconfiguration under a steady keep-alive load. Each window is the same code for both
 * configs (Lb.apply): the project's `pulumi up` (candidate, `haproxy -c`, hitless reload) against the
 * anchor's template + `systemctl restart haproxy`; and the apply mechanism alone, REAPPLIES times in
 * a row on the unchanged file (reload against restart), where a rare per-reload loss shows.
 */
import { BASE, CONFIGS, ConfigName, Lb, Shape } from "../lb";
import { LoadSummary, underLoad } from "../measure";

export interface ReconfigWindow extends LoadSummary {
  /** Time the apply steps of the window took (pulumi up, or push + restart), in ms. */
  actionMs: number;
  applies: number;
}

export type PerConfig<T> = Record<ConfigName, T>;

/** Re-applies of the live file in a row, per config (Lb.reapply). */
export const REAPPLIES = 20;

export interface ReconfigResult {
  /** `fall` + 1 and back (project 2 -> 3 -> 2, anchor 3 -> 4 -> 3): two applies in one window. */
  healthEdit: PerConfig<ReconfigWindow>;
  /** backend-api 2 -> 3. */
  scaleOut: PerConfig<ReconfigWindow>;
  /** backend-api 3 -> 2. */
  scaleIn: PerConfig<ReconfigWindow>;
  /** REAPPLIES x the unchanged file: reload (project) against restart (anchor). */
  reapplies: PerConfig<ReconfigWindow>;
}

async function window(lb: Lb, steps: (() => Promise<void>)[]): Promise<ReconfigWindow> {
  const { value, ...summary } = await underLoad(lb.url("/api/v1/items"), async () => {
    for (const step of steps) await step();
    return steps.length;
  });
  return { ...summary, applies: value };
}

const applying = (lb: Lb, shapes: Shape[]) => shapes.map((shape) => () => lb.apply(shape));

export async function reconfiguration(lb: Lb): Promise<ReconfigResult> {
  const edited: Shape = { ...BASE, fallDelta: 1 };
  const scaled: Shape = { ...BASE, backendApiCount: 3 };
  const healthEdit = {} as PerConfig<ReconfigWindow>;
  const reapplies = {} as PerConfig<ReconfigWindow>;
  for (const config of CONFIGS) {
    await lb.use(config, BASE);
    healthEdit[config] = await window(lb, applying(lb, [edited, BASE]));
    reapplies[config] = await window(
      lb,
      Array.from({ length: REAPPLIES }, () => () => lb.reapply()),
    );
  }
  // The third backend container is made by the project's scale-out (a `pulumi up`, so with the
  // project's file live); the anchor then lists it and drops it again; the project's scale-in,
  // which deletes the container, comes last.
  await lb.use("project", BASE);
  const projectOut = await window(lb, applying(lb, [scaled]));
  await lb.use("anchor", BASE);
  const anchorOut = await window(lb, applying(lb, [scaled]));
  const anchorIn = await window(lb, applying(lb, [BASE]));
  await lb.use("project", scaled);
  const projectIn = await window(lb, applying(lb, [BASE]));
  return {
    healthEdit,
    scaleOut: { project: projectOut, anchor: anchorOut },
    scaleIn: { project: projectIn, anchor: anchorIn },
    reapplies,
  };
}
