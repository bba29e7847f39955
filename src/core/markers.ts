// The text protocol Conveyor keeps in GitHub: hidden markers that let it find its own issues and
// read its own PRs back, and the texts of the issues that hold or freeze an environment. Whatever
// writes one of these and whatever parses it back live here, side by side, so they cannot drift.
import { hasSource, sourceFromRecord, sourceRecord, type DispatchSource } from "./source.js";

const NAME = "[a-z0-9._-]+";

/** A marker as it sits in an issue or PR body: an HTML comment, invisible when rendered. */
export function markerTag(marker: string): string {
  return `<!-- ${marker} -->`;
}

/**
 * Text from elsewhere (a person's reason, an Argo CD message) on one line that can neither start
 * a line of its own nor open an HTML comment: so it can never pass for one of the markers or
 * marker lines here, which are parsed back.
 */
function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029\u0085\v\f]+/g, " ").replace(/</g, "&lt;");
}

/** The last match in a body: Conveyor writes its markers at the end, after any quoted text. */
function lastMatch(pattern: RegExp, body: string): RegExpExecArray | undefined {
  const global = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`);
  let last: RegExpExecArray | undefined;
  for (let m = global.exec(body); m; m = global.exec(body)) last = m;
  return last;
}

// --- PR state: what a Conveyor PR moves, so it can be read back after a restart -------------------
// A PR body is text any writer can edit, so the marker carries the head commit Conveyor pushed and
// a signature over both (made by the flow that writes it: core does no cryptography). A marker
// that does not verify, or a head that moved, means the PR is no longer only Conveyor's.

export const PR_STEPS = ["idle", "switch", "canary", "stable"] as const;
export type PrStep = (typeof PR_STEPS)[number];

export interface PrState {
  service: string;
  env: string;
  from: string | null;
  to: string;
  /** Where the image `to` came from, when known: carried on to its Deployment and promotions. */
  source?: DispatchSource;
  /**
   * A strategy PR's step. Blue-green: "idle" puts the image on the idle slot, "switch" switches
   * the Service (also back, for a rollback). Canary: "canary" starts the canary with the image,
   * "stable" gives it to the stable Deployment (a canary's revert is "canary" too).
   */
  step?: PrStep;
  /** The commit Conveyor pushed as the PR's head. */
  head?: string;
  /** Signature of `stateSigningText` for this state. */
  sig?: string;
}

/** The exact text a PR state's signature covers: the repository, what moves, and the head. */
export function stateSigningText(repo: string, state: PrState): string {
  const lines = ["conveyor-pr-state/v1", repo, state.service, state.env, state.from ?? "", state.to, state.head ?? ""];
  // Only when there is one, so markers signed before sources were kept still verify.
  if (hasSource(state.source)) lines.push(`source ${JSON.stringify(sourceRecord(state.source))}`);
  // Signed only when present, so markers written before steps existed still verify.
  if (state.step !== undefined) lines.push(`step:${state.step}`);
  return lines.join("\n");
}

export function stateMarker(state: {
  service: string;
  env: string;
  from: string | null | undefined;
  to: string;
  source?: DispatchSource;
  step?: PrState["step"];
  head?: string;
  sig?: string;
}): string {
  const value: Record<string, unknown> = {
    service: state.service,
    env: state.env,
    from: state.from ?? null,
    to: state.to,
  };
  if (hasSource(state.source)) value.source = sourceRecord(state.source);
  if (state.step !== undefined) value.step = state.step;
  if (state.head !== undefined) value.head = state.head;
  if (state.sig !== undefined) value.sig = state.sig;
  return markerTag(`conveyor:${JSON.stringify(value)}`);
}

export function parseStateMarker(body: string | null | undefined): PrState | undefined {
  // The last one: Conveyor appends its marker, after any text that came from elsewhere.
  const match = lastMatch(/<!-- conveyor:(\{[^\n]*?\}) -->/, body ?? "");
  if (!match) return undefined;
  try {
    const value = JSON.parse(match[1] as string) as Record<string, unknown>;
    if (typeof value.service === "string" && typeof value.env === "string" && typeof value.to === "string") {
      const source = sourceFromRecord(value.source);
      return {
        service: value.service,
        env: value.env,
        from: typeof value.from === "string" ? value.from : null,
        to: value.to,
        ...(source ? { source } : {}),
        ...(PR_STEPS.includes(value.step as PrStep) ? { step: value.step as PrStep } : {}),
        ...(typeof value.head === "string" ? { head: value.head } : {}),
        ...(typeof value.sig === "string" ? { sig: value.sig } : {}),
      };
    }
  } catch {
    // A hand-edited marker is treated as absent.
  }
  return undefined;
}

/** Replaces (or adds) the state marker at the end of a PR body. */
export function withStateMarker(body: string, marker: string): string {
  const bare = body.replace(/\n*<!-- conveyor:\{.*?\} -->\s*$/s, "");
  return `${bare}\n\n${marker}`;
}

// --- Freezes: `/hold <env>` stops automatic merges and promotions into an environment ------------

export const freezeMarker = (env: string) => `conveyor:freeze:${env}`;

const FREEZE = new RegExp(`<!-- conveyor:freeze:(${NAME}) -->`);

/** The environment a freeze issue freezes, or undefined for any other text. */
export function parseFreezeIssue(body: string | null | undefined): string | undefined {
  return lastMatch(FREEZE, body ?? "")?.[1];
}

export function freezeIssueText(input: {
  env: string;
  user: string;
  at: string;
  reason?: string;
  commentUrl: string;
}): { title: string; body: string } {
  return {
    title: `Conveyor: ${input.env} is frozen`,
    body: [
      `**${input.env}** is frozen: Conveyor merges nothing into it automatically and promotes nothing into it, for every service.`,
      "",
      `- Frozen by: @${input.user}`,
      `- When: ${input.at}`,
      `- Why: ${input.reason ? `\`${oneLine(input.reason).replace(/`/g, "'")}\`` : "no reason given"} ([comment](${input.commentUrl}))`,
      "",
      `Comment \`/unhold\` here (or \`/unhold ${input.env}\` on any pull request) to unfreeze it.`,
    ].join("\n"),
  };
}

