// The dashboard issue of each manifests repository: made on the first event, kept current after
// events and verdicts (at most one edit per interval, default 10 s, and none when nothing
// changed), never duplicated, and opened again when someone closes it while the config keeps
// `dashboard.issue: true`. Ticked boxes are carried out as the person who ticked them, through
// the same planning as their slash command; a refusal unticks the box and says why.
import { describeError } from "../../adapters/github/client.js";
import type { GitHubRepo } from "../../adapters/github/repo.js";
import { permissionRefusal, type Subject } from "../../core/command-plan.js";
import { commandReply, refusalText, type CommandResult } from "../../core/command-text.js";
import { parseCommands } from "../../core/commands.js";
import type { Config } from "../../core/config.js";
import {
  commandFor,
  dashboardIssueText,
  DASHBOARD_LABEL,
  DASHBOARD_MARKER,
  DASHBOARD_TITLE,
  describeAction,
  untick,
  type DashboardAction,
} from "../../core/dashboard/issue.js";
import { buildDashboard } from "../../core/dashboard/matrix.js";
import { markerTag } from "../../core/markers.js";
import type { CommandRun } from "../commands/execute.js";
import { carryOut, planWithFacts } from "../run-commands.js";
import type { RepoScope } from "../repo-scope.js";
import type { Log, Services } from "../services.js";
import type { DashboardData, DashboardRepo, Gathered } from "./gather.js";

export interface DashboardIssueOptions {
  /** Minimum time between two edits of one repository's issue (default 10 s). */
  intervalMs?: number;
  /** How long after the first event the issue is first written, so a burst is one edit (default 2 s). */
  settleMs?: number;
  /** Where the web dashboard is, for a link in the issue. */
  webUrl?: string;
}

