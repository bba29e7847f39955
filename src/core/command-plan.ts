// "Which of these commands may run, and what exactly do they do?" One decision over plain data:
// the parsed commands, what the comment is on, the config, who commented (permission, approver
// membership) and what GitHub Deployments say was deployed and verified. The handler gathers the
// facts `requirements` asks for, calls `planCommands`, and executes the steps it returns.
import { findEnvironment, type Config } from "./config.js";
import type { Command } from "./commands.js";
import type { DispatchSource } from "./source.js";
import type { SlotStep } from "./plan-blue-green.js";
import type { TrackStep } from "./plan-canary.js";

/** What the comment was written on. */
export type Subject =
  | {
      kind: "pr";
      number: number;
      open: boolean;
      merged: boolean;
      /** Set when Conveyor opened this PR (its branch and state marker). */
      conveyor?: {
        service: string;
        env: string;
        kind: "deploy" | "revert";
        to: string;
        from: string | null;
        source?: DispatchSource;
      };
    }
  | { kind: "freeze-issue"; number: number; env: string }
  /** The issue Conveyor opens when a rollout failed: that image is held for (service, env). */
  | { kind: "hold-issue"; number: number; service: string; env: string };

/** One Conveyor GitHub Deployment, newest first in a history. */
export interface DeploymentFact {
  id: number;
  sha: string;
  service: string;
  env: string;
  to: string | null;
  from: string | null;
  base: string | null;
  file: string | null;
  pr: number | null;
  /** The change undid a failed one (a revert): never promoted, never reverted. */
  revert?: boolean;
  /** Latest status: success (verified), failure, in_progress, ... */
  state: string;
  /** The latest status's description, when it has one. */
  description?: string;
  createdAt: string;
  /** Where the image `to` came from, as the Deployment recorded it. */
  source?: DispatchSource;
  /** A release strategy's step (blue-green slot, canary track), judged by its Deployment alone. */
  slot?: SlotStep;
  track?: TrackStep;
}

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export type Action =
  | {
      kind: "promote";
      service: string;
      env: string;
      image: string;
      force: boolean;
      evidence?: string;
      /** Where the image came from: the verified Deployment's record, else the PR's own. */
      source?: DispatchSource;
    }
  | {
      kind: "revert";
      service: string;
      env: string;
      deployment: DeploymentFact;
      target: string | null;
      /** Where the image gone back to came from, when a Deployment of it recorded that. */
      targetSource?: DispatchSource;
      originalPr?: number;
    }
  | { kind: "hold-pr"; pr: number }
  | { kind: "unhold-pr"; pr: number; service?: string; env?: string }
  | { kind: "unhold-image"; service: string; env: string }
  | { kind: "freeze"; env: string; reason?: string }
  | { kind: "unfreeze"; env: string }
  | { kind: "retry-edit"; pr: number; service: string; env: string; image: string }
  | { kind: "retry-verification"; service: string; env: string; deployment: DeploymentFact }
  | { kind: "status"; service?: string }
  | { kind: "help" };

export interface Refusal {
  reason: string;
  /** Who may do it instead, when that is the problem. */
  who?: string;
}

export type Step = { command: Command; action: Action } | { command: Command; refusal: Refusal };

export interface Requirements {
  /** (service, env) pairs whose deployment history the plan needs. */
  histories: Array<{ service: string; env: string }>;
  /** Environments whose approver membership of the commenter the plan needs. */
  approverEnvs: string[];
  /** Whether the plan needs the set of frozen environments. */
  freezes: boolean;
}

export interface Facts {
  /** Newest first, keyed by `${service}/${env}`. */
  histories: Record<string, DeploymentFact[]>;
  frozen: string[];
  /** Is the commenter an approver of the environment? (users or @org/team, resolved by the handler) */
  approver: Record<string, boolean>;
}

export type CommandPlan =
  { kind: "refuse"; required: Permission; refusal: Refusal } | { kind: "run"; required: Permission; steps: Step[] };

export const historyKey = (service: string, env: string) => `${service}/${env}`;

