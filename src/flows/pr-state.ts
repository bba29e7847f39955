// Conveyor's PRs carry their state in a marker at the end of the body. Writers can edit a body,
// so the marker is signed over the repository, what moves and the head commit Conveyor pushed;
// only a marker that verifies is believed, and only while the PR's head is still that commit.
import { parseStateMarker, stateMarker, stateSigningText, type PrState } from "../core/markers.js";
import type { MarkerTrust } from "../core/conveyor-pr.js";
import type { Services } from "./services.js";

export type Move = Pick<PrState, "service" | "env" | "from" | "to" | "source" | "step">;

/** The signed marker for a PR whose head Conveyor just pushed. */
export function signedStateMarker(services: Services, repo: string, move: Move, head: string): string {
  const state: PrState = { ...move, head };
  return stateMarker({ ...state, sig: services.signer.sign(stateSigningText(repo, state)) });
}

/**
 * Whether a PR's marker is Conveyor's (it verifies) and its head is still the commit Conveyor
 * pushed. No marker, or one that does not verify (edited, or from before signing): untrusted.
 */
export function prTrust(services: Services, repo: string, pr: { body: string; headSha: string }): MarkerTrust {
  const signed = signedState(services, repo, pr.body);
  if (!signed) return { kind: "untrusted" };
  return signed.head === pr.headSha ? { kind: "trusted", state: signed } : { kind: "foreign-head", state: signed };
}

/** The PR state a body's marker holds, if Conveyor signed it (whatever the PR's head is now). */
export function signedState(services: Services, repo: string, body: string): (PrState & { head: string }) | undefined {
  const state = parseStateMarker(body);
  if (!state?.head || !services.signer.verify(stateSigningText(repo, state), state.sig)) return undefined;
  return state as PrState & { head: string };
}
