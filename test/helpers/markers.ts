// PR bodies as Conveyor writes them: the state marker signed with the tests' key for a head
// commit, so mocked PRs read as Conveyor's own (and an unsigned or edited one as not).
import { Signer } from "../../src/adapters/signing.js";
import { stateMarker, stateSigningText, type PrState } from "../../src/core/markers.js";
import { TEST_MARKER_KEY } from "./probot.js";

export function signedMarker(
  move: Pick<PrState, "service" | "env" | "from" | "to" | "source">,
  head: string,
  repo = "acme/manifests",
): string {
  const state: PrState = { ...move, head };
  return stateMarker({ ...state, sig: new Signer(TEST_MARKER_KEY).sign(stateSigningText(repo, state)) });
}