/** The change a PR carries: Conveyor's own marker, or (merged) the deployment that recorded it. */
interface Change {
  service: string;
  env: string;
  image: string;
}

/** What `planCommands` will need to know, so the handler fetches only that. */
export function requirements(commands: Command[], subject: Subject, config: Config): Requirements {
  const histories = new Map<string, { service: string; env: string }>();
  const approverEnvs = new Set<string>();
  let freezes = false;
  const need = (service: string | undefined, env: string | undefined) => {
    if (service && env && findEnvironment(config, env)) histories.set(historyKey(service, env), { service, env });
  };
  const change = subject.kind === "pr" ? subject.conveyor : undefined;
  for (const command of commands) {
    for (const env of protectedEnvs(command, subject, config)) approverEnvs.add(env);
    switch (command.verb) {
      case "promote": {
        freezes = true;
        if (command.force) approverEnvs.add(command.env);
        const previous = previousEnv(config, command.env);
        if (change && previous) need(change.service, previous);
        break;
      }
      case "rollback":
        if (command.service) need(command.service, command.env);
        else if (change) need(change.service, command.env ?? change.env);
        break;
      case "retry":
        if (change) need(change.service, change.env);
        break;
      case "status":
        freezes = true;
        for (const env of config.environments) need(command.service ?? change?.service, env.name);
        break;
      default:
        break;
    }
  }
  return { histories: [...histories.values()], approverEnvs: [...approverEnvs], freezes };
}

/**
 * Environments with approvers that a command moves (a brake, /hold <env>, is anyone's to pull).
 * Every command that can change what runs there, or lift what keeps it from changing, is here.
 */
function protectedEnvs(command: Command, subject: Subject, config: Config): string[] {
  const change = subject.kind === "pr" ? subject.conveyor : undefined;
  let env: string | undefined;
  if (command.verb === "promote") env = command.env;
  else if (command.verb === "rollback") env = command.env ?? change?.env;
  // Re-running an edit or a verification of a Conveyor PR moves its environment again.
  else if (command.verb === "retry") env = change?.env;
  // On a Conveyor PR, /unhold also lifts the failed-rollout hold of its (service, environment).
  else if (command.verb === "unhold")
    env =
      command.env ??
      (subject.kind === "freeze-issue" || subject.kind === "hold-issue" ? subject.env : undefined) ??
      change?.env;
  const found = env ? findEnvironment(config, env) : undefined;
  return found && found.approvers.length > 0 ? [found.name] : [];
}

const RANK: Record<Permission, number> = { none: 0, read: 1, triage: 2, write: 3, maintain: 4, admin: 5 };

/** Every command needs write access: the refusal for someone without it, or undefined. */
export function permissionRefusal(commenter: { login: string; permission: Permission }): Refusal | undefined {
  if (RANK[commenter.permission] >= RANK.write) return undefined;
  return {
    reason: `commands need write access to this repository; @${commenter.login} has ${commenter.permission} access`,
    who: "anyone with write access",
  };
}

export function planCommands(input: {
  commands: Command[];
  subject: Subject;
  config: Config;
  commenter: { login: string; permission: Permission };
  facts: Facts;
}): CommandPlan {
  const { commands, subject, config, commenter, facts } = input;
  const required: Permission = "write";
  const denied = permissionRefusal(commenter);
  if (denied) return { kind: "refuse", required, refusal: denied };
  // The highest permission among the commands decides for all of them: none runs without it.
  for (const command of commands) {
    for (const env of protectedEnvs(command, subject, config)) {
      if (!facts.approver[env]) {
        return {
          kind: "refuse",
          required,
          refusal: {
            reason: `${command.line.split(/\s+/)[0]} moves **${env}**, which only its approvers may do`,
            who: approversOf(config, env),
          },
        };
      }
    }
  }
  return {
    kind: "run",
    required,
    steps: commands.map((command) => planOne(command, subject, config, commenter, facts)),
  };
}

