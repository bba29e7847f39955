// After a restart the bot rebuilds what it was doing from GitHub: every Conveyor Deployment whose
// latest status is in_progress is verified again, with its original start time, so deadlines
// still hold.
import type { Probot } from "probot";
import { applicationName, findEnvironment } from "../core/config.js";
import { Deployments, type Octokit } from "../adapters/github.js";
import { readConfig } from "./load-config.js";
import type { AppServices } from "./services.js";

/** Deployments seen with a final status; never asked about again. */
const settled = new Set<number>();
const LOOKBACK_MS = 24 * 3_600_000;

export async function resumeVerifications(app: Probot, services: AppServices): Promise<number> {
  const verifier = services.verifier;
  if (!verifier) return 0;
  const appOctokit = (await app.auth()) as Octokit;
  const installations = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 });
  let resumed = 0;
  for (const installation of installations) {
    const octokit = (await app.auth(installation.id)) as Octokit;
    const { data } = await octokit.rest.apps.listReposAccessibleToInstallation({ per_page: 100 });
    for (const repository of data.repositories) {
      const ref = { owner: repository.owner.login, repo: repository.name };
      const open = await new Deployments(octokit, ref).inProgress({
        since: Date.now() - LOOKBACK_MS,
        skip: (id) => settled.has(id) || verifier.isTracking(id),
        settled: (id) => settled.add(id),
      });
      if (open.length === 0) continue;
      const config = await readConfig(octokit, ref);
      if (!config) continue;
      for (const d of open) {
        const p = d.payload;
        const env = findEnvironment(config, d.environment);
        if (!env || typeof p.service !== "string" || typeof p.file !== "string" || verifier.isTracking(d.id)) continue;
        let pr: { number: number; author?: string; labels: string[] } | undefined;
        if (typeof p.pr === "number") {
          const { data: got } = await octokit.rest.pulls.get({ ...ref, pull_number: p.pr });
          const human = [got.user?.login, got.merged_by?.login].find((login) => login && !login.endsWith("[bot]"));
          pr = { number: got.number, author: human, labels: got.labels.map((l) => l.name ?? "") };
        }
        verifier.track({
          repo: { ...ref, installationId: installation.id, cloneUrl: repository.clone_url, defaultBranch: repository.default_branch },
          service: p.service,
          env: env.name,
          app: { namespace: config.argocd.namespace, name: typeof p.application === "string" ? p.application : applicationName(config, p.service, env.name) },
          revision: d.sha,
          base: typeof p.base === "string" ? p.base : undefined,
          deploymentId: d.id,
          pr,
          from: typeof p.from === "string" ? p.from : undefined,
          to: typeof p.to === "string" ? p.to : undefined,
          file: p.file,
          startedAt: d.createdAt,
          policy: { soakMs: env.soak, syncMs: env.timeouts.sync, healthMs: env.timeouts.health, suspendedMs: env.timeouts.suspended, degradedGraceMs: env.timeouts.degradedGrace },
        });
        resumed++;
      }
    }
  }
  if (resumed) app.log.info({ resumed }, "resumed in-progress verifications from GitHub Deployments");
  return resumed;
}