export class DashboardIssue {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lastEdit = new Map<string, number>();
  private readonly pending = new Map<string, DashboardRepo>();
  /** The write under way per repository: the next waits for it (a slow create must not be made twice). */
  private readonly writing = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly data: DashboardData,
    private readonly log: Log,
    private readonly options: DashboardIssueOptions = {},
  ) {}

  /** Something happened in this repository: bring its issue up to date soon (debounced). */
  touch(repo: DashboardRepo): void {
    if (this.stopped) return;
    const key = `${repo.ref.owner}/${repo.ref.repo}`.toLowerCase();
    this.pending.set(key, repo);
    if (this.timers.has(key)) return;
    const interval = this.options.intervalMs ?? 10_000;
    const earliest = (this.lastEdit.get(key) ?? -Infinity) + interval;
    const delay = Math.max(this.options.settleMs ?? 2_000, earliest - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(key);
      const latest = this.pending.get(key) ?? repo;
      this.pending.delete(key);
      this.update(latest).catch((error: unknown) =>
        this.log.warn({ repo: key, err: describeError(error) }, "updating the dashboard issue failed"),
      );
    }, delay);
    timer.unref();
    this.timers.set(key, timer);
  }

  /**
   * Writes the issue now if it changed (2 calls when nothing changed, plus the gathering), after
   * any write of the same repository's issue still under way: GitHub answering slowly, or
   * failing and being retried, can make one take longer than the interval, and two at once
   * would both find no issue and both make one.
   */
  update(repo: DashboardRepo): Promise<void> {
    const key = `${repo.ref.owner}/${repo.ref.repo}`.toLowerCase();
    const previous = this.writing.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.write(key, repo));
    this.writing.set(key, next);
    const forget = () => {
      if (this.writing.get(key) === next) this.writing.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  private async write(key: string, repo: DashboardRepo): Promise<void> {
    const gathered = await this.data.get(repo, { fresh: true });
    if (!gathered.ok || !gathered.config.dashboard.issue) return;
    // A repository without services or Deployments (a service repository) gets no dashboard.
    if (!gathered.input.services.length && !gathered.input.deployments.length) return;
    const gh = await this.data.repoClient(repo);
    if (await writeIssue(gh, gathered, this.options.webUrl)) this.lastEdit.set(key, Date.now());
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/** Creates, reopens or edits the issue as needed; true when it wrote. */
async function writeIssue(
  gh: GitHubRepo,
  gathered: Extract<Gathered, { ok: true }>,
  webUrl?: string,
): Promise<boolean> {
  const text = dashboardIssueText(buildDashboard(gathered.input), {
    ...(webUrl ? { web: `${webUrl}/dashboard/${gh.fullName}` } : {}),
  });
  const body = `${text.body}\n\n${markerTag(DASHBOARD_MARKER)}`;
  const existing = await gh.issues.findAny(DASHBOARD_LABEL, DASHBOARD_MARKER);
  if (!existing) {
    await gh.issues.create({ title: text.title, body, label: DASHBOARD_LABEL });
    return true;
  }
  if (existing.open && existing.body === body && existing.title === text.title) return false;
  await gh.issues.edit(existing.number, { title: text.title, body, reopen: !existing.open });
  return true;
}

export interface TickInput {
  issue: { number: number; body: string; url: string };
  user: string;
  actions: DashboardAction[];
}

/**
 * Carries out ticked boxes as `user`: each is its slash command on the subject it names (a
 * verified image's change, a hold issue, a freeze issue), with that command's permission check.
 * One reply lists what happened; refused or failed boxes are unticked.
 */
export async function runDashboardActions(
  services: Services,
  scope: RepoScope,
  config: Config,
  gathered: Extract<Gathered, { ok: true }>,
  input: TickInput,
): Promise<void> {
  const { gh } = scope;
  const log = scope.log.child({ repo: gh.fullName, issue: input.issue.number, user: input.user });
  const permission = await gh.permissions.of(input.user);
  const denied = permissionRefusal({ login: input.user, permission });
  // As with comments, someone without write access is answered at most once an hour: their
  // ticks must not spend Conveyor's writes.
  if (denied && !services.answers.take(`${gh.fullName}#${input.user}#dashboard-refused`)) {
    log.info({ permission }, "not answering again within the hour");
    return;
  }
  const dashboard = buildDashboard(gathered.input);
  const results: CommandResult[] = [];
  const refused: DashboardAction[] = [];
  for (const action of input.actions) {
    const line = `${describeAction(action)} (${commandFor(action)})`;
    const subject = denied ? undefined : subjectFor(dashboard, action);
    if (denied || !subject || "reason" in subject) {
      refused.push(action);
      const text = denied
        ? refusalText(denied)
        : `Refused: ${subject && "reason" in subject ? subject.reason : "nothing to do"}.`;
      results.push({ line, ok: false, text });
      continue;
    }
    const commands = parseCommands(commandFor(action)).commands;
    const { plan, facts } = await planWithFacts(gh, config, { login: input.user, permission }, commands, subject);
    if (plan.kind === "refuse") {
      refused.push(action);
      results.push({ line, ok: false, text: refusalText(plan.refusal) });
      continue;
    }
    const run: CommandRun = {
      services,
      scope: { ...scope, log },
      config,
      user: input.user,
      facts,
      commentUrl: input.issue.url,
    };
    const done = await carryOut(run, plan.steps);
    if (!done.every((r) => r.ok)) refused.push(action);
    results.push(...done.map((r) => ({ ...r, line })));
  }
  if (refused.length) {
    const body = refused.reduce((text, action) => untick(text, action), input.issue.body);
    if (body !== input.issue.body) await gh.issues.edit(input.issue.number, { title: DASHBOARD_TITLE, body });
  }
  log.info({ actions: input.actions.length, refused: refused.length }, "dashboard boxes carried out");
  await gh.issues.comment(input.issue.number, commandReply(input.user, results));
}

/** What the box's command acts on, from the dashboard as it is now; a reason when nothing fits. */
function subjectFor(d: ReturnType<typeof buildDashboard>, action: DashboardAction): Subject | { reason: string } {
  if (action.kind === "promote") {
    const candidate = d.candidates.find((c) => c.service === action.service && c.env === action.env);
    if (!candidate)
      return { reason: `no image of ${action.service} is verified and waiting for ${action.env} any more` };
    return {
      kind: "pr",
      number: candidate.pr ?? 0,
      open: false,
      merged: true,
      conveyor: { service: candidate.service, env: candidate.from, kind: "deploy", to: candidate.image, from: null },
    };
  }
  if (action.kind === "unhold") {
    const hold = d.holds.find((h) => h.service === action.service && h.env === action.env);
    if (!hold) return { reason: `${action.service} is not held in ${action.env} any more` };
    return { kind: "hold-issue", number: hold.issue, service: hold.service, env: hold.env };
  }
  const freeze = d.freezes.find((f) => f.env === action.env);
  if (!freeze) return { reason: `${action.env} is not frozen any more` };
  return { kind: "freeze-issue", number: freeze.issue, env: freeze.env };
}
