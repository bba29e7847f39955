// issue_comment.created -> slash commands. This file filters, authorizes and executes: what the
// comment says is core/commands.ts, what may run and what it does is core/command-plan.ts.
import type { Context, Probot } from "probot";
import { findEnvironment, applicationName, type Config } from "../core/config.js";
import { parseCommands, helpText, type Command } from "../core/commands.js";
import { approverCheck, historyKey, planCommands, requirements, type Action, type DeploymentFact, type Facts, type Subject } from "../core/command-plan.js";
import { commandReply, freezeIssueText, parseErrorReply, refusalText, statusTable, type CommandResult, type StatusRow } from "../core/command-text.js";
import { parseImageRef } from "../core/image-ref.js";
import { FREEZE_LABEL, HOLD_LABEL, LABEL, REVERT_LABEL, branchFor, parseBranch, parseStateMarker } from "../core/pr-text.js";
import { discoverServices } from "../core/discover.js";
import { deploymentHistory, Deployments, describeError, installationToken, isTeamMember, ManifestsRepo, type Octokit, reactToComment, removeLabel, type RepoRef, userPermission } from "../adapters/github.js";
import { freezeMarker, holdMarker, tryAutoMerge } from "./auto-merge.js";
import { loadConfig } from "./load-config.js";
import { proposeDeploy } from "./propose-deploy.js";
import { proposeRevert } from "./propose-revert.js";
import type { AppServices } from "./services.js";
import { runRenderCheck } from "./render-check.js";

type CommentContext = Context<"issue_comment.created">;

export function registerCommands(app: Probot, services: AppServices): void {
  app.on("issue_comment.created", (context) => handleComment(context, app, services));
}

export async function handleComment(context: CommentContext, _app: Probot, services: AppServices): Promise<void> {
  const { comment, issue, sender } = context.payload;
  if (comment.user?.type === "Bot" || sender.type === "Bot" || comment.performed_via_github_app) return;
  const labels = issue.labels.map((l) => (typeof l === "string" ? l : (l.name ?? "")));
  const freezeEnv = !issue.pull_request && labels.includes(FREEZE_LABEL) ? /<!-- conveyor:freeze:([a-z0-9._-]+) -->/.exec(issue.body ?? "")?.[1] : undefined;
  const held = !issue.pull_request && labels.includes(HOLD_LABEL) ? /<!-- conveyor:hold:([a-z0-9._-]+):([a-z0-9._-]+) -->/.exec(issue.body ?? "") : null;
  const hold = held ? { service: held[1] as string, env: held[2] as string } : undefined;
  if (!issue.pull_request && !freezeEnv && !hold) return;

  const body = comment.body ?? "";
  // Parsing is free: a comment without commands costs no API call at all.
  const loose = parseCommands(body);
  if (loose.commands.length === 0 && loose.errors.length === 0) return;

  const ref = context.repo();
  const repo = new ManifestsRepo(context.octokit, ref);
  const config = await loadConfig(context, repo);
  if (!config) return;
  const parsed = config.commands.requireNamespace ? parseCommands(body, { requireNamespace: true }) : loose;
  if (parsed.commands.length === 0 && parsed.errors.length === 0) return;
  const user = comment.user?.login ?? sender.login;
  const log = context.log.child({ repo: repo.fullName, issue: issue.number, user });

  if (parsed.errors.length) {
    await reactToComment(context.octokit, ref, comment.id, "confused");
    await repo.comment(issue.number, parseErrorReply(user, parsed.errors));
    return;
  }

  const permission = await userPermission(context.octokit, ref, user);
  const subject = await subjectOf(context, freezeEnv, hold);
  const needs = requirements(parsed.commands, subject, config);
  const facts: Facts = { histories: {}, frozen: [], approver: {} };
  if (permission === "admin" || permission === "maintain" || permission === "write") {
    for (const env of needs.approverEnvs) facts.approver[env] = await isApprover(context.octokit, config, env, user);
    for (const { service, env } of needs.histories) facts.histories[historyKey(service, env)] = await deploymentHistory(context.octokit, ref, { service, env });
    if (needs.freezes) facts.frozen = await frozenEnvironments(context.octokit, ref);
  }
  const plan = planCommands({ commands: parsed.commands, subject, config, commenter: { login: user, permission }, facts });
  if (plan.kind === "refuse") {
    log.info({ reason: plan.refusal.reason }, "commands refused");
    await reactToComment(context.octokit, ref, comment.id, "confused");
    await repo.comment(issue.number, commandReply(user, parsed.commands.map((c) => ({ line: c.line, ok: false, text: `${refusalText(plan.refusal)} None of this comment's commands ran.` }))));
    return;
  }

  await reactToComment(context.octokit, ref, comment.id, "eyes");
  const run = new Execution(context, services, repo, config, user, facts);
  const results: CommandResult[] = [];
  for (const step of plan.steps) {
    if ("refusal" in step) {
      results.push({ line: step.command.line, ok: false, text: refusalText(step.refusal) });
      continue;
    }
    try {
      results.push({ line: step.command.line, ...(await run.execute(step.action, step.command)) });
    } catch (error) {
      log.error({ err: describeError(error), verb: step.command.verb }, "command failed");
      results.push({ line: step.command.line, ok: false, text: `Failed: ${describeError(error)}` });
    }
  }
  const ok = results.every((r) => r.ok);
  await reactToComment(context.octokit, ref, comment.id, ok ? "rocket" : "confused");
  await repo.comment(issue.number, commandReply(user, results));
}

