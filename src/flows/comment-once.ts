// A verdict's comment on a PR, made once: a retried step finds its own comment and says nothing twice.
import { markerTag } from "../core/markers.js";
import { verdictCommentMarker } from "../core/owed.js";
import type { RepoScope } from "./repo-scope.js";

export async function commentOnce(scope: RepoScope, pr: number, deploymentId: number, body: string): Promise<void> {
  const marker = verdictCommentMarker(deploymentId);
  if (await scope.gh.issues.hasComment(pr, marker)) return;
  await scope.gh.issues.comment(pr, `${body}\n\n${markerTag(marker)}`);
}
