// `/hold`: keep one PR from merging, or (`/hold <env>`) freeze an environment with an issue.
import { freezeIssueText, freezeMarker } from "../../core/markers.js";
import { FREEZE_LABEL, HOLD_LABEL } from "../../core/pr-text.js";
import type { CommandOutcome, CommandRun } from "./execute.js";

export async function hold(run: CommandRun, pr: number): Promise<CommandOutcome> {
  await run.scope.gh.issues.addLabels(pr, [HOLD_LABEL]);
  return {
    ok: true,
    text: `On hold: Conveyor will not merge this pull request (label \`${HOLD_LABEL}\`). \`/unhold\` resumes it.`,
  };
}

export async function freeze(run: CommandRun, env: string, reason: string | undefined): Promise<CommandOutcome> {
  const text = freezeIssueText({
    env,
    user: run.user,
    at: new Date().toISOString(),
    reason,
    commentUrl: run.commentUrl,
  });
  const issue = await run.scope.gh.issues.upsert({ label: FREEZE_LABEL, marker: freezeMarker(env), ...text });
  return {
    ok: true,
    text: `**${env}** is frozen ([#${issue.number}](${run.scope.htmlUrl}/issues/${issue.number})): no automatic merges or promotions into it until \`/unhold ${env}\`.`,
  };
}
