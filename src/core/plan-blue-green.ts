// Blue-green releases as PRs, over plain data: PR 1 puts the requested image on the idle slot,
// PR 2 switches the Service to it once that slot is verified. Which step a merged change was is
// read back from the overlay before and after it (`slotStepOf`), so the verifier judges the one
// Deployment the change moved and the verdict knows whether a switch or a promotion follows.
import { otherSlot, planSlotDeploy, planSlotSwitch, type BlueGreenLayout, type FileEdit } from "./blue-green.js";
import type { PrStep } from "./markers.js";
import type { Config } from "./config.js";
import type { DeployRequest } from "./dispatch.js";
import { releaseImage, shortTag } from "./release-image.js";
import { envLabel, LABEL } from "./pr-text.js";
import type { BlueGreenStrategy, Slot } from "./strategy.js";

/** What a merged blue-green change moved: the idle slot's image, or the slot that serves. */
export interface SlotStep {
  /** "idle": PR 1 (verified, it is switched to); "live": the serving slot changed (promoted). */
  kind: "idle" | "live";
  slot: Slot;
  /** The slot's Deployment, the one resource the verdict judges. */
  deployment: string;
}

export function slotStepOf(
  strategy: BlueGreenStrategy,
  before: BlueGreenLayout | undefined,
  after: BlueGreenLayout,
): { step: SlotStep; from: string | undefined; to: string | undefined } | undefined {
  const step = (kind: SlotStep["kind"], slot: Slot): SlotStep => ({ kind, slot, deployment: strategy.slots[slot] });
  if (!before || before.live !== after.live)
    return {
      step: step("live", after.live),
      from: before?.slots[before.live].image,
      to: after.slots[after.live].image,
    };
  const idle = otherSlot(after.live);
  if (before.slots[idle].image !== after.slots[idle].image)
    return { step: step("idle", idle), from: before.slots[idle].image, to: after.slots[idle].image };
  if (before.slots[after.live].image !== after.slots[after.live].image)
    return {
      step: step("live", after.live),
      from: before.slots[after.live].image,
      to: after.slots[after.live].image,
    };
  return undefined;
}

/** A step of a strategy release as a PR: the files it edits (only the bytes that must change). */
export interface StepPr {
  kind: "change";
  step: PrStep;
  edits: FileEdit[];
  from: string | undefined;
  to: string;
  /** The image the live slot serves now (what the environment runs before this step). */
  live: string | undefined;
  commitMessage: string;
  title: string;
  body: string;
  labels: string[];
}

export interface SlotPr extends StepPr {
  step: "idle" | "switch";
  slot: Slot;
}

export type Stop =
  | { kind: "noop"; reason: string }
  | { kind: "reject"; code: "image-mismatch" | "older-version" | "invalid-overlay"; reason: string };

/** PR 1 of a release of `request`'s image (or PR 2 when the idle slot already runs it). */
export function planBlueGreenRelease(input: {
  config: Config;
  strategy: BlueGreenStrategy;
  layout: BlueGreenLayout;
  service: string;
  env: string;
  request: Pick<DeployRequest, "image" | "tag" | "digest">;
}): SlotPr | Stop {
  const { layout } = input;
  const liveImage = layout.slots[layout.live].image;
  const chosen = releaseImage({
    ...input,
    serving: liveImage,
    servingWhere: `the live slot (${layout.live})`,
    noImage: `the slots of ${input.service} have no image`,
  });
  if (!chosen.ok) return { kind: "reject", code: chosen.code, reason: chosen.reason };
  const { image } = chosen;
  const plan = planSlotDeploy(input.strategy, layout, image);
  if (plan.kind === "noop") return plan;
  if (plan.kind === "reject") return { kind: "reject", code: "invalid-overlay", reason: plan.reason };
  if (plan.kind === "switch") return switchPr(input, layout, plan.to, plan.edit);
  const env = input.config.environments.find((e) => e.name === input.env);
  return {
    kind: "change",
    step: "idle",
    slot: plan.slot,
    edits: [plan.edit],
    from: plan.from,
    to: plan.to,
    live: liveImage,
    commitMessage: `deploy(${input.service}/${input.env}): ${plan.slot} slot ${plan.from ?? "(none)"} -> ${plan.to}`,
    title: `Deploy ${input.service} ${shortTag(image)} to the idle slot (${plan.slot}) in ${input.env}`,
    body: [
      `Conveyor deploys **${input.service}** to the idle slot (**${plan.slot}**) of **${input.env}**, released blue-green. The live slot (${layout.live}) keeps serving \`${liveImage ?? "(no image)"}\`.`,
      "",
      "| | image |",
      "|---|---|",
      `| ${plan.slot} slot before | ${plan.from ? `\`${plan.from}\`` : "_(no image)_"} |`,
      `| ${plan.slot} slot after | \`${plan.to}\` |`,
      "",
      `File: \`${plan.edit.path}\` (only the image changes)`,
      "",
      "### What happens next",
      `- ${env?.autoMerge ? `Conveyor merges this PR automatically once its checks pass (${input.env} auto-merges).` : "A reviewer merges this PR."}`,
      `- After the merge Conveyor watches the Deployment \`${input.strategy.slots[plan.slot]}\` in Argo CD until it is synced, healthy and stable.`,
      `- Then it opens the PR that switches the Service to ${plan.slot}; if the slot fails, nothing is switched and the image is held.`,
      "",
      "Comment `/hold` to stop automation on this PR, `/help` for all commands.",
    ].join("\n"),
    labels: [LABEL, envLabel(input.env)],
  };
}

