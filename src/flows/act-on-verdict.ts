// Acting on a verdict: what to do is core/plan-outcome.ts; this carries it out, so that nothing
// decided is lost. The verdict is first recorded in the Deployment's in_progress status (what is
// still owed, core/owed.ts); then the promotion or the revert, the hold and the PR comment are
// made, each step safe to repeat (an existing PR, issue or comment is found, not made again);
// the final Deployment status comes last. A step that fails is retried with backoff, and a
// restart finds the owed verdict on the Deployment and carries on (resume-verifications).
import { nextEnvironment, type Config } from "../core/config.js";
import { parseFreezeIssue } from "../core/markers.js";
import { owedDescription, type Owed } from "../core/owed.js";
import { planFailed, planSuperseded, planVerified } from "../core/plan-outcome.js";
import { FREEZE_LABEL, HOLD_LABEL } from "../core/pr-text.js";
import type { Verification } from "../core/verification.js";
import { failedComment, verifiedComment } from "../core/verification-text.js";
import type { VerificationOutcomes } from "../runtime/verifier.js";
import { describeError } from "../adapters/github/client.js";
import { commentOnce } from "./comment-once.js";
import { readConfig } from "./load-config.js";
import { proposeDeploy, proposeStable, proposeSwitch, type ProposeOutcome } from "./propose-deploy.js";
import { proposeRevert } from "./propose-revert.js";
import { reportToSource } from "./report-to-source.js";
import { runGates } from "./run-gates.js";
import { scopeOfRepo, type RepoScope } from "./repo-scope.js";
import type { Log, Services } from "./services.js";

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 5 * 60_000;

export interface ActorOptions {
  /** Wait before retry number `attempt` (1-based); default doubles from 1 s up to 5 minutes. */
  retryDelayMs?: (attempt: number) => number;
}

/** Carries out verdicts, once each per process, until done. */
export class VerdictActor {
  private readonly acting = new Set<number>();
  private readonly retryDelayMs: (attempt: number) => number;

  constructor(
    private readonly services: Services,
    private readonly log: Log,
    options: ActorOptions = {},
  ) {
    this.retryDelayMs =
      options.retryDelayMs ?? ((attempt) => Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS));
  }

  /** What the verification loop calls with each verdict. */
  outcomes(): VerificationOutcomes {
    return {
      verified: async (v, verdict) =>
        this.act(v, {
          kind: "verified",
          at: verdict.at,
          synced: verdict.evidence.operationFinishedAt,
          healthy: verdict.evidence.healthySince,
        }),
      failed: async (v, verdict) => this.act(v, { kind: "failed", reason: verdict.reason }),
      superseded: async (v, by) => this.superseded(v, by),
      // Still in progress, waiting for something people should see (a sync window): one write;
      // the verifier retries it later if it fails.
      waiting: async (v, description) => {
        const scope = await scopeOfRepo(this.services, v.repo, this.logFor(v));
        await scope.gh.deployments.setStatus(v.deploymentId, "in_progress", description);
      },
    };
  }

  /** Is this process acting on the Deployment's verdict right now? */
  isActing(deploymentId: number): boolean {
    return this.acting.has(deploymentId);
  }

  /**
   * Acts on a verdict in the background, retrying until it is done. `recorded`: the Deployment
   * already says what is owed (found so after a restart), so that write is skipped.
   */
  async act(v: Verification, owed: Owed, options: { recorded?: boolean } = {}): Promise<void> {
    if (this.acting.has(v.deploymentId)) return;
    this.acting.add(v.deploymentId);
    const log = this.logFor(v);
    this.services.background.start("verdict", log, async () => {
      try {
        let recorded = options.recorded ?? false;
        for (let attempt = 1; ; attempt++) {
          try {
            const scope = await scopeOfRepo(this.services, v.repo, log);
            if (!recorded) {
              await scope.gh.deployments.setStatus(v.deploymentId, "in_progress", owedDescription(owed));
              recorded = true;
            }
            if (owed.kind === "verified") await actOnVerified(this.services, scope, v, owed);
            else await actOnFailed(this.services, scope, v, owed.reason);
            return;
          } catch (error) {
            const wait = this.retryDelayMs(attempt);
            log.warn(
              { err: describeError(error), attempt, retryInMs: wait },
              `acting on verdict ${owed.kind} failed; retrying`,
            );
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
        }
      } finally {
        this.acting.delete(v.deploymentId);
      }
    });
  }

  private async superseded(v: Verification, by: string): Promise<void> {
    const log = this.logFor(v);
    this.services.background.start("verdict", log, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const scope = await scopeOfRepo(this.services, v.repo, log);
          const plan = planSuperseded(by);
          await scope.gh.deployments.setStatus(v.deploymentId, plan.status.state, plan.status.description);
          if (v.source) {
            const config = await readConfig(scope.gh);
            if (config)
              await reportVerdict(this.services, scope, v, config, "superseded", { reason: `by ${by.slice(0, 12)}` });
          }
          return;
        } catch (error) {
          const wait = this.retryDelayMs(attempt);
          log.warn({ err: describeError(error), attempt }, "marking a superseded Deployment failed; retrying");
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    });
  }

  private logFor(v: Verification): Log {
    return this.log.child({
      repo: `${v.repo.owner}/${v.repo.repo}`,
      service: v.service,
      env: v.env,
      deployment: v.deploymentId,
    });
  }
}

