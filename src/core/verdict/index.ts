// Decides whether a merged manifests revision is running healthy in one Argo CD application.
// Pure: every fact (objects, git ancestry, clock, past observations) comes in through the input,
// and the answer is data the caller turns into Deployment statuses, comments and revert PRs.

export type {
  Evidence,
  FailureCode,
  Observation,
  ObserveInput,
  RolloutEvidence,
  Verdict,
  VerdictInput,
  WaitCode,
} from "./types.js";
export { rolloutHealth, type RolloutHealth } from "./rollout-health.js";
export { observe } from "./facts.js";
export { FLAP_TRANSITIONS } from "./timeline.js";
export { formatDuration } from "./wording.js";
export { verdictFor } from "./verdict-for.js";
export { focusOnResources, type FocusResource } from "./resource-health.js";
