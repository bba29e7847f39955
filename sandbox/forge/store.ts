/**
 * In-memory state of the forge: accounts, tokens, installations and the
 * per-repository records (issues, pull requests, comments, deployments,
 * check runs, statuses). Git data itself lives in the bare repositories.
 */
import { randomBytes } from "node:crypto";
import { BareRepo } from "./git.js";

export type Permission = "admin" | "write" | "read" | "none";
export const PERMISSION_RANK: Record<Permission, number> = { none: 0, read: 1, write: 2, admin: 3 };

export interface Account {
  id: number;
  login: string;
  type: "User" | "Organization" | "Bot";
}

export interface User extends Account {
  type: "User";
  token: string;
  /** Permission on every repository of the forge unless overridden per repository. */
  permission: Permission;
  name: string;
  email: string;
}

export interface AppInfo {
  id: number;
  /** The App's OAuth client secret (its client id is `Iv1.<slug>`). */
  clientSecret: string;
  slug: string;
  name: string;
  publicKeyPem: string;
  bot: Account;
  owner: Account;
  createdAt: string;
}

export interface Installation {
  id: number;
  account: Account;
  createdAt: string;
}

export interface InstallationToken {
  token: string;
  installationId: number;
  expiresAt: number;
}

export interface Label {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface Reaction {
  id: number;
  user: Account;
  content: string;
  createdAt: string;
}

export interface IssueComment {
  id: number;
  issueNumber: number;
  body: string;
  user: Account;
  viaApp: boolean;
  createdAt: string;
  updatedAt: string;
  reactions: Reaction[];
}

export interface Review {
  id: number;
  user: Account;
  body: string;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "PENDING" | "DISMISSED";
  commitId: string;
  submittedAt: string | null;
}

export interface PullData {
  id: number;
  headRef: string;
  headSha: string;
  baseRef: string;
  baseSha: string;
  draft: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergedBy: Account | null;
  mergeCommitSha: string | null;
  /** Every commit the merge put on the base branch (one for merge and squash, each replayed one for rebase). */
  landedCommits?: string[];
  maintainerCanModify: boolean;
  requestedReviewers: Account[];
  reviews: Review[];
}

export interface Issue {
  number: number;
  id: number;
  title: string;
  body: string | null;
  user: Account;
  viaApp: boolean;
  state: "open" | "closed";
  stateReason: string | null;
  labels: string[];
  assignees: Account[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedBy: Account | null;
  locked: boolean;
  pull?: PullData;
}

export interface DeploymentStatus {
  id: number;
  state: string;
  description: string;
  environment: string;
  environmentUrl: string;
  logUrl: string;
  targetUrl: string;
  creator: Account;
  viaApp: boolean;
  createdAt: string;
}

export interface Deployment {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  originalEnvironment: string;
  payload: unknown;
  description: string | null;
  creator: Account;
  viaApp: boolean;
  transientEnvironment: boolean;
  productionEnvironment: boolean;
  createdAt: string;
  updatedAt: string;
  statuses: DeploymentStatus[];
}

export interface CheckRun {
  id: number;
  headSha: string;
  name: string;
  status: string;
  conclusion: string | null;
  startedAt: string | null;
  completedAt: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  checkSuiteId: number;
}

export interface CommitStatus {
  id: number;
  sha: string;
  state: "error" | "failure" | "pending" | "success";
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: Account;
  createdAt: string;
  updatedAt: string;
}

/** The merge settings of a repository, as `PATCH /repos/{owner}/{repo}` sets them. */
export interface MergeSettings {
  allowMergeCommit: boolean;
  allowSquashMerge: boolean;
  allowRebaseMerge: boolean;
}

/** A new repository's, as on GitHub: every method allowed. */
export const DEFAULT_MERGE_SETTINGS: MergeSettings = {
  allowMergeCommit: true,
  allowSquashMerge: true,
  allowRebaseMerge: true,
};

export interface Repo {
  id: number;
  owner: Account;
  name: string;
  private: boolean;
  defaultBranch: string;
  git: BareRepo;
  createdAt: string;
  updatedAt: string;
  pushedAt: string;
  nextNumber: number;
  issues: Map<number, Issue>;
  comments: Map<number, IssueComment>;
  labels: Map<string, Label>;
  deployments: Deployment[];
  checkRuns: CheckRun[];
  statuses: CommitStatus[];
  /** Per-repository permission overrides by login. */
  permissions: Map<string, Permission>;
  mergeSettings: MergeSettings;
  /** Serialises ref-changing work (pushes, merges, ref API). */
  lock: Promise<unknown>;
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function newToken(prefix: string): string {
  return prefix + randomBytes(18).toString("base64url").replace(/[-_]/g, "x").slice(0, 36);
}

export class Store {
  private ids = 1000;
  readonly accounts = new Map<string, Account>();
  readonly users = new Map<string, User>();
  readonly tokens = new Map<string, User>();
  readonly installations = new Map<number, Installation>();
  readonly installationTokens = new Map<string, InstallationToken>();
  readonly repos = new Map<string, Repo>();
  /** OAuth web-flow codes waiting to be exchanged for a user token. */
  readonly oauthCodes = new Map<string, { login: string; redirectUri: string; expiresAt: number }>();
  app: AppInfo | null = null;

  nextId(): number {
    return ++this.ids;
  }

  /** The account for `login`, created as an organization when unknown. */
  account(login: string, type: Account["type"] = "Organization"): Account {
    const key = login.toLowerCase();
    let a = this.accounts.get(key);
    if (!a) {
      a = { id: this.nextId(), login, type };
      this.accounts.set(key, a);
    }
    return a;
  }

  addUser(login: string, permission: Permission, token?: string): User {
    const existing = this.users.get(login.toLowerCase());
    if (existing) {
      this.tokens.delete(existing.token);
      existing.permission = permission;
      existing.token = token ?? existing.token;
      this.tokens.set(existing.token, existing);
      return existing;
    }
    const prior = this.accounts.get(login.toLowerCase());
    const id = prior?.id ?? this.nextId();
    const user: User = {
      id,
      login,
      type: "User",
      token: token ?? newToken("ghp_"),
      permission,
      name: login,
      email: `${id}+${login}@users.noreply.forge.local`,
    };
    this.accounts.set(login.toLowerCase(), user);
    this.users.set(login.toLowerCase(), user);
    this.tokens.set(user.token, user);
    return user;
  }

  repo(owner: string, name: string): Repo | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  installationFor(login: string): Installation | undefined {
    for (const inst of this.installations.values())
      if (inst.account.login.toLowerCase() === login.toLowerCase()) return inst;
    return undefined;
  }

  /** The account behind a commit email, for `author`/`committer` fields. */
  accountByEmail(email: string): Account | null {
    for (const u of this.users.values()) if (u.email.toLowerCase() === email.toLowerCase()) return u;
    const app = this.app;
    if (app && email.toLowerCase() === botEmail(app.bot).toLowerCase()) return app.bot;
    return null;
  }
}

export function botEmail(bot: Account): string {
  return `${bot.id}+${bot.login}@users.noreply.forge.local`;
}

/** Run `fn` after all earlier work queued on the repository has finished. */
export function withRepoLock<T>(repo: Repo, fn: () => Promise<T>): Promise<T> {
  const run = repo.lock.then(fn, fn);
  repo.lock = run.catch(() => undefined);
  return run;
}
