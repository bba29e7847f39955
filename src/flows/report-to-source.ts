// The service repository's view: where its commit's image stands in each environment, as a GitHub
// Deployment per environment on the source commit and one `conveyor/environments` check run. What
// each stage shows is core/source-view.ts. Only a repository of the same installation is written
// to, and a failure here never stops the deploy it reports on: it is logged.
import { describeError } from "../adapters/github/client.js";
import type { Config } from "../core/config.js";
import { ENVIRONMENTS_CHECK, environmentsCheck, stageStatus, type Stage } from "../core/source-view.js";
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
  /** The manifests PR that moves (or moved) the image. */
  pr?: number;
  reason?: string;
}

/**
 * Sets the source commit's Deployment for (service, environment) to the stage, creating it the
 * first time, and rewrites the check run. 1 app call, then 3–4 calls plus 1 per environment.
 */
export async function reportToSource(services: Services, scope: RepoScope, report: SourceReport): Promise<void> {
  const { source } = report;
  if (!source?.repository || !source.sha) return;
  const sha = source.sha;
  try {
    const repo = await sourceRepository(services, scope, source.repository);
    if (repo.kind !== "ok") return;
    const gh = repo.gh;
    // One writer per source commit at a time: its Deployments and check run are never made twice.
    await services.queue.run(
      `source:${source.repository}@${sha}`,
      async () => {
        const status = stageStatus(report.stage, {
          env: report.env,
          image: report.image,
          pr: report.pr,
          manifests: scope.gh.fullName,
          reason: report.reason,
        });
        const existing = (await gh.deployments.ofCommit(sha, report.env)).find(
          (d) => d.payload.service === report.service,
        );
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
        const logUrl = report.pr !== undefined ? `${scope.htmlUrl}/pull/${report.pr}` : undefined;
        await gh.deployments.setStatus(deployment.id, status.state, status.description, logUrl);
        const rows = (await gh.deployments.ofCommitWithStatus(sha))
          .filter((d) => d.payload.service === report.service)
          .map((d) => ({
            env: d.environment,
            state: d.state,
            description: d.description,
            logUrl: d.logUrl,
            since: d.updatedAt,
          }));
        const check = environmentsCheck(rows, names);
        await gh.checks.upsert(sha, { name: ENVIRONMENTS_CHECK, ...check });
      },
      source.repository,
    );
  } catch (error) {
    scope.log.warn(
      { err: describeError(error), source: source.repository, stage: report.stage },
      "could not update the service repository's view",
    );
  }
}