async function subjectOf(context: CommentContext, freezeEnv: string | undefined, hold: { service: string; env: string } | undefined): Promise<Subject> {
  const { issue } = context.payload;
  if (freezeEnv) return { kind: "freeze-issue", number: issue.number, env: freezeEnv };
  if (hold) return { kind: "hold-issue", number: issue.number, ...hold };
  const merged = Boolean(issue.pull_request?.merged_at);
  const subject: Subject = { kind: "pr", number: issue.number, open: issue.state === "open", merged };
  const labels = issue.labels.map((l) => (typeof l === "string" ? l : (l.name ?? "")));
  const marker = parseStateMarker(issue.body);
  if (issue.user?.type === "Bot" && labels.includes(LABEL) && marker) {
    subject.conveyor = { service: marker.service, env: marker.env, kind: labels.includes(REVERT_LABEL) ? "revert" : "deploy", to: marker.to, from: marker.from };
  } else if (merged) {
    // A person's merged change: the Deployment Conveyor recorded for it says what it changed.
    const [d] = await deploymentHistory(context.octokit, context.repo(), { pr: issue.number }, { statusLimit: 1 });
    if (d?.to) subject.conveyor = { service: d.service, env: d.env, kind: labels.includes(REVERT_LABEL) ? "revert" : "deploy", to: d.to, from: d.from };
  }
  return subject;
}

async function isApprover(octokit: Octokit, config: Config, env: string, login: string): Promise<boolean> {
  const { direct, teams } = approverCheck(login, findEnvironment(config, env)?.approvers ?? []);
  if (direct) return true;
  for (const t of teams) if (await isTeamMember(octokit, t.org, t.team, login)) return true;
  return false;
}

async function frozenEnvironments(octokit: Octokit, ref: RepoRef): Promise<string[]> {
  const { data } = await octokit.rest.issues.listForRepo({ ...ref, state: "open", labels: FREEZE_LABEL, per_page: 100 });
  return data.flatMap((i) => [.../<!-- conveyor:freeze:([a-z0-9._-]+) -->/.exec(i.body ?? "")?.slice(1) ?? []]);
}

type Outcome = Omit<CommandResult, "line">;

/** Carries out planned actions with the pieces the other flows use. */
class Execution {
  private readonly ref: RepoRef;
  private readonly octokit: Octokit;
  private readonly defaultBranch: string;
  constructor(
    private readonly context: CommentContext,
    private readonly services: AppServices,
    private readonly repo: ManifestsRepo,
    private readonly config: Config,
    private readonly user: string,
    private readonly facts: Facts,
  ) {
    this.ref = context.repo();
    this.octokit = context.octokit;
    this.defaultBranch = context.payload.repository.default_branch ?? "main";
  }

  private prLink(n: number): string {
    return `[#${n}](${this.context.payload.repository.html_url}/pull/${n})`;
  }