async function actOnVerified(
  services: Services,
  scope: RepoScope,
  v: Verification,
  owed: Extract<Owed, { kind: "verified" }>,
): Promise<void> {
  const { gh } = scope;
  const config = await readConfig(gh);
  // Freezes only matter when there is an environment to promote into.
  const frozen: Record<string, number> = {};
  if (config && nextEnvironment(config, v.env)) {
    for (const issue of await gh.issues.listOpen(FREEZE_LABEL)) {
      const env = parseFreezeIssue(issue.body);
      if (env !== undefined) frozen[env] ??= issue.number;
    }
  }
  const plan = planVerified({ v, config, frozen });
  let next: { env: string; pr?: number; note?: string; slot?: string; stable?: boolean } | undefined;
  if (plan.next?.kind === "note") {
    next = { env: plan.next.env, note: plan.next.note };
    // Frozen: the commit waits for that environment, and its service repository sees why.
    if (config && frozen[plan.next.env] !== undefined)
      await reportToSource(services, scope, {
        config,
        service: v.service,
        env: plan.next.env,
        image: v.to ?? "",
        source: v.source,
        stage: "queued",
        reason: plan.next.note,
      });
  }
  if ((plan.next?.kind === "switch" || plan.next?.kind === "stable") && config) {
    // The release's second step, same environment (blue-green's switch, canary's stable). Safe
    // to repeat: a step already made, or proposed by the open PR, is found, not made again.
    const step = plan.next;
    const common = { config, service: v.service, env: v.env, source: v.source };
    const outcome =
      step.kind === "switch"
        ? await proposeSwitch(services, scope, { ...common, to: step.slot })
        : await proposeStable(services, scope, { ...common, image: step.image });
    next = { env: v.env, ...(step.kind === "switch" ? { slot: step.slot } : { stable: true }), ...prOrNote(outcome) };
  }
  if (plan.next?.kind === "promote" && config) {
    // This environment's E2E gates first: started, waited for (the work ends here and is taken up
    // again when their runs finish), or failed (held and said; no promotion).
    const gates = await runGates(services, scope, { v, config, owed, next: plan.next.env });
    if (gates.kind !== "passed") return;
    // Safe to repeat: an open PR already proposing the image is found, not opened again.
    const outcome = await proposeDeploy(services, scope, {
      config,
      request: { service: v.service, environment: plan.next.env, image: plan.next.image, source: v.source ?? {} },
      mode: "promotion",
      evidence: [plan.next.evidence, ...gates.evidence],
    });
    // Merging, where policy allows, follows from the PR's own pull_request event.
    next = { env: plan.next.env, ...prOrNote(outcome) };
  }
  if (plan.commentOn !== undefined) {
    await commentOnce(
      scope,
      plan.commentOn,
      v.deploymentId,
      verifiedComment({
        service: v.service,
        env: v.env,
        app: v.app.name,
        image: v.to,
        timeline: {
          merged: v.startedAt,
          synced: owed.synced,
          healthy: owed.healthy,
          verified: owed.at ?? new Date().toISOString(),
        },
        next,
      }),
    );
  }
  // An idle blue-green slot serves nothing yet: the commit is active there once the switch is.
  if (config && v.slot?.kind !== "idle") {
    await reportVerdict(services, scope, v, config, "verified");
    await supersedeOlder(services, scope, v, config);
  }
  // Last: the final status says the work is done.
  await gh.deployments.setStatus(v.deploymentId, plan.status.state, plan.status.description);
}

