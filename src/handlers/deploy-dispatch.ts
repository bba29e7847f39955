// repository_dispatch -> a PR per (service, environment). This file routes and executes; what
// to change is decided by core/dispatch.ts (is the event valid?) and core/plan-deploy.ts
// (what should the overlay and the PR become?).
import type { Context } from "probot";
import type { Probot } from "probot";
import { parseDispatch } from "../core/dispatch.js";
import type { Rejection } from "../core/plan-deploy.js";
import { ERROR_LABEL, rejectionReport } from "../core/report-text.js";
import { describeError, failCheckRun, installationToken, ManifestsRepo, statusOf } from "../adapters/github.js";
import { loadConfig } from "./load-config.js";
import { proposeDeploy } from "./propose-deploy.js";
import type { AppServices } from "./services.js";

export async function handleDeployDispatch(context: Context<"repository_dispatch">, app: Probot, services: AppServices): Promise<void> {
  const { payload } = context;
  const intent = parseDispatch(payload.action, payload.client_payload);
  if (intent.kind === "ignore") {
    context.log.debug({ action: payload.action }, `repository_dispatch ignored: ${intent.reason}`);
    return;
  }
  const repo = new ManifestsRepo(context.octokit, context.repo());
  const config = await loadConfig(context, repo);
  if (!config) return;

  if (intent.kind === "reject") {
    await reportRejection(context, app, repo, intent);
    return;
  }

  const { request } = intent;
  const log = context.log.child({ repo: repo.fullName, service: request.service });
  const workspace = services.workspaces.get(repo.fullName, payload.repository.clone_url).useToken(() => installationToken(context));
  // Answered now, done in the background: in a burst the edit waits its turn in the repo's queue
  // far longer than GitHub waits for a webhook answer.
  services.background.start("deploy", log, async () => {
    const outcome = await proposeDeploy({ repo, workspace, queue: services.queue, config, defaultBranch: payload.repository.default_branch, request, mode: "dispatch", log });
    if (outcome.kind === "reject") await reportRejection(context, app, repo, outcome);
    else if (outcome.kind === "noop") log.info(`nothing to do: ${outcome.reason}`);
  });
}

/**
 * Tells whoever sent a bad event why nothing happened: a failed check run on their commit when
 * Conveyor is installed on their repository, otherwise one issue per (service, reason) here.
 */
async function reportRejection(context: Context<"repository_dispatch">, app: Probot, repo: ManifestsRepo, rejection: Rejection): Promise<void> {
  const report = rejectionReport({
    manifestsRepo: repo.fullName,
    eventType: context.payload.action,
    service: rejection.service,
    code: rejection.code,
    reason: rejection.reason,
    source: rejection.source,
    deliveryId: context.id,
  });
  context.log.warn({ code: rejection.code, service: rejection.service }, `deploy refused: ${rejection.reason}`);

  const { repository, sha } = rejection.source;
  if (repository && sha) {
    const [owner, name] = repository.split("/") as [string, string];
    try {
      const appOctokit = await app.auth();
      const { data: installation } = await appOctokit.rest.apps.getRepoInstallation({ owner, repo: name });
      const octokit = await app.auth(installation.id);
      await failCheckRun(octokit, { owner, repo: name, sha }, { name: report.checkName, title: report.title, summary: report.body });
      return;
    } catch (error) {
      const status = statusOf(error);
      if (status !== 404 && status !== 403 && status !== 422) throw error;
      context.log.info({ status }, `cannot report on ${repository}@${sha} (${describeError(error)}); opening an issue instead`);
    }
  }
  await repo.upsertIssue({ label: ERROR_LABEL, marker: report.marker, title: report.title, body: report.body });
}
