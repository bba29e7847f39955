// The dashboard issue: one issue per manifests repository (label conveyor:dashboard) with the
// matrix, what waits, holds and freezes, and recent failures, in Markdown. Its checkboxes act,
// like Renovate's: each carries a hidden action marker, and a box someone ticks is read back here
// as the action to carry out (with the permissions of the equivalent slash command). The text
// has no clock in it, so an unchanged repository renders the same body and is not edited.
import { isValidName } from "../names.js";
import type { Dashboard } from "./matrix.js";
import type { Cell } from "./model.js";

export const DASHBOARD_LABEL = "conveyor:dashboard";
export const DASHBOARD_MARKER = "conveyor:dashboard";
export const DASHBOARD_TITLE = "Conveyor dashboard";

export type DashboardAction =
  | { kind: "promote"; service: string; env: string }
  | { kind: "unhold"; service: string; env: string }
  | { kind: "unfreeze"; env: string };

/** The slash command a box stands for: what it does, and who may do it, are that command's. */
export function commandFor(action: DashboardAction): string {
  return action.kind === "promote" ? `/promote ${action.env}` : "/unhold";
}

export function describeAction(action: DashboardAction): string {
  switch (action.kind) {
    case "promote":
      return `promote ${action.service} to ${action.env}`;
    case "unhold":
      return `lift the hold on ${action.service} in ${action.env}`;
    case "unfreeze":
      return `unfreeze ${action.env}`;
  }
}

const actionTag = (action: DashboardAction) =>
  `<!-- conveyor:action:${action.kind}:${action.kind === "unfreeze" ? action.env : `${action.service}:${action.env}`} -->`;

const ACTION_LINE =
  /^- \[( |x|X)\] .*<!-- conveyor:action:(promote|unhold|unfreeze):([a-z0-9._-]+)(?::([a-z0-9._-]+))? -->\s*$/;

function parseLine(line: string): { ticked: boolean; action: DashboardAction; key: string } | undefined {
  const m = ACTION_LINE.exec(line);
  if (!m) return undefined;
  const [, box, kind, first, second] = m as unknown as [string, string, DashboardAction["kind"], string, string?];
  let action: DashboardAction;
  if (kind === "unfreeze") {
    if (second !== undefined || !isValidName(first)) return undefined;
    action = { kind, env: first };
  } else {
    if (second === undefined || !isValidName(first) || !isValidName(second)) return undefined;
    action = { kind, service: first, env: second };
  }
  return { ticked: box !== " ", action, key: actionTag(action) };
}

/**
 * The boxes an edit ticked: ticked in the new body, and present but not ticked in the old one.
 * Lines someone wrote that are not Conveyor's action lines are ignored; each action once.
 */
export function tickedActions(before: string, after: string): DashboardAction[] {
  const unticked = new Set(
    before.split(/\r?\n/).flatMap((line) => {
      const parsed = parseLine(line);
      return parsed && !parsed.ticked ? [parsed.key] : [];
    }),
  );
  const seen = new Set<string>();
  const actions: DashboardAction[] = [];
  for (const line of after.split(/\r?\n/)) {
    const parsed = parseLine(line);
    if (!parsed?.ticked || !unticked.has(parsed.key) || seen.has(parsed.key)) continue;
    seen.add(parsed.key);
    actions.push(parsed.action);
  }
  return actions;
}

/** The body with this action's box unticked again (a refused tick). */
export function untick(body: string, action: DashboardAction): string {
  const key = actionTag(action);
  return body
    .split("\n")
    .map((line) => (line.includes(key) ? line.replace(/^- \[[xX]\] /, "- [ ] ") : line))
    .join("\n");
}

/** Everything a Markdown renderer or a line-based reader might take for a line break. */
const LINE_BREAKS = /[\r\n\u2028\u2029\u0085\v\f]+/g;

/** Text from GitHub or a person, safe inside a Markdown table cell or list item. */
function md(text: string): string {
  return text.replace(LINE_BREAKS, " ").replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`);
}
const code = (text: string) => `\`${text.replace(LINE_BREAKS, " ").replace(/`/g, "")}\``;

const words: Record<Cell["state"], string> = {
  verified: "✅ verified",
  verifying: "⏳ verifying",
  failed: "❌ failed",
  held: "✋ held",
  frozen: "🧊 frozen",
  none: "—",
};

export function dashboardIssueText(d: Dashboard, links: { web?: string } = {}): { title: string; body: string } {
  const pr = (n: number | null) => (n !== null ? ` [#${n}](${d.htmlUrl}/pull/${n})` : "");
  const issue = (n: number) => `[#${n}](${d.htmlUrl}/issues/${n})`;
  const since = (iso: string | null) => (iso ? ` since ${iso.slice(0, 16).replace("T", " ")} UTC` : "");
  const lines: string[] = [
    "This issue is kept current by Conveyor. Tick a box to act: it runs as you, with the permissions of the same slash command.",
    ...(links.web ? ["", `Charts and history: ${links.web}`] : []),
    "",
    "## Environments",
    "",
    `| Service | ${d.environments.map(md).join(" | ")} |`,
    `|---|${d.environments.map(() => "---").join("|")}|`,
    ...d.rows.map(
      (row, i) =>
        `| ${md(d.services[i] as string)} | ${row
          .map((c) =>
            c.state === "none"
              ? "—"
              : `${words[c.state]}${c.image ? ` ${code(c.image)}` : ""}${since(c.since)}${pr(c.pr)}${c.deployment !== null ? ` ([deployment](${d.htmlUrl}/deployments/${encodeURIComponent(c.env)}))` : ""}`,
          )
          .join(" | ")} |`,
    ),
    "",
    "## Promotions waiting",
    "",
  ];
  const waiting = [
    ...d.waiting.map((w) => `- ${md(w.service)} ${code(w.image)} to **${md(w.env)}** waits for a reviewer:${pr(w.pr)}`),
    ...d.candidates.map(
      (c) =>
        `- [ ] promote ${md(c.service)} ${code(c.image)} to **${md(c.env)}** (verified in ${md(c.from)}) ${actionTag({ kind: "promote", service: c.service, env: c.env })}`,
    ),
  ];
  lines.push(...(waiting.length ? waiting : ["Nothing is waiting."]), "", "## Holds and freezes", "");
  const holds = [
    ...d.freezes.map(
      (f) =>
        `- [ ] unfreeze **${md(f.env)}** (frozen${f.by ? ` by @${md(f.by)}` : ""}${f.reason ? `: ${md(f.reason)}` : ""}, ${issue(f.issue)}) ${actionTag({ kind: "unfreeze", env: f.env })}`,
    ),
    ...d.holds.map(
      (h) =>
        `- [ ] lift hold on ${md(h.service)} in **${md(h.env)}** (${[h.image ? code(h.image) : "", h.reason ? md(h.reason) : "", issue(h.issue)].filter(Boolean).join(", ")}) ${actionTag({ kind: "unhold", service: h.service, env: h.env })}`,
    ),
  ];
  lines.push(...(holds.length ? holds : ["No holds or freezes."]), "", "## Recent failures", "");
  const failures = d.failures.map(
    (f) =>
      `- ${f.at.slice(0, 16).replace("T", " ")} UTC: ${md(f.service)} ${code(f.image ?? "overlay change")} in **${md(f.env)}**: ${md(f.reason)}${pr(f.pr)}`,
  );
  lines.push(...(failures.length ? failures : ["No failures."]));
  return { title: DASHBOARD_TITLE, body: lines.join("\n") };
}
