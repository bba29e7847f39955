// Words Conveyor writes in answer to commands: the one reply per comment and the
// /status table (the freeze issue's text is core/markers.ts). Pure, so tests can pin them down.
import type { CommandError } from "./commands.js";
import type { DeploymentFact, Refusal } from "./command-plan.js";

export interface CommandResult {
  line: string;
  ok: boolean;
  text: string;
  /** Long output, shown collapsed. */
  details?: { summary: string; body: string };
}

const quoteLine = (line: string) => `> ${line.replace(/[\r\n]/g, " ")}`;

export function commandReply(user: string, results: CommandResult[]): string {
  const parts = [`@${user}`];
  for (const r of results) {
    parts.push("", quoteLine(r.line), "", `${r.ok ? "✅" : "❌"} ${r.text}`);
    if (r.details)
      parts.push("", "<details>", `<summary>${r.details.summary}</summary>`, "", r.details.body, "", "</details>");
  }
  return parts.join("\n");
}

export function refusalText(refusal: Refusal): string {
  return `Refused: ${refusal.reason}.${refusal.who ? ` Who may do it instead: ${refusal.who}.` : ""}`;
}

export function parseErrorReply(user: string, errors: CommandError[]): string {
  const parts = [`@${user}`, "", "Nothing was run: this comment has commands Conveyor cannot read."];
  for (const e of errors) {
    parts.push(
      "",
      quoteLine(e.line),
      "",
      `❌ ${e.message}.${e.suggestion ? ` Did you mean \`${e.suggestion}\`?` : ""}`,
    );
    if (e.usage) parts.push("", "Usage:", "```", e.usage, "```");
  }
  parts.push("", "Comment `/help` for all commands.");
  return parts.join("\n");
}

export interface StatusRow {
  service: string;
  env: string;
  latest?: DeploymentFact;
  verifying: boolean;
  frozen: boolean;
  held: boolean;
}

const HEALTH: Record<string, string> = {
  success: "verified",
  failure: "failed",
  error: "failed",
  in_progress: "verifying",
  inactive: "superseded",
  pending: "pending",
  queued: "pending",
};

export function statusTable(rows: StatusRow[], prUrl: (n: number) => string): string {
  const lines = ["| service | environment | image | health | last change | holds |", "|---|---|---|---|---|---|"];
  for (const row of rows) {
    const d = row.latest;
    const health = row.verifying ? "verifying" : d ? (HEALTH[d.state] ?? d.state) : "-";
    const change = d ? `${d.createdAt}${d.pr ? ` ([#${d.pr}](${prUrl(d.pr)}))` : ""}` : "-";
    const holds = [row.frozen ? "frozen" : "", row.held ? "held" : ""].filter(Boolean).join(", ") || "-";
    lines.push(`| ${row.service} | ${row.env} | ${d?.to ? `\`${d.to}\`` : "-"} | ${health} | ${change} | ${holds} |`);
  }
  return lines.join("\n");
}
