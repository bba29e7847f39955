// Tells whoever sent a bad deploy event why nothing happened: a failed check run on their commit
// when their repository is in the same installation as the manifests repository, otherwise one
// issue per (service, reason) in the manifests repository, updated rather than duplicated.
import { describeError, statusOf } from "../adapters/github/client.js";
import type { DispatchSource } from "../core/dispatch.js";
import type { Rejection } from "../core/plan-deploy.js";
import { ERROR_LABEL, failureReport, rejectionReport, type RejectionReport } from "../core/report-text.js";
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
  await deliverReport(services, scope, input.source, report);
}

async function deliverReport(
  services: Services,
  scope: RepoScope,
  from: DispatchSource,
  report: RejectionReport,
): Promise<void> {
  const { repository, sha } = from;
  if (repository && sha) {
    const [owner, repo] = repository.split("/") as [string, string];
    try {
      // Only a repository of the same installation hears about it there: a dispatch must not be
      // able to write to (or find out about) another tenant's repository by naming it.
      const installation = await services.github.installationOf({ owner, repo });
      if (installation !== undefined && installation === scope.installationId) {
        const source = await services.github.repo(installation, { owner, repo });
        await source.checks.fail(sha, { name: report.checkName, title: report.title, summary: report.body });
        return;
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
  }
  await scope.gh.issues.upsert({ label: ERROR_LABEL, marker: report.marker, title: report.title, body: report.body });
}
