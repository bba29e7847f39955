// The text protocol Conveyor keeps in GitHub: hidden markers that let it find its own issues and
// read its own PRs back, and the texts of the issues that hold or freeze an environment. Whatever
// writes one of these and whatever parses it back live here, side by side, so they cannot drift.
const NAME = "[a-z0-9._-]+";

/** A marker as it sits in an issue or PR body: an HTML comment, invisible when rendered. */
export function markerTag(marker: string): string {
  return `<!-- ${marker} -->`;
}

// --- PR state: what a Conveyor PR moves, so it can be read back after a restart -------------------

export interface PrState {
  service: string;
  env: string;
  from: string | null;
  to: string;
}

export function stateMarker(move: {
  service: string;
  env: string;
  from: string | null | undefined;
  to: string;
}): string {
  return markerTag(
    `conveyor:${JSON.stringify({ service: move.service, env: move.env, from: move.from ?? null, to: move.to })}`,
  );
}

export function parseStateMarker(body: string | null | undefined): PrState | undefined {
  const match = /<!-- conveyor:(\{.*?\}) -->/.exec(body ?? "");
  if (!match) return undefined;
  try {
    const value = JSON.parse(match[1] as string) as Record<string, unknown>;
    if (typeof value.service === "string" && typeof value.env === "string" && typeof value.to === "string") {
      return {
        service: value.service,
        env: value.env,
        from: typeof value.from === "string" ? value.from : null,
        to: value.to,
      };
    }
  } catch {
    // A hand-edited marker is treated as absent.
  }
  return undefined;
}

// --- Freezes: `/hold <env>` stops automatic merges and promotions into an environment ------------

export const freezeMarker = (env: string) => `conveyor:freeze:${env}`;

const FREEZE = new RegExp(`<!-- conveyor:freeze:(${NAME}) -->`);

/** The environment a freeze issue freezes, or undefined for any other text. */
export function parseFreezeIssue(body: string | null | undefined): string | undefined {
  return FREEZE.exec(body ?? "")?.[1];
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
      `- Why: ${input.reason ? input.reason.replace(/[\r\n]/g, " ") : "no reason given"} ([comment](${input.commentUrl}))`,
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
      `The rollout of ${input.service} in **${input.env}** failed: ${input.reason.replace(/[\r\n]+/g, " ")}`,
      "",
      `held image: \`${input.image}\``,
      "",
      `Nothing is merged automatically for ${input.service} in ${input.env} with this image until a newer image arrives or someone comments \`/unhold\` here.`,
    ].join("\n"),
  };
}

/** What a hold issue holds, or undefined for any other text. */
export function parseHoldIssue(body: string | null | undefined): Hold | undefined {
  const match = HOLD.exec(body ?? "");
  if (!match) return undefined;
  const image = HELD_IMAGE.exec(body ?? "")?.[1];
  return { service: match[1] as string, env: match[2] as string, ...(image !== undefined ? { image } : {}) };
}
