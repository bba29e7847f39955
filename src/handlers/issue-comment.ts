// issue_comment.created -> slash commands. Filters what cannot be a command for free (bots, issues
// that are not Conveyor's, comments without a command line) before any API call; the rest is the
// run-commands flow.
import type { Context } from "probot";
import { eventRepo } from "../adapters/github/event.js";
import { parseCommands } from "../core/commands.js";
import { parseFreezeIssue, parseHoldIssue } from "../core/markers.js";
import { FREEZE_LABEL, HOLD_LABEL } from "../core/pr-text.js";
import { loadConfig } from "../flows/load-config.js";
import { repoScope } from "../flows/repo-scope.js";
import { runCommands, type CommentTarget } from "../flows/run-commands.js";
import type { Services } from "../flows/services.js";

export async function handleIssueComment(context: Context<"issue_comment.created">, services: Services): Promise<void> {
  const { comment, issue, sender } = context.payload;
  if (comment.user?.type === "Bot" || sender.type === "Bot" || comment.performed_via_github_app) return;
  const target = targetOf(issue);
  if (!target) return;

  const body = comment.body ?? "";
  // Parsing is free: a comment without commands costs no API call at all.
  const loose = parseCommands(body);
  if (loose.commands.length === 0 && loose.errors.length === 0) return;

  const repo = eventRepo(context);
  const config = await loadConfig(repo.gh, context.log);
  if (!config) return;
  const parsed = config.commands.requireNamespace ? parseCommands(body, { requireNamespace: true }) : loose;
  if (parsed.commands.length === 0 && parsed.errors.length === 0) return;
  await runCommands(services, repoScope(services, { ...repo, log: context.log }), config, {
    target,
    parsed,
    user: comment.user?.login ?? sender.login,
    commentId: comment.id,
    commentUrl: comment.html_url,
  });
}

type Issue = Context<"issue_comment.created">["payload"]["issue"];

/** A PR, or one of Conveyor's freeze or hold issues; undefined for any other issue. */
function targetOf(issue: Issue): CommentTarget | undefined {
  const labels = issue.labels.map((l) => (typeof l === "string" ? l : (l.name ?? "")));
  if (issue.pull_request) {
    return {
      kind: "pr",
      number: issue.number,
      open: issue.state === "open",
      merged: Boolean(issue.pull_request.merged_at),
      author: issue.user?.login,
      labels,
      body: issue.body ?? "",
    };
  }
  const freezeEnv = labels.includes(FREEZE_LABEL) ? parseFreezeIssue(issue.body) : undefined;
  if (freezeEnv) return { kind: "freeze-issue", number: issue.number, env: freezeEnv };
  const hold = labels.includes(HOLD_LABEL) ? parseHoldIssue(issue.body) : undefined;
  if (hold) return { kind: "hold-issue", number: issue.number, service: hold.service, env: hold.env };
  return undefined;
}
