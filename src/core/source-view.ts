// The service repository's view of a deploy: a GitHub Deployment per environment on the source
// commit (so its Environments panel and the commit say "staging: active") whose statuses follow
// what happens in the manifests repository, and the `conveyor/environments` check run that lists
// every environment. What each step shows is decided here; flows/report-to-source.ts writes it.

export const ENVIRONMENTS_CHECK = "conveyor/environments";

/** Where a source commit's image stands in one environment. */
export type Stage = "queued" | "pr-open" | "merged" | "verifying" | "verified" | "failed" | "reverted" | "superseded";

export type SourceDeploymentState = "queued" | "pending" | "in_progress" | "success" | "failure" | "inactive";

/**
 * The Deployment status a stage shows in the service repository. `pr` is the manifests PR the
 * stage is about (for `reverted`, the revert PR); `reason` says why (a freeze, a failure, what
 * superseded it).
 */
export function stageStatus(
  stage: Stage,
  input: { env: string; image: string; pr?: number; manifests: string; reason?: string },
): { state: SourceDeploymentState; description: string } {
  const pr = input.pr !== undefined ? ` ${input.manifests}#${input.pr}` : "";
  const why = input.reason ? `: ${input.reason}` : "";
  switch (stage) {
    case "queued":
      return { state: "queued", description: `Queued for ${input.env}${why}` };
    case "pr-open":
      return { state: "pending", description: `PR open${pr}` };
    case "merged":
      return { state: "in_progress", description: `Merged in${pr || " the manifests repository"}; verifying next` };
    case "verifying":
      return { state: "in_progress", description: `Verifying in ${input.env}${pr}` };
    case "verified":
      return { state: "success", description: `Verified in ${input.env}: synced, healthy and stable` };
    case "failed":
      return { state: "failure", description: `Failed in ${input.env}${why}` };
    case "reverted":
      return { state: "failure", description: `Failed in ${input.env}; reverted by${pr}${why}` };
    case "superseded":
      return { state: "inactive", description: `Superseded${why}` };
  }
}

/** The stage a written status shows, read back from its state and description; undefined: not Conveyor's. */
export function stageOf(state: string, description: string): Stage | undefined {
  switch (state) {
    case "queued":
      return "queued";
    case "pending":
      return "pr-open";
    case "in_progress":
      return description.startsWith("Merged") ? "merged" : "verifying";
    case "success":
      return "verified";
    case "failure":
      return description.includes("; reverted by") ? "reverted" : "failed";
    case "inactive":
      return "superseded";
    default:
      return undefined;
  }
}

const RANK: Record<Stage, number> = {
  queued: 0,
  "pr-open": 1,
  merged: 2,
  verifying: 3,
  verified: 4,
  failed: 4,
  reverted: 5,
  superseded: 6,
};

/**
 * Should a stage be written over the Deployment's latest status? Each stage is written once:
 * a retried, replayed or resumed step that finds its stage (or a later one) already there writes
 * nothing. Stages move forward through one attempt (queued, PR open, merged, verifying, verified or
 * failed, reverted); going back is a new attempt only when it says so: another manifests PR, a
 * retried verification, or the commit queued again after it failed or was superseded. Superseded
 * replaces only a commit still on its way or active, never a failure's record.
 */
export function shouldWrite(
  latest: { stage: Stage; logUrl?: string } | undefined,
  next: { stage: Stage; logUrl?: string; retry?: boolean },
): boolean {
  if (!latest) return true;
  const samePr = (latest.logUrl ?? "") === (next.logUrl ?? "");
  if (next.stage === latest.stage) return !samePr && next.stage !== "superseded" && next.stage !== "queued";
  if (next.stage === "superseded") return latest.stage !== "failed" && latest.stage !== "reverted";
  if (RANK[next.stage] > RANK[latest.stage]) return true;
  if (next.stage === "queued") return ["failed", "reverted", "superseded"].includes(latest.stage);
  if (next.retry && next.stage === "verifying") return latest.stage === "failed" || latest.stage === "reverted";
  return !samePr && next.logUrl !== undefined && latest.stage !== "verified";
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
  const label: Record<Stage, string> = {
    queued: "⏳ queued",
    "pr-open": "🟡 PR open",
    merged: "🔀 merged",
    verifying: "🔄 verifying",
    verified: "✅ active",
    failed: "❌ failed",
    reverted: "↩️ reverted",
    superseded: "⚪ superseded",
  };
  const labelOf = (r: EnvironmentRow) => {
    const stage = stageOf(r.state, r.description);
    return stage ? label[stage] : r.state === "error" ? "❌ error" : r.state;
  };
  const table = [
    "| environment | state | PR | since |",
    "|---|---|---|---|",
    ...sorted.map(
      (r) =>
        `| ${r.env} | ${labelOf(r)} — ${r.description.replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ")} | ${r.logUrl && /^https?:\/\/[^\s()<>]+$/.test(r.logUrl) ? `[PR](${r.logUrl})` : "—"} | ${r.since} |`,
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