  private workspace() {
    const cloneUrl = (this.context.payload.repository as { clone_url?: string }).clone_url ?? `${this.context.payload.repository.html_url}.git`;
    return this.services.workspaces.get(this.repo.fullName, cloneUrl).useToken(() => installationToken(this.context));
  }

  async execute(action: Action, command: Command): Promise<Outcome> {
    switch (action.kind) {
      case "help":
        return { ok: true, text: "Conveyor's commands (`/conveyor <command>` always works too):", details: { summary: "Commands", body: helpText() } };
      case "status":
        return this.status(action.service);
      case "promote": {
        const image = parseImageRef(action.image);
        if (!image.ok) return { ok: false, text: `Failed: ${image.reason}` };
        const outcome = await proposeDeploy({
          repo: this.repo,
          workspace: this.workspace(),
          queue: this.services.queue,
          config: this.config,
          defaultBranch: this.defaultBranch,
          request: { service: action.service, environment: action.env, image: image.value, source: {} },
          mode: "promotion",
          evidence: action.evidence ? [action.evidence] : [],
          log: this.context.log,
        });
        if (outcome.kind === "reject") return { ok: false, text: `Refused: ${outcome.reason}.` };
        if (outcome.kind === "noop") return { ok: true, text: `Nothing to do: ${outcome.reason}.` };
        return { ok: true, text: `${outcome.kind === "opened" ? "Opened" : "Updated"} ${this.prLink(outcome.pr)}: \`${outcome.image}\` to **${action.env}**${action.force ? " (forced)" : ""}.` };
      }
      case "revert": {
        const d = action.deployment;
        if (!d.file) return { ok: false, text: `Failed: deployment ${d.id} does not record which overlay it changed.` };
        const outcome = await proposeRevert({
          repo: this.repo,
          workspace: this.workspace(),
          queue: this.services.queue,
          defaultBranch: this.defaultBranch,
          request: { service: action.service, env: action.env, file: d.file, revision: d.sha, base: d.base ?? undefined, from: action.target ?? undefined, to: d.to ?? undefined, reason: `@${this.user} asked for it with \`${command.line.slice(0, 100)}\``, originalPr: action.originalPr, deploymentId: d.id },
        });
        if (outcome.kind === "opened" || outcome.kind === "updated") {
          return { ok: true, text: `${outcome.kind === "opened" ? "Opened" : "Updated"} revert ${this.prLink(outcome.pr)}: ${action.service} in **${action.env}** back to \`${action.target ?? "its previous overlay"}\`.` };
        }
        return { ok: outcome.kind === "noop", text: `${outcome.kind === "noop" ? "Nothing to do" : "Cannot roll back"}: ${"reason" in outcome ? outcome.reason : outcome.kind}.` };
      }
      case "hold-pr":
        await this.octokit.rest.issues.addLabels({ ...this.ref, issue_number: action.pr, labels: [HOLD_LABEL] });
        return { ok: true, text: `On hold: Conveyor will not merge this pull request (label \`${HOLD_LABEL}\`). \`/unhold\` resumes it.` };
      case "unhold-pr": {
        const removed = await removeLabel(this.octokit, this.ref, action.pr, HOLD_LABEL);
        const lifted = action.service && action.env ? await this.repo.closeIssues({ label: HOLD_LABEL, marker: holdMarker(action.service, action.env), comment: `Lifted by @${this.user} with \`/unhold\` on #${action.pr}.` }) : 0;
        const merge = await this.mergeIfPossible(action.pr);
        const what = [removed ? `removed \`${HOLD_LABEL}\`` : "", lifted ? `lifted the hold on ${action.service} in ${action.env}` : ""].filter(Boolean).join(" and ") || "nothing was holding this pull request";
        return { ok: true, text: `Resumed: ${what}.${merge ? ` ${merge}` : ""}` };
      }
      case "unhold-image": {
        const lifted = await this.repo.closeIssues({ label: HOLD_LABEL, marker: holdMarker(action.service, action.env), comment: `Lifted by @${this.user} with \`/unhold\`.` });
        const open = await this.repo.findOpenPr(branchFor(action.env, action.service));
        const merge = open ? await this.mergeIfPossible(open.number) : undefined;
        const what = lifted ? `lifted the hold on ${action.service} in **${action.env}**` : `${action.service} was not held in **${action.env}**`;
        return { ok: true, text: `Resumed: ${what}.${open ? ` Its open deploy PR is ${this.prLink(open.number)}.${merge ? ` ${merge}` : ""}` : ""}` };
      }
      case "freeze": {
        const text = freezeIssueText({ env: action.env, user: this.user, at: new Date().toISOString(), reason: action.reason, commentUrl: this.context.payload.comment.html_url });
        const issue = await this.repo.upsertIssue({ label: FREEZE_LABEL, marker: freezeMarker(action.env), ...text });
        return { ok: true, text: `**${action.env}** is frozen ([#${issue.number}](${this.context.payload.repository.html_url}/issues/${issue.number})): no automatic merges or promotions into it until \`/unhold ${action.env}\`.` };
      }
      case "unfreeze": {
        const closed = await this.repo.closeIssues({ label: FREEZE_LABEL, marker: freezeMarker(action.env), comment: `Unfrozen by @${this.user} (${this.context.payload.comment.html_url}).` });
        if (closed === 0) return { ok: true, text: `**${action.env}** was not frozen.` };
        const merged = await this.mergeWaiting(action.env);
        return { ok: true, text: `**${action.env}** is unfrozen.${merged.length ? ` Merged ${merged.map((n) => this.prLink(n)).join(", ")}.` : ""}` };
      }
      case "retry-edit": {
        const promote = await this.execute({ kind: "promote", service: action.service, env: action.env, image: action.image, force: false }, command);
        if (!promote.ok) return promote;
        await this.rerunRender(action.pr);
        const merge = await this.mergeIfPossible(action.pr);
        return { ok: true, text: `Re-ran the edit and the \`conveyor/render\` check. ${promote.text}${merge ? ` ${merge}` : ""}` };
      }
      case "retry-verification":
        return this.retryVerification(action.service, action.env, action.deployment);
    }
  }

