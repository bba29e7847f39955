// push to the manifests repo's default branch -> a GitHub Deployment per (service, environment)
// whose overlay changed, then Argo CD verification. Pushes to other branches and pushes that
// touch no overlay do nothing.
import type { Context, Probot } from "probot";
import { findEnvironment } from "../core/config.js";
import { overlayOwner } from "../core/discover.js";
import { readImages } from "../core/set-image.js";
import { formatImageRef } from "../core/image-ref.js";
import { verificationStartedComment } from "../core/verification-text.js";
import { applicationName } from "../core/config.js";
import { CONFIG_LABEL, CONFIG_MARKER } from "../core/report-text.js";
import { REVERT_LABEL } from "../core/pr-text.js";
import { Deployments, installationToken, ManifestsRepo, pullRequestForCommit } from "../adapters/github.js";
import type { GitWorkspace } from "../adapters/git-workspace.js";
import { loadConfig } from "./load-config.js";
import type { AppServices } from "./services.js";

const ZERO = /^0+$/;

export async function handlePush(context: Context<"push">, _app: Probot, services: AppServices): Promise<void> {
  const { payload } = context;
  const defaultBranch = payload.repository.default_branch ?? "main";
  if (payload.ref !== `refs/heads/${defaultBranch}` || payload.deleted || ZERO.test(payload.after)) return;

  const repo = new ManifestsRepo(context.octokit, context.repo());
  const touchedConfig = payload.commits.some((c) => [...(c.added ?? []), ...(c.modified ?? [])].includes(".github/conveyor.yml"));
  const config = await loadConfig(context, repo);
  if (!config) return;
  if (touchedConfig) {
    await repo.closeIssues({ label: CONFIG_LABEL, marker: CONFIG_MARKER, comment: `\`.github/conveyor.yml\` is valid again as of ${payload.after.slice(0, 12)}; Conveyor is back at work.` });
  }

  const workspace = services.workspaces.get(repo.fullName, payload.repository.clone_url).useToken(() => installationToken(context));
  const before = ZERO.test(payload.before) ? undefined : payload.before;
  // Reads only: no turn in the repo's queue, where a burst of deploy edits may be waiting.
  const changes = await (async () => {
    await workspace.sync();
    if (!before) return [];
    const files = await workspace.changedFiles(before, payload.after);
    const owners = new Map<string, { service: string; env: string; file: string }>();
    for (const file of files) {
      const owner = overlayOwner(file, config);
      if (owner) owners.set(`${owner.service}/${owner.env}`, { ...owner, file });
    }
    return Promise.all([...owners.values()].map(async (o) => ({ ...o, from: await imageIn(workspace, before, o.file), to: await imageIn(workspace, payload.after, o.file) })));
  })();
  if (changes.length === 0) return;

  if (!services.verifier) {
    context.log.info({ repo: repo.fullName, overlays: changes.map((c) => c.file) }, "overlays changed, but no Argo CD source is configured: not verifying");
    return;
  }

  const pr = await pullRequestForCommit(context.octokit, context.repo(), payload.after);
  const deployments = new Deployments(context.octokit, context.repo());
  const last = config.environments[config.environments.length - 1]?.name;
  for (const change of changes) {
    const env = findEnvironment(config, change.env);
    if (!env) continue;
    const app = applicationName(config, change.service, change.env);
    const deployment = await deployments.create({
      sha: payload.after,
      environment: change.env,
      description: `${change.service}: ${change.to ?? "overlay change"}`,
      production: change.env === last,
      payload: { conveyor: true, service: change.service, from: change.from ?? null, to: change.to ?? null, pr: pr?.number ?? null, application: app, file: change.file, base: before, revert: pr?.labels.includes(REVERT_LABEL) ?? false },
    });
    await deployments.setStatus(deployment.id, "in_progress", `Watching Argo CD application ${app}`);
    if (pr) await repo.comment(pr.number, verificationStartedComment({ service: change.service, env: change.env, app, revision: payload.after, deploymentId: deployment.id, soakMs: env.soak }));
    // Another replica may lead the watch loop: the Deployment is the record it resumes from.
    if (!services.verifier.running) continue;
    services.verifier.track({
      repo: { ...context.repo(), installationId: context.payload.installation?.id as number, cloneUrl: payload.repository.clone_url, defaultBranch },
      service: change.service,
      env: change.env,
      app: { namespace: config.argocd.namespace, name: app },
      revision: payload.after,
      base: before,
      deploymentId: deployment.id,
      pr: pr ? { number: pr.number, author: humanOf(pr.author, payload.sender?.login), labels: pr.labels } : undefined,
      from: change.from,
      to: change.to,
      file: change.file,
      startedAt: new Date().toISOString(),
      policy: { soakMs: env.soak, syncMs: env.timeouts.sync, healthMs: env.timeouts.health, suspendedMs: env.timeouts.suspended, degradedGraceMs: env.timeouts.degradedGrace },
    });
    context.log.info({ service: change.service, env: change.env, deployment: deployment.id, revision: payload.after }, "verification started");
  }
}

/** The person to tell about this change: its author, or whoever merged (pushed) a bot's PR. */
function humanOf(author: string | undefined, mergedBy: string | undefined): string | undefined {
  const isBot = (login: string | undefined) => !login || login.endsWith("[bot]");
  return !isBot(author) ? author : !isBot(mergedBy) ? mergedBy : undefined;
}

/** The service's image in an overlay at a commit, as one string (several images joined). */
async function imageIn(workspace: GitWorkspace, commit: string, file: string): Promise<string | undefined> {
  const text = await workspace.readFile(commit, file).catch(() => undefined);
  if (text === undefined) return undefined;
  const images = readImages(text);
  if (!images.ok || images.images.length === 0) return undefined;
  return images.images.map((i) => formatImageRef({ name: i.newName ?? i.name, tag: i.newTag, digest: i.digest })).join(", ");
}
