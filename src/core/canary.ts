// Canary with two Deployments, as plain decisions over an overlay's patch files. PR 1 puts the
// new image on the canary (scaled up from its idle count); once the canary Deployment is
// verified, PR 2 gives the stable Deployment the image and scales the canary back down. A
// failing canary is reverted to the stable image and its idle count; stable is never touched.
import type { FileEdit } from "./blue-green.js";
import { setPatchImage, setPatchReplicas, type PatchEdit } from "./patch-file.js";
import type { CanaryStrategy } from "./strategy.js";
import { containerImage, findPatch, type Located, type LocatedPatch, type PatchFile } from "./strategy-layout.js";

export interface CanaryLayout {
  canary: { patch: LocatedPatch; image: string | undefined; replicas: number | undefined };
  stable: { patch: LocatedPatch; image: string | undefined };
}

export function readCanaryLayout(
  strategy: CanaryStrategy,
  overlayDir: string,
  files: PatchFile[],
): Located<CanaryLayout> {
  const canary = findPatch(files, "Deployment", strategy.canary, overlayDir);
  if (!canary.ok) return canary;
  const stable = findPatch(files, "Deployment", strategy.stable, overlayDir);
  if (!stable.ok) return stable;
  return {
    ok: true,
    value: {
      canary: {
        patch: canary.value,
        image: containerImage(canary.value, strategy.container),
        replicas: canary.value.summary.replicas,
      },
      stable: { patch: stable.value, image: containerImage(stable.value, strategy.container) },
    },
  };
}

export type CanaryPlan =
  | { kind: "noop"; reason: string }
  | { kind: "change"; edits: FileEdit[]; from: string | undefined; to: string }
  | { kind: "reject"; reason: string };

/** Applies edits to one patch file in order; the first refusal stops them. */
function edit(patch: LocatedPatch, steps: Array<(text: string) => PatchEdit>): FileEdit | { reason: string } {
  let text = patch.text;
  for (const step of steps) {
    const result = step(text);
    if (!result.ok) return { reason: `${patch.path} cannot be edited: ${result.reason}` };
    text = result.text;
  }
  return { path: patch.path, text };
}

const isEdit = (value: FileEdit | { reason: string }): value is FileEdit => "path" in value;

function plan(
  parts: Array<[LocatedPatch, Array<(text: string) => PatchEdit>]>,
  from: string | undefined,
  to: string,
): CanaryPlan {
  const edits: FileEdit[] = [];
  for (const [patch, steps] of parts) {
    const result = edit(patch, steps);
    if (!isEdit(result)) return { kind: "reject", reason: result.reason };
    if (result.text !== patch.text) edits.push(result);
  }
  return edits.length ? { kind: "change", edits, from, to } : { kind: "noop", reason: `${to} is already in place` };
}

const running = (strategy: CanaryStrategy, layout: CanaryLayout) =>
  (layout.canary.replicas ?? 0) > strategy.idleReplicas;

/** PR 1: the canary runs `image` with its canary replica count. */
export function planCanaryStart(strategy: CanaryStrategy, layout: CanaryLayout, image: string): CanaryPlan {
  if (layout.stable.image === image && !running(strategy, layout))
    return { kind: "noop", reason: `the stable Deployment already runs ${image}` };
  const steps = [(text: string) => setPatchImage(text, image, strategy.container)];
  if (!running(strategy, layout)) steps.push((text) => setPatchReplicas(text, strategy.replicas));
  return plan([[layout.canary.patch, steps]], layout.stable.image, image);
}

/** PR 2: stable takes the canary's image, and the canary goes back to its idle count. */
export function planCanaryPromote(strategy: CanaryStrategy, layout: CanaryLayout): CanaryPlan {
  const image = layout.canary.image;
  if (image === undefined) return { kind: "reject", reason: `${layout.canary.patch.path} has no image to promote` };
  return plan(
    [
      [layout.stable.patch, [(text) => setPatchImage(text, image, strategy.container)]],
      [layout.canary.patch, [(text) => setPatchReplicas(text, strategy.idleReplicas)]],
    ],
    layout.stable.image,
    image,
  );
}

/** A failed canary: back to the stable image and the idle count; the stable patch is not edited. */
export function planCanaryRevert(strategy: CanaryStrategy, layout: CanaryLayout): CanaryPlan {
  const stable = layout.stable.image;
  if (stable === undefined) return { kind: "reject", reason: `${layout.stable.patch.path} has no image to go back to` };
  return plan(
    [
      [
        layout.canary.patch,
        [
          (text) => setPatchImage(text, stable, strategy.container),
          (text) => setPatchReplicas(text, strategy.idleReplicas),
        ],
      ],
    ],
    layout.canary.image,
    stable,
  );
}

/** For /status: what the canary runs beside stable. */
export function describeCanary(strategy: CanaryStrategy, layout: CanaryLayout): string {
  const stable = layout.stable.image ? `\`${layout.stable.image}\`` : "_(no image)_";
  if (!running(strategy, layout) || layout.canary.image === layout.stable.image)
    return `stable ${stable}; canary idle (${layout.canary.replicas ?? 0} replicas)`;
  return `stable ${stable}; canary \`${layout.canary.image ?? "?"}\` on ${layout.canary.replicas ?? 0} replicas`;
}