// --- Holds: a failed rollout holds its image in (service, environment) ---------------------------

export const holdMarker = (service: string, env: string) => `conveyor:hold:${service}:${env}`;

const HOLD = new RegExp(`<!-- conveyor:hold:(${NAME}):(${NAME}) -->`);
const HELD_IMAGE = /^held image: `([^`\n]+)`$/m;

export interface Hold {
  service: string;
  env: string;
  /** The image that failed; undefined when the issue no longer names one. */
  image?: string;
}

export function holdIssueText(input: { service: string; env: string; reason: string; image: string }): {
  title: string;
  body: string;
} {
  return {
    title: `Conveyor: ${input.service} is held in ${input.env}`,
    body: [
      `The rollout of ${input.service} in **${input.env}** failed: ${oneLine(input.reason)}`,
      "",
      `held image: \`${input.image}\``,
      "",
      `Nothing is merged automatically for ${input.service} in ${input.env} with this image until a newer image arrives or someone comments \`/unhold\` here.`,
    ].join("\n"),
  };
}

/** What a hold issue holds, or undefined for any other text. */
export function parseHoldIssue(body: string | null | undefined): Hold | undefined {
  const match = lastMatch(HOLD, body ?? "");
  if (!match) return undefined;
  const image = lastMatch(HELD_IMAGE, body ?? "")?.[1];
  return { service: match[1] as string, env: match[2] as string, ...(image !== undefined ? { image } : {}) };
}

// --- Read back for the dashboard: who froze an environment and why, why a rollout is held --------

/** Who froze the environment and why, as the freeze issue says (a person may have edited it). */
export function parseFreezeDetails(body: string | null | undefined): { by?: string; reason?: string } {
  const text = body ?? "";
  const by = /^- Frozen by: @([A-Za-z0-9-]{1,39})$/m.exec(text)?.[1];
  const reason = /^- Why: `([^`\n]{1,500})`/m.exec(text)?.[1];
  return { ...(by ? { by } : {}), ...(reason ? { reason } : {}) };
}

/** Why a hold issue's rollout failed, as its first line says. */
export function parseHoldReason(body: string | null | undefined): string | undefined {
  return /^The rollout of [^\n]+? failed: ([^\n]{1,500})$/m.exec(body ?? "")?.[1];
}
