// The service repository's view of a deploy: a GitHub Deployment per environment on the source
// commit (so its Environments panel and the commit say "staging: active") whose statuses follow
// what happens in the manifests repository, and the `conveyor/environments` check run that lists
// every environment. What each step shows is decided here; flows/report-to-source.ts writes it.

export const ENVIRONMENTS_CHECK = "conveyor/environments";

/** Where a source commit's image stands in one environment. */
export type Stage = "queued" | "pr-open" | "merged" | "verifying" | "verified" | "failed" | "reverted" | "superseded";

export type SourceDeploymentState = "queued" | "pending" | "in_progress" | "success" | "failure" | "inactive";

/** The Deployment status a stage shows in the service repository. */
export function stageStatus(
  stage: Stage,
  input: { env: string; image: string; pr?: number; manifests: string; reason?: string },
): { state: SourceDeploymentState; description: string } {
  const pr = input.pr !== undefined ? ` ${input.manifests}#${input.pr}` : "";
  const why = input.reason ? `: ${input.reason}` : "";
  switch (stage) {
    case "queued":
      return { state: "queued", description: `Queued for ${input.env}` };
    case "pr-open":
      return { state: "pending", description: `PR open${pr}` };
    case "merged":
      return { state: "in_progress", description: `Merged${pr}` };
    case "verifying":
      return { state: "in_progress", description: `Verifying in ${input.env}${pr}` };
    case "verified":
      return { state: "success", description: `Verified in ${input.env}: synced, healthy and stable` };
    case "failed":
      return { state: "failure", description: `Failed in ${input.env}${why}` };
    case "reverted":
      return { state: "failure", description: `Reverted in ${input.env}${why}` };
    case "superseded":
      return { state: "inactive", description: `Superseded${why}` };
  }
}

export interface EnvironmentRow {
  env: string;
  state: string;
  description: string;
  /** The manifests PR (log_url of the latest status). */
  logUrl?: string;
  since: string;
}

/**
 * The `conveyor/environments` check run: one row per environment in promotion order. In progress
 * while any environment is; then failed if any failed, succeeded once the last one is verified,
 * else neutral (waiting for a promotion nobody has asked for yet).
 */
export function environmentsCheck(
  rows: EnvironmentRow[],
  order: string[],
): { title: string; summary: string; conclusion?: "success" | "failure" | "neutral" } {
  const rank = (env: string) => {
    const i = order.indexOf(env);
    return i === -1 ? order.length : i;
  };
  const sorted = [...rows].sort((a, b) => rank(a.env) - rank(b.env) || a.env.localeCompare(b.env));
  const label: Record<string, string> = {
    queued: "⏳ queued",
    pending: "🟡 PR open",
    in_progress: "🔄 in progress",
    success: "✅ active",
    failure: "❌ failed",
    error: "❌ error",
    inactive: "⚪ superseded",
  };
  const table = [
    "| environment | state | PR | since |",
    "|---|---|---|---|",
    ...sorted.map(
      (r) =>
        `| ${r.env} | ${label[r.state] ?? r.state} — ${r.description.replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ")} | ${r.logUrl && /^https?:\/\/[^\s()<>]+$/.test(r.logUrl) ? `[PR](${r.logUrl})` : "—"} | ${r.since} |`,
    ),
  ];
  const busy = rows.some((r) => ["queued", "pending", "in_progress"].includes(r.state));
  const failed = rows.some((r) => r.state === "failure" || r.state === "error");
  const last = order[order.length - 1];
  const done = rows.some((r) => r.env === last && r.state === "success");
  const conclusion = busy ? undefined : failed ? "failure" : done ? "success" : "neutral";
  const active = sorted.filter((r) => r.state === "success").map((r) => r.env);
  const title = active.length ? `Active in ${active.join(", ")}` : busy ? "On its way" : "Not active anywhere";
  return { title, summary: table.join("\n"), ...(conclusion ? { conclusion } : {}) };
}
