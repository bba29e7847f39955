// One manifests repository, as a flow works on it: its GitHub client, its git clone, its default
// branch and where to log. Made from a webhook (by its handler) or from a verification.
import type { GitHubRepo } from "../adapters/github/repo.js";
import type { GitWorkspace } from "../adapters/git-workspace.js";
import type { Log, Services } from "./services.js";

export interface RepoScope {
  gh: GitHubRepo;
  workspace: GitWorkspace;
  installationId: number;
  cloneUrl: string;
  defaultBranch: string;
  /** The repository's web address, for links in replies. */
  htmlUrl: string;
  /** The GitHub server's web address (github.com or an Enterprise Server), for links elsewhere. */
  webUrl: string;
  log: Log;
}

export function repoScope(
  services: Services,
  input: {
    gh: GitHubRepo;
    installationId: number;
    cloneUrl: string;
    defaultBranch: string;
    htmlUrl?: string;
    log: Log;
  },
): RepoScope {
  const { gh } = input;
  const htmlUrl = input.htmlUrl ?? input.cloneUrl.replace(/\.git$/, "");
  return {
    gh,
    workspace: services.workspaces.get(gh.fullName, input.cloneUrl).useToken(() => gh.token()),
    installationId: input.installationId,
    cloneUrl: input.cloneUrl,
    defaultBranch: input.defaultBranch,
    htmlUrl,
    webUrl: gh.webUrl,
    log: input.log,
  };
}

/** The scope of the repository a verification watches, with a fresh installation client. */
export async function scopeOfRepo(
  services: Services,
  repo: { owner: string; repo: string; installationId: number; cloneUrl: string; defaultBranch: string },
  log: Log,
): Promise<RepoScope> {
  const gh = await services.github.repo(repo.installationId, { owner: repo.owner, repo: repo.repo });
  return repoScope(services, {
    gh,
    installationId: repo.installationId,
    cloneUrl: repo.cloneUrl,
    defaultBranch: repo.defaultBranch,
    log,
  });
}