/** PR 2: the Service's selector names the idle slot, once its Deployment was verified. */
export function planBlueGreenSwitch(input: {
  config: Config;
  strategy: BlueGreenStrategy;
  layout: BlueGreenLayout;
  service: string;
  env: string;
  to: Slot;
}): SlotPr | Stop {
  const plan = planSlotSwitch(input.strategy, input.layout, input.to);
  if (plan.kind === "noop") return plan;
  if (plan.kind === "reject") return { kind: "reject", code: "invalid-overlay", reason: plan.reason };
  return switchPr(input, input.layout, plan.to, plan.edit);
}

function switchPr(
  input: { config: Config; strategy: BlueGreenStrategy; service: string; env: string },
  layout: BlueGreenLayout,
  to: Slot,
  edit: FileEdit,
): SlotPr {
  const image = layout.slots[to].image as string;
  const from = layout.slots[layout.live].image;
  const env = input.config.environments.find((e) => e.name === input.env);
  return {
    kind: "change",
    step: "switch",
    slot: to,
    edits: [edit],
    from,
    to: image,
    live: from,
    commitMessage: `switch(${input.service}/${input.env}): ${layout.live} -> ${to} (${image})`,
    title: `Switch ${input.service} to ${to} in ${input.env}`,
    body: [
      `Conveyor switches the Service \`${input.strategy.service}\` of **${input.service}** in **${input.env}** from the ${layout.live} slot to the **${to}** slot.`,
      "",
      "| slot | image |",
      "|---|---|",
      `| ${layout.live} (live now) | ${from ? `\`${from}\`` : "_(no image)_"} |`,
      `| ${to} (live after) | \`${image}\` |`,
      "",
      `File: \`${edit.path}\` (only the selector's \`${input.strategy.label}\` changes)`,
      `The ${layout.live} slot keeps \`${from ?? "(no image)"}\`: switching back is the rollback.`,
      "",
      "### What happens next",
      `- ${env?.autoMerge ? `Conveyor merges this PR automatically once its checks pass (${input.env} auto-merges).` : "A reviewer merges this PR."}`,
      `- After the merge Conveyor verifies the ${to} slot in Argo CD, then promotes \`${image}\` to the next environment.`,
      "",
      "Comment `/hold` to stop automation on this PR, `/help` for all commands.",
    ].join("\n"),
    labels: [LABEL, envLabel(input.env)],
  };
}

/**
 * The rollback of a switched release: the Service back to the other slot, which kept the image
 * to go back to. Only when the live slot runs the image rolled back and the other slot still
 * holds `backTo` (when known); anything else is said, not guessed.
 */
export function planSwitchBack(
  strategy: BlueGreenStrategy,
  layout: BlueGreenLayout,
  rolledBack: string | undefined,
  backTo: string | undefined,
): { kind: "change"; edit: FileEdit; slot: Slot; image: string } | { kind: "noop" | "impossible"; reason: string } {
  const other = otherSlot(layout.live);
  const live = layout.slots[layout.live].image;
  const kept = layout.slots[other].image;
  if (rolledBack !== undefined && live !== rolledBack)
    return layout.slots[other].image === rolledBack
      ? {
          kind: "noop",
          reason: `${rolledBack} is only on the idle slot (${other}), which serves no traffic; the live slot (${layout.live}) runs ${live ?? "no image"}`,
        }
      : { kind: "noop", reason: `the live slot (${layout.live}) runs ${live ?? "no image"}, not ${rolledBack}` };
  if (kept === undefined || (backTo !== undefined && kept !== backTo))
    return {
      kind: "impossible",
      reason: `the ${other} slot holds ${kept ?? "no image"}${backTo !== undefined ? `, not ${backTo}` : ""}, so switching back would not restore it; deploy the image you want instead`,
    };
  const plan = planSlotSwitch(strategy, layout, other);
  if (plan.kind !== "switch") return { kind: "impossible", reason: plan.reason };
  return { kind: "change", edit: plan.edit, slot: other, image: kept };
}