  /** Renders the PR's head again and publishes a fresh conveyor/render check. */
  private async rerunRender(number: number): Promise<void> {
    const { data: pr } = await this.octokit.rest.pulls.get({ ...this.ref, pull_number: number });
    const repository = this.context.payload.repository;
    await runRenderCheck(
      {
        octokit: this.octokit,
        ref: this.ref,
        fullName: repository.full_name,
        cloneUrl: repository.clone_url,
        token: () => installationToken(this.context),
        log: this.context.log,
        pr: { number, headSha: pr.head.sha, baseSha: pr.base.sha, headRef: pr.head.ref, fromThisRepo: pr.head.repo?.full_name === repository.full_name },
      },
      this.services,
    );
  }

  /** Tries to merge one of Conveyor's open PRs; returns what happened, for the reply. */
  private async mergeIfPossible(number: number): Promise<string | undefined> {
    const { data: pr } = await this.octokit.rest.pulls.get({ ...this.ref, pull_number: number });
    const branch = parseBranch(pr.head.ref);
    const marker = parseStateMarker(pr.body);
    if (pr.state !== "open" || pr.user?.type !== "Bot" || !branch || !marker || marker.service !== branch.service || marker.env !== branch.env) return undefined;
    const decision = await tryAutoMerge(this.octokit, this.ref, this.config, { number: pr.number, headSha: pr.head.sha, labels: pr.labels.map((l) => l.name ?? ""), service: branch.service, env: branch.env, kind: branch.kind, image: marker.to }, this.context.log);
    return "reason" in decision ? `Not merged now: ${decision.reason}.` : "Merged it.";
  }

  private async mergeWaiting(env: string): Promise<number[]> {
    const { data } = await this.octokit.rest.pulls.list({ ...this.ref, state: "open", per_page: 100 });
    const merged: number[] = [];
    for (const pr of data) {
      const branch = parseBranch(pr.head.ref);
      const marker = parseStateMarker(pr.body);
      if (!branch || branch.env !== env || pr.user?.type !== "Bot" || !marker || marker.service !== branch.service || marker.env !== env) continue;
      const decision = await tryAutoMerge(this.octokit, this.ref, this.config, { number: pr.number, headSha: pr.head.sha, labels: pr.labels.map((l) => l.name), service: branch.service, env, kind: branch.kind, image: marker.to }, this.context.log);
      if (decision.kind === "merged") merged.push(pr.number);
    }
    return merged;
  }

