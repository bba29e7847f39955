// Tells whoever sent a bad deploy event why nothing happened: a failed check run on their commit
// when their repository is in the same installation as the manifests repository, otherwise one
// issue per (service, reason) in the manifests repository, updated rather than duplicated.
import { describeError, statusOf } from "../adapters/github/client.js";
import type { DispatchSource } from "../core/dispatch.js";
import type { Rejection } from "../core/plan-deploy.js";
import {
  ERROR_LABEL,
  failureReport,
  recoveredReport,
  rejectionReport,
  type RejectionReport,
} from "../core/report-text.js";
import type { GitHubRepo } from "../adapters/github/repo.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";

export async function reportRejection(
  services: Services,
  scope: RepoScope,
  input: { eventType: string; deliveryId: string; rejection: Rejection },
): Promise<void> {
  const { rejection } = input;
  const report = rejectionReport({
    manifestsRepo: scope.gh.fullName,
    eventType: input.eventType,
    service: rejection.service,
    code: rejection.code,
    reason: rejection.reason,
    source: rejection.source,
    deliveryId: input.deliveryId,
    web: scope.webUrl,
  });
  scope.log.warn({ code: rejection.code, service: rejection.service }, `deploy refused: ${rejection.reason}`);
  await deliverReport(services, scope, rejection.source, report);
}

/** An accepted event whose PR could not be made: its sender hears it the same way. */
export async function reportFailure(
  services: Services,
  scope: RepoScope,
  input: {
    eventType: string;
    deliveryId: string;
    service: string;
    source: DispatchSource;
    reason: string;
    retryAt?: string;
  },
): Promise<void> {
  const report = failureReport({ manifestsRepo: scope.gh.fullName, ...input });
  // Kept and tried again: the check run stays in progress (the deploy is late, not lost) until
  // the PR is made or Conveyor gives up.
  await deliverReport(services, scope, input.source, report, input.retryAt ? "retrying" : "failed");
}

/** The PR of an event that failed before was made after all: the sender's report says so. */
export async function reportRecovered(
  services: Services,
  scope: RepoScope,
  input: { deliveryId: string; service: string; source: DispatchSource; pr: number; attempts: number },
): Promise<void> {
  const report = recoveredReport({
    manifestsRepo: scope.gh.fullName,
    service: input.service,
    deliveryId: input.deliveryId,
    pr: `${scope.gh.fullName}#${input.pr}`,
    attempts: input.attempts,
  });
  const said = await onSourceCommit(services, scope, input.source, (source, sha) =>
    source.checks.upsert(sha, {
      name: report.checkName,
      title: report.title,
      summary: report.body,
      conclusion: "success",
    }),
  );
  if (!said) await scope.gh.issues.close({ label: ERROR_LABEL, marker: report.marker, comment: report.body });
}

/**
 * How a report stands on the sender's commit: "refused" is a failed check run of its own (each
 * refusal is said once); a failure is one check run, in progress while the event is retried,
 * then failed, or passed once the PR is made (reportRecovered).
 */
type ReportState = "refused" | "retrying" | "failed";

async function deliverReport(
  services: Services,
  scope: RepoScope,
  from: DispatchSource,
  report: RejectionReport,
  state: ReportState = "refused",
): Promise<void> {
  const check = { name: report.checkName, title: report.title, summary: report.body };
  const said = await onSourceCommit(services, scope, from, async (source, sha) => {
    if (state === "refused") await source.checks.fail(sha, check);
    else await source.checks.upsert(sha, state === "failed" ? { ...check, conclusion: "failure" } : check);
  });
  if (!said)
    await scope.gh.issues.upsert({ label: ERROR_LABEL, marker: report.marker, title: report.title, body: report.body });
}

/**
 * Writes to the sender's commit when its repository is in the same installation: a dispatch must
 * not be able to write to (or find out about) another tenant's repository by naming it. False
 * when the report must go to an issue in the manifests repository instead.
 */
async function onSourceCommit(
  services: Services,
  scope: RepoScope,
  from: DispatchSource,
  write: (source: GitHubRepo, sha: string) => Promise<void>,
): Promise<boolean> {
  const { repository, sha } = from;
  if (!repository || !sha) return false;
  const [owner, repo] = repository.split("/") as [string, string];
  try {
    const installation = await services.github.installationOf({ owner, repo });
    if (installation !== undefined && installation === scope.installationId) {
      await write(await services.github.repo(installation, { owner, repo }), sha);
      return true;
    }
    scope.log.info({}, `${repository} is not in this installation; opening an issue instead`);
  } catch (error) {
    const status = statusOf(error);
    if (status !== 404 && status !== 403 && status !== 422) throw error;
    scope.log.info(
      { status },
      `cannot report on ${repository}@${sha} (${describeError(error)}); opening an issue instead`,
    );
  }
  return false;
}
