// The repository a webhook is about, read from its payload: a GitHub client with the event's
// installation token, and the facts flows need (clone URL, default branch, web address).
import type { Context } from "probot";
import { GitHubRepo } from "./repo.js";

export interface EventRepo {
  gh: GitHubRepo;
  installationId: number;
  cloneUrl: string;
  defaultBranch: string;
  htmlUrl: string;
}

type RepositoryPayload = {
  repository?: { clone_url?: string; html_url?: string; default_branch?: string };
  installation?: { id?: number };
};

export function eventRepo(context: Context): EventRepo {
  const payload = context.payload as RepositoryPayload;
  const repository = payload.repository ?? {};
  const htmlUrl = repository.html_url ?? "";
  return {
    gh: new GitHubRepo(context.octokit, context.repo()),
    installationId: payload.installation?.id as number,
    cloneUrl: repository.clone_url ?? `${htmlUrl}.git`,
    defaultBranch: repository.default_branch ?? "main",
    htmlUrl,
  };
}
