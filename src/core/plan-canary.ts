// Canary releases as PRs, over plain data: PR 1 starts the canary Deployment with the requested
// image, PR 2 gives the stable Deployment that image (and scales the canary back to its idle
// count) once the canary was verified. Which step a merged change was is read back from the
// overlay before and after it (`trackStepOf`), so the verifier judges the one Deployment the
// change moved and the verdict knows whether stable follows, a promotion, or nothing.
import { planCanaryPromote, planCanaryRevert, planCanaryStart, type CanaryLayout, type CanaryPlan } from "./canary.js";
import type { FileEdit } from "./blue-green.js";
import type { Config } from "./config.js";
import type { DeployRequest } from "./dispatch.js";
import { isValidName } from "./names.js";
import type { StepPr, Stop } from "./plan-blue-green.js";
import { envLabel, LABEL } from "./pr-text.js";
import { releaseImage, shortTag } from "./release-image.js";
import { setPatchImage } from "./patch-file.js";
import type { CanaryStrategy } from "./strategy.js";

/** What a merged canary change moved, and so which Deployment the verdict judges. */
export interface TrackStep {
  /**
   * "canary": the canary runs a new image (verified, stable takes it); "stable": the stable
   * Deployment took an image (verified, it is promoted); "idle": the canary went back to the
   * stable image or its idle count (a revert, or PR 2's scale-down alone): nothing follows.
   */
  kind: "canary" | "stable" | "idle";
  deployment: string;
}

const running = (strategy: CanaryStrategy, layout: CanaryLayout) =>
  (layout.canary.replicas ?? 0) > strategy.idleReplicas && layout.canary.image !== layout.stable.image;

export function trackStepOf(
  strategy: CanaryStrategy,
  before: CanaryLayout | undefined,
  after: CanaryLayout,
): { step: TrackStep; from: string | undefined; to: string | undefined } | undefined {
  if (!before || before.stable.image !== after.stable.image)
    return {
      step: { kind: "stable", deployment: strategy.stable },
      from: before?.stable.image,
      to: after.stable.image,
    };
  if (before.canary.image === after.canary.image && before.canary.replicas === after.canary.replicas) return undefined;
  if (running(strategy, after))
    // `from` is what serves beside it, the image a failed canary goes back to.
    return { step: { kind: "canary", deployment: strategy.canary }, from: after.stable.image, to: after.canary.image };
  return { step: { kind: "idle", deployment: strategy.canary }, from: before.canary.image, to: after.canary.image };
}

/** A recorded track step, believed only in its exact shape. */
export function trackStepFrom(value: unknown): TrackStep | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { kind, deployment } = value as Record<string, unknown>;
  if (kind !== "canary" && kind !== "stable" && kind !== "idle") return undefined;
  if (typeof deployment !== "string" || !isValidName(deployment)) return undefined;
  return { kind, deployment };
}

interface StepInput {
  config: Config;
  strategy: CanaryStrategy;
  layout: CanaryLayout;
  service: string;
  env: string;
}

const refusal = (plan: Exclude<CanaryPlan, { kind: "change" }>): Stop =>
  plan.kind === "noop" ? plan : { kind: "reject", code: "invalid-overlay", reason: plan.reason };

const whoMerges = (input: StepInput) =>
  input.config.environments.find((e) => e.name === input.env)?.autoMerge
    ? `Conveyor merges this PR automatically once its checks pass (${input.env} auto-merges).`
    : "A reviewer merges this PR (or comment `/promote` once it may go).";

const filesLine = (edits: FileEdit[]) => `Files: ${edits.map((e) => `\`${e.path}\``).join(", ")}`;

/** PR 1 of a canary release of `request`'s image: the canary Deployment runs it. */
export function planCanaryRelease(
  input: StepInput & { request: Pick<DeployRequest, "image" | "tag" | "digest"> },
): (StepPr & { step: "canary" }) | Stop {
  const { strategy, layout } = input;
  const chosen = releaseImage({
    ...input,
    serving: layout.stable.image,
    servingWhere: `the stable Deployment (${strategy.stable})`,
    noImage: `the canary and stable Deployments of ${input.service} have no image`,
  });
  if (!chosen.ok) return { kind: "reject", code: chosen.code, reason: chosen.reason };
  const { image } = chosen;
  if (running(strategy, layout) && layout.canary.image === image)
    return { kind: "noop", reason: `the canary already runs ${image}` };
  const plan = planCanaryStart(strategy, layout, image);
  if (plan.kind !== "change") return refusal(plan);
  const replicas = running(strategy, layout) ? layout.canary.replicas : strategy.replicas;
  return {
    kind: "change",
    step: "canary",
    edits: plan.edits,
    from: layout.stable.image,
    live: layout.stable.image,
    to: image,
    commitMessage: `deploy(${input.service}/${input.env}): canary ${layout.canary.image ?? "(none)"} -> ${image}`,
    title: `Deploy ${input.service} ${shortTag(image)} to the canary in ${input.env}`,
    body: [
      `Conveyor starts a canary of **${input.service}** in **${input.env}**: the Deployment \`${strategy.canary}\` runs the new image on ${replicas ?? "?"} replica(s) beside \`${strategy.stable}\`, which keeps serving \`${layout.stable.image ?? "(no image)"}\`.`,
      "",
      "| | image | replicas |",
      "|---|---|---|",
      `| canary before | ${layout.canary.image ? `\`${layout.canary.image}\`` : "_(no image)_"} | ${layout.canary.replicas ?? "_(unset)_"} |`,
      `| canary after | \`${image}\` | ${replicas ?? "_(unset)_"} |`,
      `| stable (unchanged) | ${layout.stable.image ? `\`${layout.stable.image}\`` : "_(no image)_"} | |`,
      "",
      `${filesLine(plan.edits)} (only the canary's image and replicas change)`,
      "",
      "### What happens next",
      `- ${whoMerges(input)}`,
      `- After the merge Conveyor watches the Deployment \`${strategy.canary}\` in Argo CD until it is synced, healthy and stable.`,
      `- Then it opens the PR that gives \`${strategy.stable}\` the image and scales the canary back to ${strategy.idleReplicas}; if the canary fails, it is reverted, the stable Deployment is never touched, and the image is held.`,
      "",
      "Comment `/hold` to stop automation on this PR, `/help` for all commands.",
    ].join("\n"),
    labels: [LABEL, envLabel(input.env)],
  };
}