function planOne(
  command: Command,
  subject: Subject,
  config: Config,
  commenter: { login: string; permission: Permission },
  facts: Facts,
): Step {
  const refuse = (reason: string, who?: string): Step => ({ command, refusal: who ? { reason, who } : { reason } });
  const act = (action: Action): Step => ({ command, action });
  const pr = subject.kind === "pr" ? subject : undefined;
  const change: Change | undefined = pr?.conveyor
    ? { service: pr.conveyor.service, env: pr.conveyor.env, image: pr.conveyor.to }
    : undefined;
  const unknownEnv = (env: string) =>
    findEnvironment(config, env)
      ? undefined
      : `${env} is not an environment here (environments: ${config.environments.map((e) => e.name).join(", ")})`;

  switch (command.verb) {
    case "help":
      return act({ kind: "help" });
    case "status":
      return act({ kind: "status", service: command.service ?? change?.service });
    case "promote": {
      const bad = unknownEnv(command.env);
      if (bad) return refuse(bad);
      if (!pr) return refuse("/promote works on a Conveyor pull request or a merged change");
      if (!change) return refuse("this pull request is not a Conveyor deploy, so it names no image to promote");
      if (pr.conveyor?.kind === "revert") return refuse("a revert is not promoted");
      if (facts.frozen.includes(command.env)) return refuse(`${command.env} is frozen; /unhold ${command.env} first`);
      const previous = previousEnv(config, command.env);
      if (!previous)
        return act({
          kind: "promote",
          service: change.service,
          env: command.env,
          image: change.image,
          force: command.force,
          ...sourceOf(pr.conveyor?.source),
        });
      const verified = (facts.histories[historyKey(change.service, previous)] ?? []).find(
        (d) => d.to === change.image && d.state === "success",
      );
      if (verified) {
        return act({
          kind: "promote",
          service: change.service,
          env: command.env,
          image: change.image,
          force: command.force,
          evidence: `Verified in **${previous}** (deployment ${verified.id}${verified.pr ? `, #${verified.pr}` : ""}); promoted by /promote from @${commenter.login}.`,
          ...sourceOf(verified.source ?? pr.conveyor?.source),
        });
      }
      if (command.force) {
        const env = findEnvironment(config, command.env);
        const mayForce =
          env && env.approvers.length > 0 ? facts.approver[command.env] : RANK[commenter.permission] >= RANK.admin;
        if (!mayForce)
          return refuse(
            `\`${change.image}\` is not verified in ${previous}, and only approvers of ${command.env} may force it`,
            approversOf(config, command.env),
          );
        return act({
          kind: "promote",
          service: change.service,
          env: command.env,
          image: change.image,
          force: true,
          evidence: `Not verified in **${previous}**: forced by @${commenter.login} with /promote ${command.env} --force.`,
          ...sourceOf(pr.conveyor?.source),
        });
      }
      return refuse(
        `\`${change.image}\` is not verified in ${previous} yet (no successful deployment of it there)`,
        `an approver of ${command.env}, with \`/promote ${command.env} --force\`: ${approversOf(config, command.env)}`,
      );
    }
    case "rollback": {
      if (command.service) {
        const env = command.env as string;
        const bad = unknownEnv(env);
        if (bad) return refuse(bad);
        const history = facts.histories[historyKey(command.service, env)] ?? [];
        const current = history[0];
        if (!current) return refuse(`Conveyor has no record of deploying ${command.service} to ${env}`);
        const target = command.image
          ? history.find((d) => d.to === command.image)
          : history.find((d) => d.state === "success" && d.to !== null && d.to !== current.to);
        if (!target)
          return refuse(
            command.image
              ? `\`${command.image}\` was never deployed to ${env} for ${command.service}`
              : `no earlier verified image of ${command.service} in ${env} to go back to`,
          );
        if (target.to === current.to) return refuse(`${env} already runs \`${current.to}\``);
        // Reverting the newest change back to the state the target image was deployed at.
        return act({
          kind: "revert",
          service: command.service,
          env,
          deployment: { ...current, from: target.to, base: target.sha },
          target: target.to,
          ...(target.source ? { targetSource: target.source } : {}),
        });
      }
      if (!pr || !change)
        return refuse("on this pull request, name what to roll back: /rollback <service> <env> [<image>]");
      if (pr.conveyor?.kind === "revert") return refuse("this is already a revert");
      const env = command.env ?? change.env;
      const bad = unknownEnv(env);
      if (bad) return refuse(bad);
      if (env === change.env && !pr.merged)
        return refuse("this pull request is not merged; close it instead of rolling it back");
      const history = facts.histories[historyKey(change.service, env)] ?? [];
      const deployment = history.find((d) => d.to === change.image);
      if (!deployment) return refuse(`\`${change.image}\` was never deployed to ${env}`);
      if (history[0]?.to !== change.image)
        return refuse(
          `${env} has moved on since (it runs \`${history[0]?.to ?? "?"}\`); use /rollback ${change.service} ${env} [<image>]`,
        );
      const restored = history.find((d) => d.to !== null && d.to === deployment.from && d.source)?.source;
      return act({
        kind: "revert",
        service: change.service,
        env,
        deployment,
        target: deployment.from,
        ...(restored ? { targetSource: restored } : {}),
        originalPr: deployment.pr ?? pr.number,
      });
    }
    case "hold":
    case "unhold": {
      if (subject.kind === "hold-issue" && !command.env) {
        if (command.verb === "hold")
          return refuse(
            `${subject.service} is already held in ${subject.env}; /hold ${subject.env} freezes the whole environment`,
          );
        return act({ kind: "unhold-image", service: subject.service, env: subject.env });
      }
      const env = command.env ?? (subject.kind === "freeze-issue" ? subject.env : undefined);
      if (env) {
        const bad = unknownEnv(env);
        if (bad) return refuse(bad);
        return act(
          command.verb === "hold" ? { kind: "freeze", env, reason: command.reason } : { kind: "unfreeze", env },
        );
      }
      if (!pr) return refuse(`/${command.verb} without an environment works on a pull request`);
      if (!pr.open) return refuse("this pull request is closed; there is nothing to hold");
      return act(
        command.verb === "hold"
          ? { kind: "hold-pr", pr: pr.number }
          : { kind: "unhold-pr", pr: pr.number, service: change?.service, env: change?.env },
      );
    }
    case "retry": {
      if (!pr || !change) return refuse("/retry works on a Conveyor pull request");
      if (pr.open && pr.conveyor?.kind === "deploy")
        return act({
          kind: "retry-edit",
          pr: pr.number,
          service: change.service,
          env: change.env,
          image: change.image,
        });
      const last = (facts.histories[historyKey(change.service, change.env)] ?? []).find((d) => d.pr === pr.number);
      if (!pr.merged || !last) return refuse("nothing has failed on this pull request that Conveyor can re-run");
      if (last.state !== "failure" && last.state !== "error")
        return refuse(`the last verification of this change is ${last.state}, not failed`);
      return act({ kind: "retry-verification", service: change.service, env: change.env, deployment: last });
    }
  }
}

export function previousEnv(config: Config, env: string): string | undefined {
  const index = config.environments.findIndex((e) => e.name === env);
  return index > 0 ? config.environments[index - 1]?.name : undefined;
}

export function approversOf(config: Config, env: string): string {
  const approvers = findEnvironment(config, env)?.approvers ?? [];
  return approvers.length ? approvers.map((a) => (a.startsWith("@") ? a : `@${a}`)).join(", ") : "a repository admin";
}

/** Splits an approver list into direct logins and `org/team` pairs; true when the login is listed directly. */
export function approverCheck(
  login: string,
  approvers: string[],
): { direct: boolean; teams: Array<{ org: string; team: string }> } {
  const direct = approvers.some((a) => !a.startsWith("@") && a.toLowerCase() === login.toLowerCase());
  const teams = approvers
    .filter((a) => a.startsWith("@"))
    .map((a) => {
      const [org, team] = a.slice(1).split("/") as [string, string];
      return { org, team };
    });
  return { direct, teams };
}

const sourceOf = (source: DispatchSource | undefined) => (source ? { source } : {});