/** The service repository hears how its commit fared here (when it is in this installation). */
async function reportVerdict(
  services: Services,
  scope: RepoScope,
  v: Verification,
  config: Config,
  stage: "verified" | "failed" | "reverted" | "superseded",
  about: { reason?: string; pr?: number } = {},
): Promise<void> {
  await reportToSource(services, scope, {
    config,
    service: v.service,
    env: v.env,
    image: v.to ?? "",
    source: v.source,
    stage,
    pr: about.pr ?? v.pr?.number,
    reason: about.reason,
  });
}

/**
 * The commit whose image this change replaced is no longer active here: its service repository
 * hears it (superseded). Where that image came from is what its own Deployment recorded (1 call).
 * For blue-green this is the switch: the slot switched away from still holds the image (to switch
 * back to), but it no longer serves.
 */
async function supersedeOlder(services: Services, scope: RepoScope, v: Verification, config: Config): Promise<void> {
  if (!v.from || v.from.includes(", ") || v.from === v.to) return;
  const older = await scope.gh.deployments.sourceOf(v.service, v.from);
  if (!older?.sha || (older.sha === v.source?.sha && older.repository === v.source.repository)) return;
  await reportToSource(services, scope, {
    config,
    service: v.service,
    env: v.env,
    image: v.from,
    source: older,
    stage: "superseded",
    pr: v.pr?.number,
    reason: `by ${v.to ?? "a newer image"}`,
  });
}

/** The PR a proposal opened or found, else why there is none. */
function prOrNote(outcome: ProposeOutcome): { pr: number } | { note: string } {
  if (outcome.kind === "reject") return { note: outcome.reason };
  if (outcome.kind === "noop") return outcome.pr !== undefined ? { pr: outcome.pr } : { note: outcome.reason };
  return { pr: outcome.pr };
}

async function actOnFailed(services: Services, scope: RepoScope, v: Verification, reason: string): Promise<void> {
  const { gh } = scope;
  const config = await readConfig(gh);
  const plan = planFailed({ v, config, reason });
  let revert: { pr?: number; note?: string } = { note: plan.revert.kind === "note" ? plan.revert.note : undefined };
  if (plan.revert.kind === "revert") {
    // Where the image gone back to came from, as its own Deployment recorded it (1 call).
    const source = v.from && !v.from.includes(", ") ? await gh.deployments.sourceOf(v.service, v.from) : undefined;
    // Safe to repeat: an open revert PR that already restores the overlay is found, not opened again.
    const outcome = await proposeRevert(services, scope, {
      service: v.service,
      env: v.env,
      file: v.file,
      revision: v.revision,
      base: v.base,
      from: v.from,
      to: v.to,
      reason: plan.revert.reason,
      originalPr: v.pr?.number,
      deploymentId: v.deploymentId,
      ...(source ? { source } : {}),
      // Blue-green goes back by switching back, canary by putting the canary back: see proposeRevert.
      config,
    });
    revert =
      "headSha" in outcome
        ? { pr: outcome.pr }
        : outcome.kind === "noop" && outcome.pr !== undefined
          ? { pr: outcome.pr }
          : { note: `No revert PR: ${outcome.reason}.` };
  }
  const hold = plan.hold ? await gh.issues.upsert({ label: HOLD_LABEL, ...plan.hold }) : undefined;
  if (plan.commentOn !== undefined && v.pr) {
    await commentOnce(
      scope,
      plan.commentOn,
      v.deploymentId,
      failedComment({
        service: v.service,
        env: v.env,
        app: v.app.name,
        author: v.pr.author,
        reason,
        revert,
        holdIssue: hold?.number,
      }),
    );
  }
  // A revert PR is what the service repository hears of, linked; else the failure alone.
  if (config)
    await reportVerdict(services, scope, v, config, revert.pr !== undefined ? "reverted" : "failed", {
      reason,
      ...(revert.pr !== undefined ? { pr: revert.pr } : {}),
    });
  // Last: the final status says the work is done.
  await gh.deployments.setStatus(v.deploymentId, plan.status.state, plan.status.description);
}
