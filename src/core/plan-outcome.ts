// "A verdict is in: what now?" Decisions over plain data, like verdictFor: the verification, its
// verdict, the repository's config and which environments are frozen go in; the steps to take
// come out, in the order they must happen. The flow (flows/act-on-verdict.ts) carries them
// out and fills in what only GitHub can answer (the number of the PR it opened).
import { nextEnvironment, type Config } from "./config.js";
import { parseImageRef, type ImageRef } from "./image-ref.js";
import { holdIssueText, holdMarker } from "./markers.js";
import { REVERT_LABEL } from "./pr-text.js";
import type { Slot } from "./strategy.js";
import type { Verification } from "./verification.js";

export interface DeploymentStatusStep {
  state: "success" | "failure" | "inactive";
  description: string;
}

export type NextStep =
  /** Open (or update) the PR that takes the verified image to the next environment. */
  | { kind: "promote"; env: string; image: ImageRef; evidence: string }
  /** No promotion, and why: said in the verified comment. */
  | { kind: "note"; env: string; note: string }
  /** A blue-green release's idle slot is verified: PR 2 switches the Service to it (same env). */
  | { kind: "switch"; env: string; slot: Slot }
  /** A canary release's canary is verified: PR 2 gives stable its image (same env). */
  | { kind: "stable"; env: string; image: string };

export interface VerifiedPlan {
  kind: "verified";
  status: DeploymentStatusStep;
  /** Absent when this is the last environment, or the config could not be read. */
  next?: NextStep;
  /** Comment on the PR that made the change (when there was one). */
  commentOn?: number;
}

export type RevertStep = { kind: "revert"; reason: string } | { kind: "note"; note: string };

export interface FailedPlan {
  kind: "failed";
  status: DeploymentStatusStep;
  revert: RevertStep;
  /** Hold the image that failed, so it is not merged again automatically. */
  hold?: { marker: string; title: string; body: string };
  commentOn?: number;
}

export interface SupersededPlan {
  kind: "superseded";
  status: DeploymentStatusStep;
}

const idleSlot = (v: Verification) => v.slot?.kind === "idle";
const isRevert = (v: Verification) => v.pr?.labels.includes(REVERT_LABEL) ?? false;

export function planSuperseded(by: string): SupersededPlan {
  return { kind: "superseded", status: { state: "inactive", description: `Superseded by ${by.slice(0, 12)}` } };
}

/**
 * A failed rollout: revert it (when rollback.auto), hold its image, tell the PR. `config` is the
 * repository's config now; undefined when it cannot be read, and then nothing is proposed.
 */
export function planFailed(input: { v: Verification; config: Config | undefined; reason: string }): FailedPlan {
  const { v, config } = input;
  // A failed revert is not reverted: that would put back the image that failed first.
  const revert: RevertStep = idleSlot(v)
    ? {
        kind: "note",
        note: `The new image is on the idle slot (${v.slot?.slot}) only, which serves no traffic: nothing is switched to it and nothing needs reverting.`,
      }
    : isRevert(v)
      ? {
          kind: "note",
          note: "This was a revert, and Conveyor does not revert a revert: a person has to decide what runs here now.",
        }
      : !config
        ? { kind: "note", note: "No revert PR was opened: the config could not be read." }
        : config.rollback.auto
          ? { kind: "revert", reason: input.reason }
          : { kind: "note", note: "No revert PR was opened (rollback.auto is off)." };
  // A failed revert holds nothing: there is no newer image to wait for.
  const hold =
    v.to && !isRevert(v)
      ? {
          marker: holdMarker(v.service, v.env),
          ...holdIssueText({ service: v.service, env: v.env, reason: input.reason, image: v.to }),
        }
      : undefined;
  return {
    kind: "failed",
    status: { state: "failure", description: input.reason },
    revert,
    ...(hold ? { hold } : {}),
    ...(v.pr ? { commentOn: v.pr.number } : {}),
  };
}

/**
 * A verified rollout: promote its image to the next environment unless it was a revert, it has
 * no single image, or that environment is frozen (`frozen`: environment -> the freeze issue).
 */
export function planVerified(input: {
  v: Verification;
  config: Config | undefined;
  frozen: Record<string, number>;
}): VerifiedPlan {
  const { v, config } = input;
  const plan: VerifiedPlan = {
    kind: "verified",
    status: { state: "success", description: "Synced, healthy and stable" },
    ...(v.pr ? { commentOn: v.pr.number } : {}),
  };
  if (idleSlot(v) && v.slot) {
    plan.next = { kind: "switch", env: v.env, slot: v.slot.slot };
    return plan;
  }
  if (v.track?.kind === "canary" && v.to !== undefined && !isRevert(v)) {
    plan.next = { kind: "stable", env: v.env, image: v.to };
    return plan;
  }
  // The canary back to idle (a revert, a scale-down): what serves did not change, nothing follows.
  if (v.track?.kind === "idle") return plan;
  const next = config ? nextEnvironment(config, v.env) : undefined;
  if (next) plan.next = nextStep(v, next.name, input.frozen);
  return plan;
}

function nextStep(v: Verification, env: string, frozen: Record<string, number>): NextStep {
  if (isRevert(v)) return { kind: "note", env, note: "this was a revert, which is not promoted" };
  const image = v.to ? parseImageRef(v.to) : undefined;
  if (!image?.ok) return { kind: "note", env, note: "the verified overlay has no single image to promote" };
  const freeze = frozen[env];
  if (freeze !== undefined)
    return { kind: "note", env, note: `${env} is frozen (#${freeze}); no promotion until /unhold ${env}` };
  return {
    kind: "promote",
    env,
    image: image.value,
    evidence: `Verified in **${v.env}**: synced, healthy and stable (deployment ${v.deploymentId}${v.pr ? `, #${v.pr.number}` : ""}).`,
  };
}
