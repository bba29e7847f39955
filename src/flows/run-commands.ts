// Slash commands in a comment: who may run them and what they do is core/command-plan.ts; this
// gathers the facts it asks for, carries out the steps in order, and answers once (reactions and
// one reply quoting each command).
import { findEnvironment, type Config } from "../core/config.js";
import {
  approverCheck,
  historyKey,
  permissionRefusal,
  planCommands,
  requirements,
  type CommandPlan,
  type Facts,
  type Permission,
  type Step,
  type Subject,
} from "../core/command-plan.js";
import { commandReply, parseErrorReply, refusalText, type CommandResult } from "../core/command-text.js";
import type { Command, ParsedComment } from "../core/commands.js";
import { parseFreezeIssue } from "../core/markers.js";
import { signedState } from "./pr-state.js";
import { FREEZE_LABEL, LABEL, REVERT_LABEL } from "../core/pr-text.js";
import { describeError } from "../adapters/github/client.js";
import type { GitHubRepo } from "../adapters/github/repo.js";
import { executeCommand, type CommandRun } from "./commands/execute.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";

/** What the comment was written on, as the webhook describes it. */
export type CommentTarget =
  | { kind: "freeze-issue"; number: number; env: string }
  | { kind: "hold-issue"; number: number; service: string; env: string }
  | { kind: "pr"; number: number; open: boolean; merged: boolean; author?: string; labels: string[]; body: string };

export interface CommentInput {
  target: CommentTarget;
  parsed: ParsedComment;
  user: string;
  commentId: number;
  commentUrl: string;
}

const WRITERS: Permission[] = ["admin", "maintain", "write"];

export async function runCommands(
  services: Services,
  scope: RepoScope,
  config: Config,
  input: CommentInput,
): Promise<void> {
  const { gh } = scope;
  const { parsed, user, target } = input;
  const log = scope.log.child({ repo: gh.fullName, issue: target.number, user });
  // Who is asking comes first (a read): someone without write access must not be able to spend
  // Conveyor's write budget. Such a person, and anyone whose comment does not parse, is answered
  // at most once an hour; reactions are only for people who may run commands.
  const permission = await gh.permissions.of(user);
  const denied = permissionRefusal({ login: user, permission });
  if (parsed.errors.length || denied) {
    const key = `${gh.fullName}#${user}#${denied ? "refused" : "malformed"}`;
    if (!services.answers.take(key)) {
      log.info({ errors: parsed.errors.length, permission }, "not answering again within the hour");
      return;
    }
    if (!denied) await gh.issues.react(input.commentId, "confused");
    const reply = denied
      ? commandReply(
          user,
          [...parsed.commands.map((c) => c.line), ...parsed.errors.map((e) => e.line)].map((line) => ({
            line,
            ok: false,
            text: `${refusalText(denied)} None of this comment's commands ran.`,
          })),
        )
      : parseErrorReply(user, parsed.errors);
    await gh.issues.comment(target.number, reply);
    return;
  }

  const subject = await subjectOf(services, gh, target);
  const { plan, facts } = await planWithFacts(gh, config, { login: user, permission }, parsed.commands, subject);
  if (plan.kind === "refuse") {
    log.info({ reason: plan.refusal.reason }, "commands refused");
    await gh.issues.react(input.commentId, "confused");
    await gh.issues.comment(
      target.number,
      commandReply(
        user,
        parsed.commands.map((c) => ({
          line: c.line,
          ok: false,
          text: `${refusalText(plan.refusal)} None of this comment's commands ran.`,
        })),
      ),
    );
    return;
  }

  await gh.issues.react(input.commentId, "eyes");
  const run: CommandRun = { services, scope: { ...scope, log }, config, user, facts, commentUrl: input.commentUrl };
  const results = await carryOut(run, plan.steps);
  const ok = results.every((r) => r.ok);
  await gh.issues.react(input.commentId, ok ? "rocket" : "confused");
  await gh.issues.comment(target.number, commandReply(user, results));
}

/**
 * Gathers the facts the commands need (approver membership, deployment histories, freezes) and
 * plans them: the one decision on who may do what, shared by comments and the dashboard's boxes.
 */
export async function planWithFacts(
  gh: GitHubRepo,
  config: Config,
  commenter: { login: string; permission: Permission },
  commands: Command[],
  subject: Subject,
): Promise<{ plan: CommandPlan; facts: Facts }> {
  const needs = requirements(commands, subject, config);
  const facts: Facts = { histories: {}, frozen: [], approver: {} };
  if (WRITERS.includes(commenter.permission)) {
    for (const env of needs.approverEnvs) facts.approver[env] = await isApprover(gh, config, env, commenter.login);
    for (const { service, env } of needs.histories)
      facts.histories[historyKey(service, env)] = await gh.deployments.history({ service, env });
    if (needs.freezes)
      facts.frozen = (await gh.issues.listOpen(FREEZE_LABEL)).flatMap((i) => parseFreezeIssue(i.body) ?? []);
  }
  return { plan: planCommands({ commands, subject, config, commenter, facts }), facts };
}

/** Carries out planned steps in order; a refused or failed step is reported, and the rest still run. */
export async function carryOut(run: CommandRun, steps: Step[]): Promise<CommandResult[]> {
  const results: CommandResult[] = [];
  for (const step of steps) {
    if ("refusal" in step) {
      results.push({ line: step.command.line, ok: false, text: refusalText(step.refusal) });
      continue;
    }
    try {
      results.push({ line: step.command.line, ...(await executeCommand(run, step.action, step.command)) });
    } catch (error) {
      run.scope.log.error({ err: describeError(error), verb: step.command.verb }, "command failed");
      results.push({ line: step.command.line, ok: false, text: `Failed: ${describeError(error)}` });
    }
  }
  return results;
}

async function subjectOf(services: Services, gh: GitHubRepo, target: CommentTarget): Promise<Subject> {
  if (target.kind !== "pr") return target;
  const subject: Subject = { kind: "pr", number: target.number, open: target.open, merged: target.merged };
  // Only what Conveyor signed is believed: a writer can edit a PR body, and the state in it names
  // the image that /retry and /promote would move.
  const marker =
    target.author === (await services.github.botLogin()) ? signedState(services, gh.fullName, target.body) : undefined;
  const kind = target.labels.includes(REVERT_LABEL) ? "revert" : "deploy";
  if (target.labels.includes(LABEL) && marker) {
    subject.conveyor = {
      service: marker.service,
      env: marker.env,
      kind,
      to: marker.to,
      from: marker.from,
      ...(marker.source ? { source: marker.source } : {}),
    };
  } else if (target.merged) {
    // A person's merged change: the Deployment Conveyor recorded for it says what it changed.
    const [d] = await gh.deployments.history({ pr: target.number }, { statusLimit: 1 });
    if (d?.to)
      subject.conveyor = {
        service: d.service,
        env: d.env,
        kind,
        to: d.to,
        from: d.from,
        ...(d.source ? { source: d.source } : {}),
      };
  }
  return subject;
}

async function isApprover(gh: GitHubRepo, config: Config, env: string, login: string): Promise<boolean> {
  const { direct, teams } = approverCheck(login, findEnvironment(config, env)?.approvers ?? []);
  if (direct) return true;
  for (const t of teams) if (await gh.permissions.isTeamMember(t.org, t.team, login)) return true;
  return false;
}
