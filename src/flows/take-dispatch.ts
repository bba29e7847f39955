// A deploy event, from its webhook or replayed from GitHub's record of deliveries: checked,
// answered, and made into a PR in the background. An accepted event whose PR cannot be made (the
// branch kept moving, GitHub kept failing) is said to its sender like a refusal and kept: tried
// again after a while, and replayed from GitHub after a restart, until it is done or given up.
import type { EventRepo } from "../adapters/github/event.js";
import { describeError } from "../adapters/github/client.js";
import { parseDispatch, type DeployRequest } from "../core/dispatch.js";
import type { Config } from "../core/config.js";
import { loadConfig } from "./load-config.js";
import { proposeDeploy } from "./propose-deploy.js";
import { repoScope, type RepoScope } from "./repo-scope.js";
import { reportFailure, reportRecovered, reportRejection } from "./report-rejection.js";
import type { Log, Services } from "./services.js";

export interface DispatchDelivery {
  /** The event's `action` (the dispatch's event_type). */
  eventType: string;
  clientPayload: unknown;
  /** GitHub's delivery guid (X-GitHub-Delivery). */
  deliveryId: string;
  /**
   * Replayed from GitHub's deliveries after a restart: it was answered before, so a refusal was
   * said then and is not said again; an accepted event is made into its PR if it is not yet.
   */
  replay?: boolean;
}

export async function takeDispatch(
  services: Services,
  repo: EventRepo,
  delivery: DispatchDelivery,
  log: Log,
): Promise<void> {
  const intent = parseDispatch(delivery.eventType, delivery.clientPayload);
  if (intent.kind === "ignore") {
    log.debug({ action: delivery.eventType }, `repository_dispatch ignored: ${intent.reason}`);
    return;
  }
  const config = await loadConfig(repo.gh, log);
  if (!config) return;
  const report = { eventType: delivery.eventType, deliveryId: delivery.deliveryId };
  if (intent.kind === "reject") {
    if (delivery.replay) return;
    // Reported after the answer: finding the sender's installation and writing there may take
    // longer than GitHub waits.
    const scope = repoScope(services, { ...repo, log });
    services.background.start("reject", scope.log, () =>
      reportRejection(services, scope, { ...report, rejection: intent }),
    );
    return;
  }
  const { request } = intent;
  const scope = repoScope(services, {
    ...repo,
    log: log.child({ repo: repo.gh.fullName, service: request.service, replay: delivery.replay || undefined }),
  });
  attempt(services, scope, { config, request, delivery }, 0);
}

interface Job {
  config: Config;
  request: DeployRequest;
  delivery: DispatchDelivery;
}

function attempt(services: Services, scope: RepoScope, job: Job, failures: number): void {
  const key = `${scope.gh.fullName}\0${job.delivery.deliveryId}`;
  services.background.start("deploy", scope.log, async () => {
    try {
      const outcome = await proposeDeploy(services, scope, {
        config: job.config,
        request: job.request,
        mode: "dispatch",
      });
      if (outcome.kind === "reject") {
        if (!job.delivery.replay) await reportRejection(services, scope, { ...reportOf(job), rejection: outcome });
      } else if (outcome.kind === "noop") scope.log.info({}, `nothing to do: ${outcome.reason}`);
      // Made after a failure the sender was told about (or after a restart, which may have
      // followed one): what they were told is put right.
      if ((outcome.kind === "opened" || outcome.kind === "updated") && (failures > 0 || job.delivery.replay))
        await reportRecovered(services, scope, {
          deliveryId: job.delivery.deliveryId,
          service: job.request.service,
          source: job.request.source,
          pr: outcome.pr,
          attempts: failures + 1,
        }).catch((reportError: unknown) =>
          scope.log.warn({ err: describeError(reportError) }, "telling the sender it worked failed"),
        );
    } catch (error) {
      const reason = describeError(error);
      const delay = services.later.delayAfter(failures + 1);
      const retryAt = delay === undefined ? undefined : new Date(Date.now() + delay).toISOString();
      scope.log.error(
        { err: reason, delivery: job.delivery.deliveryId, failures: failures + 1 },
        retryAt ? `could not make the PR; trying again at ${retryAt}` : "could not make the PR; giving up",
      );
      // The sender hears it on the first failure and when Conveyor gives up, not on every attempt.
      if (failures === 0 || retryAt === undefined)
        await reportFailure(services, scope, {
          ...reportOf(job),
          service: job.request.service,
          source: job.request.source,
          reason,
          retryAt,
        }).catch((reportError: unknown) =>
          scope.log.warn({ err: describeError(reportError) }, "telling the sender failed too"),
        );
      if (delay !== undefined) services.later.schedule(key, delay, () => attempt(services, scope, job, failures + 1));
      if (retryAt === undefined) throw error;
    }
  });
}

function reportOf(job: Job) {
  return { eventType: job.delivery.eventType, deliveryId: job.delivery.deliveryId };
}
