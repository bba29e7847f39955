// What a verdict still owes, kept in GitHub: before Conveyor acts on a verdict it writes it into
// the Deployment's in_progress status, and only the last step writes the final status. A crash or
// an outage in between leaves the Deployment in progress with its verdict on record, so the next
// leader acts on it instead of dropping it (or, worse, judging the change again after a revert).

export type Owed =
  | {
      kind: "verified";
      at?: string;
      synced?: string;
      healthy?: string;
      /**
       * The environment's E2E gates were dispatched at `since`: they are followed, never started
       * again (`runs`: run ids GitHub returned on dispatch, by gate index; this process only).
       */
      gates?: { since: string; runs?: Record<number, number> };
    }
  | { kind: "failed"; reason: string };

const VERIFIED = "Verdict: verified; acting on it";
const GATES = "Verdict: verified; E2E gates since ";
const FAILED = "Verdict: failed; acting on it: ";
/** GitHub keeps 140 characters of a Deployment status description. */
const MAX = 140;

export function owedDescription(owed: Owed): string {
  if (owed.kind === "verified") return owed.gates ? `${GATES}${owed.gates.since}` : VERIFIED;
  return `${FAILED}${owed.reason}`.slice(0, MAX);
}

/** The verdict an in_progress status records, or undefined while the change is still being watched. */
export function parseOwed(description: string | null | undefined): Owed | undefined {
  if (description === VERIFIED) return { kind: "verified" };
  if (description?.startsWith(GATES)) {
    const since = description.slice(GATES.length);
    // A time that does not parse is taken as long ago: the gates then time out, not wait forever.
    return { kind: "verified", gates: { since: Number.isNaN(Date.parse(since)) ? new Date(0).toISOString() : since } };
  }
  if (description?.startsWith(FAILED))
    return { kind: "failed", reason: description.slice(FAILED.length) || "(reason not recorded)" };
  return undefined;
}

/** The hidden mark of a verdict's PR comment, so a retried step never comments twice. */
export const verdictCommentMarker = (deploymentId: number) => `conveyor:verdict:${deploymentId}`;
