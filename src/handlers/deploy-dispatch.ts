// repository_dispatch -> a PR per (service, environment). This file routes and executes; what
// to change is decided by core/dispatch.ts (is the event valid?) and core/plan-deploy.ts
// (what should the overlay and the PR become?).
import type { Context } from "probot";
import type { Probot } from "probot";
import { parseDispatch, type DispatchSource } from "../core/dispatch.js";
import { discoverServices } from "../core/discover.js";
import { planDeploy, resolveTarget, type DeployPlan, type Rejection } from "../core/plan-deploy.js";
import { ERROR_LABEL, rejectionReport } from "../core/report-text.js";
import { describeError, failCheckRun, ManifestsRepo, statusOf } from "../adapters/github.js";
import type { GitWorkspace } from "../adapters/git-workspace.js";
import { loadConfig } from "./load-config.js";
import type { AppServices } from "./services.js";

const PUSH_ATTEMPTS = 3;

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
  const defaultBranch = payload.repository.default_branch;

  const outcome = await services.queue.run(repo.fullName, async () => {
    for (let attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++) {
      await workspace.sync();
      const defaultSha = await workspace.remoteBranch(defaultBranch);
      if (!defaultSha) throw new Error(`default branch ${defaultBranch} not found in ${repo.fullName}`);
      const known = discoverServices(await workspace.listFiles(defaultSha, "."), config);
      const resolved = resolveTarget(request, config, known);
      if (resolved.kind === "reject") return resolved;
      const { target } = resolved;

      const branchSha = await workspace.remoteBranch(target.branch);
      const openPr = branchSha ? await repo.findOpenPr(target.branch) : undefined;
      const plan: DeployPlan = planDeploy({
        target,
        request,
        config,
        onDefault: await readOverlay(workspace, defaultSha, target.overlayFile),
        botBranch: branchSha
          ? { text: await readOverlay(workspace, branchSha, target.overlayFile), containsDefault: await workspace.isAncestor(defaultSha, branchSha) }
          : undefined,
        openPr,
      });
      if (plan.kind !== "change") return plan;

      const parent = plan.base === "branch" ? (branchSha as string) : defaultSha;
      const commit = await workspace.commitFile({ parent, path: target.overlayFile, text: plan.text, message: plan.commitMessage });
      if (!(await workspace.pushBranch(target.branch, commit, branchSha))) {
        log.info({ attempt }, `push to ${target.branch} was rejected (someone else moved it); fetching and retrying`);
        continue;
      }

      if (plan.existingPr !== undefined) {
        await repo.updatePr(plan.existingPr, { title: plan.title, body: plan.body });
        if (plan.supersedes) {
          await repo.comment(plan.existingPr, `Updated to \`${plan.move.to}\`, superseding \`${plan.supersedes}\` (requested by ${describeRequester(request.source)}).`);
        }
        log.info({ pr: plan.existingPr, image: plan.move.to, superseded: plan.supersedes }, "updated deploy PR");
        return { kind: "updated" as const, pr: plan.existingPr };
      }
      const pr = await repo.createPr({ branch: target.branch, base: defaultBranch, title: plan.title, body: plan.body, labels: plan.labels });
      log.info({ pr: pr.number, env: target.env, image: plan.move.to }, "opened deploy PR");
      return { kind: "opened" as const, pr: pr.number };
    }
    throw new Error(`could not push ${request.service} after ${PUSH_ATTEMPTS} attempts: the branch kept moving`);
  });

  if (outcome.kind === "reject") await reportRejection(context, app, repo, outcome);
  else if (outcome.kind === "noop") log.info(`nothing to do: ${outcome.reason}`);
}

async function readOverlay(workspace: GitWorkspace, commit: string, file: string): Promise<string | undefined> {
  return workspace.readFile(commit, file);
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

async function installationToken(context: Context): Promise<string | undefined> {
  const auth = (await context.octokit.auth({ type: "installation" })) as { token?: string };
  return auth.token;
}

function describeRequester(source: DispatchSource): string {
  if (source.repository) return `${source.repository}${source.sha ? `@${source.sha.slice(0, 12)}` : ""}`;
  return "a deploy event";
}
