/**
 * Scenario 4: reconfiguration under a steady keep-alive load. Each window is the same code for both
 * configs (Lb.apply): the project's `pulumi up` (candidate, `haproxy -c`, hitless reload) against the
 * anchor's template + `systemctl restart haproxy`.
 */
import { BASE, CONFIGS, ConfigName, Lb, Shape } from "../lb";
import { LoadSummary, underLoad } from "../measure";

export interface ReconfigWindow extends LoadSummary {
  /** Time the apply steps of the window took (pulumi up, or push + restart), in ms. */
  actionMs: number;
  applies: number;
}

export type PerConfig<T> = Record<ConfigName, T>;

export interface ReconfigResult {
  /** `fall` + 1 and back (project 2 -> 3 -> 2, anchor 3 -> 4 -> 3): two applies in one window. */
  healthEdit: PerConfig<ReconfigWindow>;
  /** backend-api 2 -> 3. */
  scaleOut: PerConfig<ReconfigWindow>;
  /** backend-api 3 -> 2. */
  scaleIn: PerConfig<ReconfigWindow>;
}

async function window(lb: Lb, shapes: Shape[]): Promise<ReconfigWindow> {
  const { value, ...summary } = await underLoad(lb.url("/api/v1/items"), async () => {
    for (const shape of shapes) await lb.apply(shape);
    return shapes.length;
  });
  return { ...summary, applies: value };
}

export async function reconfiguration(lb: Lb): Promise<ReconfigResult> {
  const edited: Shape = { ...BASE, fallDelta: 1 };
  const scaled: Shape = { ...BASE, backendApiCount: 3 };
  const healthEdit = {} as PerConfig<ReconfigWindow>;
  for (const config of CONFIGS) {
    await lb.use(config, BASE);
    healthEdit[config] = await window(lb, [edited, BASE]);
  }
  // The third backend container is made by the project's scale-out (a `pulumi up`, so with the
  // project's file live); the anchor then lists it and drops it again; the project's scale-in,
  // which deletes the container, comes last.
  await lb.use("project", BASE);
  const projectOut = await window(lb, [scaled]);
  await lb.use("anchor", BASE);
  const anchorOut = await window(lb, [scaled]);
  const anchorIn = await window(lb, [BASE]);
  await lb.use("project", scaled);
  const projectIn = await window(lb, [BASE]);
  return {
    healthEdit,
    scaleOut: { project: projectOut, anchor: anchorOut },
    scaleIn: { project: projectIn, anchor: anchorIn },
  };
}
