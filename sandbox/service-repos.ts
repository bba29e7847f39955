// The service repositories of the sandbox (acme/order-service, ...): a history of commits and
// squash-merged PRs, each with a sensible subject, so deploy events can name real source commits
// and Conveyor's PRs list real changelogs. The image each environment runs at the start (1.4.0)
// is recorded as built from an older commit, the way Conveyor records a deploy's source.
import type { Forge } from "./forge/index.js";

export interface ServiceRepo {
  repository: string;
  /** The default branch's commits, oldest first. */
  commits: Array<{ sha: string; subject: string; pr?: number }>;
  /** The commit the image running at the start (tag 1.4.0) was built from. */
  deployedSha: string;
}

/** What happened in each service repository, oldest first: a direct commit, or a merged PR. */
const HISTORY: Array<{ subject: string; pr?: boolean; file: string }> = [
  { subject: "Initial service skeleton", file: "README.md" },
  { subject: "Add health endpoints", pr: true, file: "src/health.ts" },
  { subject: "Release 1.4.0", file: "VERSION" },
  { subject: "Fix rounding of order totals", pr: true, file: "src/totals.ts" },
  { subject: "Log request ids", file: "src/log.ts" },
  { subject: "Add pagination to the list endpoint", pr: true, file: "src/list.ts" },
  { subject: "Bump base image", file: "Dockerfile" },
];

/** Index in HISTORY of the commit that 1.4.0 was built from. */
const DEPLOYED = 2;

export async function seedServiceRepos(
  forge: Forge,
  owner: string,
  services: readonly string[],
): Promise<Record<string, ServiceRepo>> {
  const repos: Record<string, ServiceRepo> = {};
  for (const service of services) {
    await forge.createRepo(owner, service, { defaultBranch: "main" });
    const commits: ServiceRepo["commits"] = [];
    for (const [i, step] of HISTORY.entries()) {
      const files = { [step.file]: `${service}: ${step.subject}\n` };
      if (step.pr) {
        const branch = step.subject.toLowerCase().replace(/[^a-z0-9]+/g, "-");
        const { number, sha } = await forge.seedMergedPull(owner, service, {
          title: step.subject,
          branch,
          files,
          author: i % 2 ? "reviewer" : "admin",
        });
        commits.push({ sha, subject: `${step.subject} (#${number})`, pr: number });
      } else {
        const sha = await forge.seed(owner, service, files, step.subject, { silent: true });
        commits.push({ sha, subject: step.subject });
      }
    }
    repos[service] = {
      repository: `${owner}/${service}`,
      commits,
      deployedSha: (commits[DEPLOYED] as { sha: string }).sha,
    };
  }
  return repos;
}

/**
 * Records, as Conveyor would have, that the image each environment runs came from the service
 * repository's `deployedSha`: one verified Deployment per (service, environment) in the manifests
 * repository, at its current commit.
 */
export async function recordDeployedSources(
  forge: Forge,
  manifests: { owner: string; repo: string },
  repos: Record<string, ServiceRepo>,
  environments: readonly string[],
  image: (service: string) => string,
): Promise<void> {
  const api = `${forge.url}/repos/${manifests.owner}/${manifests.repo}`;
  const headers = { authorization: `token ${forge.token("admin")}`, "content-type": "application/json" };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${api}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`forge: POST ${path} failed: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: number };
  };
  for (const [service, repo] of Object.entries(repos)) {
    for (const env of environments) {
      const deployment = await post("/deployments", {
        ref: "main",
        environment: env,
        task: "deploy",
        auto_merge: false,
        required_contexts: [],
        description: `${service}: ${image(service)}`,
        payload: {
          conveyor: true,
          service,
          from: null,
          to: image(service),
          pr: null,
          application: `${service}-${env}`,
          file: `services/${service}/overlays/${env}/kustomization.yaml`,
          base: null,
          revert: false,
          source: { repository: repo.repository, sha: repo.deployedSha },
        },
      });
      await post(`/deployments/${deployment.id}/statuses`, {
        state: "success",
        description: "Synced, healthy and stable",
      });
    }
  }
}