  private async retryVerification(service: string, envName: string, failed: DeploymentFact): Promise<Outcome> {
    const verifier = this.services.verifier;
    const env = findEnvironment(this.config, envName);
    if (!verifier || !env || !failed.file) return { ok: false, text: "Cannot re-run the verification: no Argo CD source is configured." };
    const deployments = new Deployments(this.octokit, this.ref);
    const app = applicationName(this.config, service, envName);
    const last = this.config.environments[this.config.environments.length - 1]?.name;
    const deployment = await deployments.create({
      sha: failed.sha,
      environment: envName,
      description: `${service}: ${failed.to ?? "overlay change"} (retry)`,
      production: envName === last,
      payload: { conveyor: true, service, from: failed.from, to: failed.to, pr: failed.pr, application: app, file: failed.file, base: failed.base, revert: false, retryOf: failed.id },
    });
    await deployments.setStatus(deployment.id, "in_progress", `Watching Argo CD application ${app} (retry)`);
    const installationId = this.context.payload.installation?.id as number;
    const cloneUrl = (this.context.payload.repository as { clone_url?: string }).clone_url ?? `${this.context.payload.repository.html_url}.git`;
    verifier.track({
      repo: { ...this.ref, installationId, cloneUrl, defaultBranch: this.defaultBranch },
      service,
      env: envName,
      app: { namespace: this.config.argocd.namespace, name: app },
      revision: failed.sha,
      base: failed.base ?? undefined,
      deploymentId: deployment.id,
      pr: failed.pr ? { number: failed.pr, author: undefined, labels: [] } : undefined,
      from: failed.from ?? undefined,
      to: failed.to ?? undefined,
      file: failed.file,
      startedAt: new Date().toISOString(),
      policy: { soakMs: env.soak, syncMs: env.timeouts.sync, healthMs: env.timeouts.health, suspendedMs: env.timeouts.suspended, degradedGraceMs: env.timeouts.degradedGrace },
    });
    return { ok: true, text: `Verifying ${service} in **${envName}** again (deployment ${deployment.id}, Argo CD application \`${app}\`).` };
  }

  private async status(service: string | undefined): Promise<Outcome> {
    let services: string[];
    if (service) services = [service];
    else {
      // Anywhere but a Conveyor PR: every service with an overlay, from the clone Conveyor keeps.
      const workspace = this.workspace();
      await workspace.sync();
      const head = await workspace.remoteBranch(this.defaultBranch);
      services = head ? [...discoverServices(await workspace.listFiles(head, "."), this.config)].sort() : [];
      for (const s of services) {
        for (const env of this.config.environments) {
          this.facts.histories[historyKey(s, env.name)] ??= await deploymentHistory(this.octokit, this.ref, { service: s, env: env.name }, { statusLimit: 1 });
        }
      }
    }
    const { data: holds } = await this.octokit.rest.issues.listForRepo({ ...this.ref, state: "open", labels: HOLD_LABEL, per_page: 100 });
    const holdBodies = holds.filter((i) => !i.pull_request).map((i) => i.body ?? "");
    const inFlight = this.services.verifier?.inFlight() ?? [];
    const rows: StatusRow[] = services.flatMap((s) =>
      this.config.environments.map((env) => ({
        service: s,
        env: env.name,
        latest: this.facts.histories[historyKey(s, env.name)]?.[0],
        verifying: inFlight.some((v) => v.service === s && v.env === env.name),
        frozen: this.facts.frozen.includes(env.name),
        held: holdBodies.some((b) => b.includes(`<!-- ${holdMarker(s, env.name)} -->`)),
      })),
    );
    const table = statusTable(rows, (n) => `${this.context.payload.repository.html_url}/pull/${n}`);
    const frozen = this.facts.frozen.length ? ` Frozen: ${this.facts.frozen.join(", ")}.` : "";
    return { ok: true, text: `Status of ${services.length === 1 ? services[0] : `${services.length} services`}.${frozen}`, details: { summary: "Environments", body: table } };
  }
}
