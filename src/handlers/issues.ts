// issues.edited -> the dashboard issue's checkboxes. Only a person's edit of Conveyor's dashboard
// issue that ticks one of its action boxes costs an API call; Conveyor's own edits and every other
// issue are left alone. Each ticked box runs as the person who ticked it (the event's sender).
import type { Context } from "probot";
import { eventRepo } from "../adapters/github/event.js";
import { MAX_COMMANDS } from "../core/commands.js";
import { DASHBOARD_LABEL, DASHBOARD_MARKER, tickedActions } from "../core/dashboard/issue.js";
import { markerTag } from "../core/markers.js";
import type { DashboardData } from "../flows/dashboard/gather.js";
import { runDashboardActions, type DashboardIssue } from "../flows/dashboard/issue.js";
import { loadConfig } from "../flows/load-config.js";
import { repoScope } from "../flows/repo-scope.js";
import type { Services } from "../flows/services.js";

export async function handleIssueEdited(
  context: Context<"issues.edited">,
  services: Services,
  dashboard: { data: DashboardData; issue: DashboardIssue },
): Promise<void> {
  const { issue, sender, changes } = context.payload;
  if (sender.type === "Bot" || issue.state !== "open") return;
  const labels = issue.labels?.map((l) => (typeof l === "string" ? l : l.name)) ?? [];
  const body = issue.body ?? "";
  if (!labels.includes(DASHBOARD_LABEL) || !body.includes(markerTag(DASHBOARD_MARKER))) return;
  const before = changes.body?.from;
  if (typeof before !== "string") return;
  const actions = tickedActions(before, body).slice(0, MAX_COMMANDS);
  if (!actions.length) return;

  const repo = eventRepo(context);
  const config = await loadConfig(repo.gh, context.log);
  if (!config?.dashboard.issue) return;
  const where = {
    installationId: repo.installationId,
    ref: repo.gh.ref,
    cloneUrl: repo.cloneUrl,
    defaultBranch: repo.defaultBranch,
    htmlUrl: repo.htmlUrl,
  };
  const gathered = await dashboard.data.get(where, { fresh: true });
  if (!gathered.ok) return;
  await runDashboardActions(services, repoScope(services, { ...repo, log: context.log }), config, gathered, {
    issue: { number: issue.number, body, url: issue.html_url },
    user: sender.login,
    actions,
  });
  dashboard.issue.touch(where);
}
