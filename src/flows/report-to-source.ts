// The service repository's view: where its commit's image stands in each environment, as a GitHub
// Deployment per environment on the source commit and one `conveyor/environments` check run. What
// each stage shows, and whether it is written at all, is core/source-view.ts. Only a repository
// of the same installation is written to, and a failure here never stops the deploy it reports
// on: it is logged.
import { describeError } from "../adapters/github/client.js";
import type { GitHubRepo } from "../adapters/github/repo.js";
import type { Config } from "../core/config.js";
import {
  ENVIRONMENTS_CHECK,
  environmentsCheck,
  shouldWrite,
  stageOf,
  stageStatus,
  type Stage,
} from "../core/source-view.js";
import type { DispatchSource } from "../core/source.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";
import { sourceRepository } from "./source-history.js";

export interface SourceReport {
  config: Config;
  service: string;
  env: string;
  image: string;
  source: DispatchSource | undefined;
  stage: Stage;
  /** The manifests PR the stage is about (for `reverted`, the revert PR); linked as log_url. */
  pr?: number;
  reason?: string;
  /** A verification started again (/retry): verifying after a failure is a new attempt. */
  retry?: boolean;
}

/**
 * Sets the source commit's Deployment for (service, environment) to the stage, creating it the
 * first time, and rewrites the check run. Reports on one commit are written one at a time, in the
 * order they were made (the queue is joined at once), so a stage reported first lands first.
 * 1 app call (cached), 1 call plus 1 per Deployment of the commit; then, unless the stage is
 * already there, 1 status (and 1 Deployment the first time) and 2 calls for the check run.
 */
export function reportToSource(services: Services, scope: RepoScope, report: SourceReport): Promise<void> {
  const { source } = report;
  if (!source?.repository || !source.sha) return Promise.resolve();
  const { repository, sha } = source;
  return services.queue.run(
    `source:${repository}@${sha}`,
    async () => {
      try {
        const repo = await sourceRepository(services, scope, repository);
        if (repo.kind === "ok") await writeStage(repo.gh, scope, sha, report);
      } catch (error) {
        scope.log.warn(
          { err: describeError(error), source: repository, stage: report.stage },
          "could not update the service repository's view",
        );
      }
    },
    repository,
  );
}

async function writeStage(gh: GitHubRepo, scope: RepoScope, sha: string, report: SourceReport): Promise<void> {
  const status = stageStatus(report.stage, {
    env: report.env,
    image: report.image,
    pr: report.pr,
    manifests: scope.gh.fullName,
    reason: report.reason,
  });
  const logUrl = report.pr !== undefined ? `${scope.htmlUrl}/pull/${report.pr}` : undefined;
  const mine = (await gh.deployments.ofCommitWithStatus(sha)).filter((d) => d.payload.service === report.service);
  const existing = mine.find((d) => d.environment === report.env);
  const latest = existing && stageOf(existing.state, existing.description);
  // A retried, replayed or resumed step finds its stage (or a later one) there: nothing to write.
  if (
    latest &&
    !shouldWrite({ stage: latest, logUrl: existing.logUrl }, { stage: report.stage, logUrl, retry: report.retry })
  )
    return;
  const names = report.config.environments.map((e) => e.name);
  const deployment =
    existing ??
    (await gh.deployments.create({
      sha,
      environment: report.env,
      description: `${report.service}: ${report.image}`,
      payload: { conveyor: true, service: report.service, image: report.image, manifests: scope.gh.fullName },
      production: report.env === names[names.length - 1],
    }));
  await gh.deployments.setStatus(deployment.id, status.state, status.description, logUrl);
  const rows = [
    ...mine
      .filter((d) => d.environment !== report.env)
      .map((d) => ({
        env: d.environment,
        state: d.state,
        description: d.description,
        logUrl: d.logUrl,
        since: d.updatedAt,
      })),
    { env: report.env, ...status, logUrl, since: new Date().toISOString() },
  ];
  const check = environmentsCheck(rows, names);
  await gh.checks.upsert(sha, { name: ENVIRONMENTS_CHECK, ...check });
}
