// Words for the verification loop: PR comments, Deployment descriptions, revert PRs.
import { describeSource, formatDuration } from "./pr-text.js";
import type { DispatchSource } from "./source.js";

export function verificationStartedComment(input: {
  service: string;
  env: string;
  app: string;
  revision: string;
  deploymentId: number;
  soakMs: number;
}): string {
  return [
    `Merged as \`${input.revision.slice(0, 12)}\`. Conveyor is watching Argo CD application \`${input.app}\` until ${input.service} runs it synced and healthy in **${input.env}** for ${formatDuration(input.soakMs)} (deployment ${input.deploymentId}).`,
  ].join("\n");
}

export interface Timeline {
  merged: string;
  synced?: string;
  healthy?: string;
  verified: string;
}

export function verifiedComment(input: {
  service: string;
  env: string;
  app: string;
  image?: string;
  timeline: Timeline;
  /**
   * `slot`: the next step is the switch to that slot (blue-green); `stable`: the stable
   * Deployment takes the canary's image (canary); otherwise a promotion.
   */
  next?: { env: string; pr?: number; note?: string; slot?: string; stable?: boolean };
}): string {
  const t = input.timeline;
  const rows = [
    ["merged", t.merged],
    ["synced", t.synced],
    ["healthy", t.healthy],
    ["stable (verified)", t.verified],
  ].filter((row): row is [string, string] => row[1] !== undefined);
  const nextLine = input.next
    ? input.next.stable
      ? input.next.pr !== undefined
        ? `Next: the stable Deployment takes the image in #${input.next.pr}.`
        : `Next: the stable Deployment does not take it: ${input.next.note ?? "nothing to change"}.`
      : input.next.slot !== undefined
        ? input.next.pr !== undefined
          ? `Next: the switch to the ${input.next.slot} slot in #${input.next.pr}.`
          : `Next: no switch to the ${input.next.slot} slot: ${input.next.note ?? "nothing to switch"}.`
        : input.next.pr !== undefined
          ? `Next: promotion to **${input.next.env}** in #${input.next.pr}.`
          : `Next: ${input.next.note ?? `no promotion to ${input.next.env}`}.`
    : `${input.env} is the last environment.`;
  return [
    `✅ **Verified**: ${input.service}${input.image ? ` \`${input.image}\`` : ""} is synced, healthy and stable in **${input.env}** (Argo CD \`${input.app}\`).`,
    "",
    "| step | at |",
    "|---|---|",
    ...rows.map(([step, at]) => `| ${step} | ${at} |`),
    "",
    nextLine,
  ].join("\n");
}

export function failedComment(input: {
  service: string;
  env: string;
  app: string;
  author?: string;
  reason: string;
  revert?: { pr?: number; note?: string };
  /** The issue that holds the failed image, when one was opened. */
  holdIssue?: number;
}): string {
  const who = input.author ? `@${input.author}: ` : "";
  const revert =
    input.revert?.pr !== undefined
      ? `Conveyor opened revert PR #${input.revert.pr}.`
      : (input.revert?.note ?? "No revert PR was opened (rollback.auto is off).");
  const held =
    input.holdIssue !== undefined
      ? `${input.service} is held in ${input.env} (#${input.holdIssue}): this image is not merged there automatically again until a newer image arrives or someone comments \`/unhold\` on #${input.holdIssue}.`
      : undefined;
  return [
    `❌ ${who}the rollout of ${input.service} in **${input.env}** failed (Argo CD \`${input.app}\`).`,
    "",
    `**Reason:** ${input.reason}`,
    "",
    revert,
    ...(held ? [held] : []),
  ].join("\n");
}

export type RevertMethod = "revert" | "reset-image" | "switch-back" | "canary" | "stable";

const REVERT_METHOD_TEXT: Record<RevertMethod, string> = {
  revert: "This is a revert of the overlay change.",
  "reset-image":
    "The overlay changed again since, so a plain revert would conflict; this sets the previous verified image instead.",
  "switch-back":
    "Released blue-green: this switches the Service back to the slot that kept the previous image (only the selector changes); no image changes.",
  canary:
    "Released by canary: the canary goes back to the stable image and its idle replica count; the stable Deployment is not touched.",
  stable: "Released by canary: the stable Deployment goes back to the previous image.",
};

export function revertPrText(input: {
  service: string;
  env: string;
  from?: string;
  to?: string;
  reason: string;
  originalPr?: number;
  deploymentId: number;
  /**
   * How the overlay goes back: a revert of the change, the previous image set again, the
   * Service switched back to the slot that kept the old image (blue-green), the canary back to
   * stable's image and its idle count, or stable back to the earlier image (canary).
   */
  method: RevertMethod;
  /** Set when a person asked for the revert (`/rollback`) rather than a failed rollout. */
  requestedBy?: string;
  /** Where the image gone back to came from, when known; `web` is the GitHub server's address. */
  source?: DispatchSource;
  web?: string;
}): { title: string; body: string; commitMessage: string } {
  const back = input.from ?? "the previous overlay";
  const after = input.originalPr !== undefined ? ` after #${input.originalPr}` : "";
  const why = input.requestedBy
    ? `because @${input.requestedBy} asked for it${after} (deployment ${input.deploymentId})`
    : `because its rollout failed${after} (deployment ${input.deploymentId})`;
  return {
    title: `Revert ${input.service} in ${input.env} to ${shortImage(back)}`,
    commitMessage: `revert(${input.service}/${input.env}): ${input.to ?? "(change)"} -> ${back}\n\n${input.requestedBy ? "Requested" : "Rollout failed"}: ${input.reason.slice(0, 500)}`,
    body: [
      `Conveyor reverts **${input.service}** in **${input.env}** ${why}.`,
      "",
      `**${input.requestedBy ? "Request" : "Reason"}:** ${input.reason}`,
      "",
      "| | image |",
      "|---|---|",
      `| ${input.requestedBy ? "now" : "failed"} | ${input.to ? `\`${input.to}\`` : "_(unknown)_"} |`,
      `| back to | ${input.from ? `\`${input.from}\`` : "_(previous overlay)_"} |`,
      "",
      ...(input.source ? [`Back to the image built from: ${describeSource(input.source, input.web)}`, ""] : []),
      REVERT_METHOD_TEXT[input.method],
      "The revert is verified in Argo CD like any other change.",
    ].join("\n"),
  };
}

function shortImage(image: string): string {
  const slash = image.lastIndexOf("/");
  return image.slice(slash + 1);
}
