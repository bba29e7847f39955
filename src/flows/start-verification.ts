// A merged change becomes a verification: its GitHub Deployment is created (the durable record a
// restarted or other replica resumes from), marked in progress, announced on its PR, and handed
// to the verification loop when this replica runs it.
import type { Config, EnvironmentConfig } from "../core/config.js";
import { deploymentFor, verificationOf, type ChangeRecord, type Verification } from "../core/verification.js";
import { verificationStartedComment } from "../core/verification-text.js";
import { reportToSource } from "./report-to-source.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";

export interface StartInput {
  config: Config;
  env: EnvironmentConfig;
  change: ChangeRecord;
  pr?: Verification["pr"];
  /** Say on the PR that verification started (a push does; /retry answers in its own reply). */
  announce: boolean;
}

export async function startVerification(
  services: Services,
  scope: RepoScope,
  input: StartInput,
): Promise<{ deploymentId: number; app: string }> {
  const { gh } = scope;
  const { change, config, env } = input;
  // The service repository sees the merge, then the watch (a /retry only the watch, again).
  const report = {
    config,
    service: change.service,
    env: env.name,
    image: change.to ?? "",
    source: change.source,
    pr: change.pr,
  };
  if (change.retryOf === undefined) await reportToSource(services, scope, { ...report, stage: "merged" });
  const record = deploymentFor(config, change);
  const app = record.payload.application as string;
  const deployment = await gh.deployments.create({ sha: change.revision, ...record });
  await gh.deployments.setStatus(
    deployment.id,
    "in_progress",
    `Watching Argo CD application ${app}${change.retryOf !== undefined ? " (retry)" : ""}`,
  );
  if (input.pr && input.announce) {
    await gh.issues.comment(
      input.pr.number,
      verificationStartedComment({
        service: change.service,
        env: env.name,
        app,
        revision: change.revision,
        deploymentId: deployment.id,
        soakMs: env.soak,
      }),
    );
  }
  await reportToSource(services, scope, { ...report, stage: "verifying", retry: change.retryOf !== undefined });
  // Another replica may lead the watch loop: the Deployment is the record it resumes from.
  const verifier = services.verifier;
  if (verifier?.running) {
    verifier.track(
      verificationOf({
        config,
        env,
        repo: {
          ...gh.ref,
          installationId: scope.installationId,
          cloneUrl: scope.cloneUrl,
          defaultBranch: scope.defaultBranch,
        },
        change,
        deploymentId: deployment.id,
        startedAt: new Date().toISOString(),
        pr: input.pr,
      }),
    );
    scope.log.info(
      { service: change.service, env: env.name, deployment: deployment.id, revision: change.revision },
      "verification started",
    );
  }
  return { deploymentId: deployment.id, app };
}