/** PR 2, once the canary was verified: stable takes the canary's image, the canary goes idle. */
export function planCanaryPromotion(input: StepInput & { image: string }): (StepPr & { step: "stable" }) | Stop {
  const { strategy, layout } = input;
  if (layout.canary.image !== input.image)
    return {
      kind: "noop",
      reason: `the canary runs ${layout.canary.image ?? "no image"} now, not ${input.image}; nothing to give stable`,
    };
  const plan = planCanaryPromote(strategy, layout);
  if (plan.kind !== "change") return refusal(plan);
  return {
    kind: "change",
    step: "stable",
    edits: plan.edits,
    from: layout.stable.image,
    live: layout.stable.image,
    to: input.image,
    commitMessage: `promote(${input.service}/${input.env}): stable ${layout.stable.image ?? "(none)"} -> ${input.image}, canary to ${strategy.idleReplicas}`,
    title: `Promote ${input.service} ${shortTag(input.image)} from the canary to stable in ${input.env}`,
    body: [
      `The canary of **${input.service}** in **${input.env}** was verified: Conveyor gives the stable Deployment \`${strategy.stable}\` its image and scales the canary \`${strategy.canary}\` back to ${strategy.idleReplicas}.`,
      "",
      "| | image |",
      "|---|---|",
      `| stable before | ${layout.stable.image ? `\`${layout.stable.image}\`` : "_(no image)_"} |`,
      `| stable after | \`${input.image}\` |`,
      "",
      `${filesLine(plan.edits)} (only the stable image and the canary's replicas change)`,
      "",
      "### What happens next",
      `- ${whoMerges(input)}`,
      `- After the merge Conveyor verifies \`${strategy.stable}\` in Argo CD, then promotes \`${input.image}\` to the next environment.`,
      "",
      "Comment `/hold` to stop automation on this PR, `/help` for all commands.",
    ].join("\n"),
    labels: [LABEL, envLabel(input.env)],
  };
}

export type TrackRollback =
  | { kind: "change"; edits: FileEdit[]; what: "canary" | "stable"; image: string }
  | { kind: "noop" | "impossible"; reason: string };

/**
 * Rolling back `rolledBack`: a canary that runs it goes back to the stable image and its idle
 * count (stable is not touched); a stable Deployment that took it goes back to `backTo`.
 */
export function planTrackRollback(
  strategy: CanaryStrategy,
  layout: CanaryLayout,
  rolledBack: string | undefined,
  backTo: string | undefined,
): TrackRollback {
  const { canary, stable } = layout;
  if (canary.image !== stable.image && (rolledBack === undefined || canary.image === rolledBack)) {
    const plan = planCanaryRevert(strategy, layout);
    if (plan.kind === "reject") return { kind: "impossible", reason: plan.reason };
    if (plan.kind === "change") return { kind: "change", edits: plan.edits, what: "canary", image: plan.to };
  }
  if (rolledBack === undefined || stable.image !== rolledBack)
    return {
      kind: "noop",
      reason: `neither the canary nor stable runs ${rolledBack ?? "a newer image"} (stable runs ${stable.image ?? "no image"})`,
    };
  if (backTo === undefined || backTo === rolledBack)
    return { kind: "impossible", reason: `there is no earlier image known to give ${strategy.stable} back` };
  const edited = setPatchImage(stable.patch.text, backTo, strategy.container);
  if (!edited.ok) return { kind: "impossible", reason: `${stable.patch.path} cannot be edited: ${edited.reason}` };
  return { kind: "change", edits: [{ path: stable.patch.path, text: edited.text }], what: "stable", image: backTo };
}
