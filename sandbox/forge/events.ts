/**
 * Builds webhook payloads the way GitHub shapes them, and reacts to ref
 * changes (git pushes, merges, ref API) with `push` and `pull_request` events.
 */
import { ZERO_SHA } from "./git.js";
import type { Core } from "./router.js";
import * as shape from "./shapes.js";
import type { Account, Issue, Repo } from "./store.js";
import { now } from "./store.js";

export function installationOf(core: Core, repo: Repo): { id: number; node_id: string } | null {
  const inst = core.store.installationFor(repo.owner.login);
  return inst ? { id: inst.id, node_id: shape.nodeId("Installation", inst.id) } : null;
}

/**
 * Emit a repository event to the app's webhook. As on GitHub, an app only
 * hears about repositories it is installed on; other events are not sent.
 */
export function emitRepoEvent(
  core: Core,
  repo: Repo,
  event: string,
  fields: Record<string, unknown>,
  sender: Account,
): void {
  const installation = installationOf(core, repo);
  if (!installation || !core.store.app) return;
  const payload: Record<string, unknown> = {
    ...fields,
    repository: shape.repository(core.urls, repo),
    sender: shape.user(core.urls, sender),
    installation,
  };
  if (repo.owner.type === "Organization") {
    payload["organization"] = {
      login: repo.owner.login,
      id: repo.owner.id,
      node_id: shape.nodeId("Organization", repo.owner.id),
      url: `${core.urls.api}/orgs/${repo.owner.login}`,
      repos_url: `${core.urls.api}/orgs/${repo.owner.login}/repos`,
      events_url: `${core.urls.api}/orgs/${repo.owner.login}/events`,
      hooks_url: `${core.urls.api}/orgs/${repo.owner.login}/hooks`,
      issues_url: `${core.urls.api}/orgs/${repo.owner.login}/issues`,
      members_url: `${core.urls.api}/orgs/${repo.owner.login}/members{/member}`,
      public_members_url: `${core.urls.api}/orgs/${repo.owner.login}/public_members{/member}`,
      avatar_url: `${core.urls.html}/avatars/${repo.owner.login}`,
      description: null,
    };
  }
  core.hooks.emit(event, payload);
}

/** Mergeability and diff statistics of a pull request (computed with git). */
/** A pull's figures depend only on the two commits (and whether it is open): kept per repository. */
const statsSeen = new WeakMap<Repo, Map<string, shape.PullStats>>();

export async function pullStats(repo: Repo, issue: Issue): Promise<shape.PullStats> {
  const p = issue.pull!;
  const baseTip = (await repo.git.resolve(p.baseRef)) ?? p.baseSha;
  const open = !p.merged && issue.state === "open";
  const key = `${baseTip} ${p.headSha} ${open}`;
  let seen = statsSeen.get(repo);
  if (!seen) statsSeen.set(repo, (seen = new Map()));
  const known = seen.get(key);
  if (known) return { ...known };
  const stats = await computePullStats(repo, p.headSha, baseTip, open);
  if (seen.size >= 2000) seen.clear();
  seen.set(key, stats);
  return { ...stats };
}

async function computePullStats(repo: Repo, headSha: string, baseTip: string, open: boolean): Promise<shape.PullStats> {
  const p = { headSha };
  const mergeBase = (await repo.git.mergeBase(baseTip, p.headSha)) ?? baseTip;
  const files = await repo.git.diff(mergeBase, p.headSha, false);
  const commits = await repo.git.countCommits(`${mergeBase}..${p.headSha}`);
  let mergeable: boolean | null = null;
  let mergeableState = "unknown";
  if (open) {
    const merge = await repo.git.mergeTree(baseTip, p.headSha);
    mergeable = "tree" in merge;
    mergeableState = mergeable ? "clean" : "dirty";
  }
  return {
    mergeable,
    mergeableState,
    commits,
    additions: files.reduce((n, f) => n + f.additions, 0),
    deletions: files.reduce((n, f) => n + f.deletions, 0),
    changedFiles: files.length,
  };
}

export async function emitPullEvent(
  core: Core,
  repo: Repo,
  issue: Issue,
  action: string,
  sender: Account,
  extra: Record<string, unknown> = {},
): Promise<void> {
  if (!installationOf(core, repo)) return;
  const stats = await pullStats(repo, issue);
  emitRepoEvent(
    core,
    repo,
    "pull_request",
    { action, number: issue.number, pull_request: shape.pull(core.urls, core.store, repo, issue, stats), ...extra },
    sender,
  );
}

export function emitIssueEvent(
  core: Core,
  repo: Repo,
  issue: Issue,
  action: string,
  sender: Account,
  extra: Record<string, unknown> = {},
): void {
  emitRepoEvent(
    core,
    repo,
    "issues",
    { action, issue: shape.issue(core.urls, core.store, repo, issue), ...extra },
    sender,
  );
}

async function pushCommit(core: Core, repo: Repo, sha: string): Promise<Record<string, unknown>> {
  const c = await repo.git.commit(sha);
  const paths = await repo.git.commitPaths(sha);
  const who = (id: { name: string; email: string }) => {
    const acct = core.store.accountByEmail(id.email);
    return acct ? { name: id.name, email: id.email, username: acct.login } : { name: id.name, email: id.email };
  };
  return {
    id: c.sha,
    tree_id: c.tree,
    distinct: true,
    message: c.message,
    timestamp: c.committer.date,
    url: `${core.urls.html}/${repo.owner.login}/${repo.name}/commit/${c.sha}`,
    author: who(c.author),
    committer: who(c.committer),
    ...paths,
  };
}

export interface RefChange {
  ref: string;
  before: string;
  after: string;
}

/**
 * React to ref updates made by `pusher`: a `push` event per ref, then pull
 * request bookkeeping (synchronize, closed on head deletion, merged when the
 * head landed on the base branch by a push).
 */
export async function refsChanged(core: Core, repo: Repo, changes: RefChange[], pusher: Account): Promise<void> {
  const full = `${repo.owner.login}/${repo.name}`;
  for (const ch of changes) {
    const created = ch.before === ZERO_SHA;
    const deleted = ch.after === ZERO_SHA;
    let commits: Record<string, unknown>[] = [];
    let forced = false;
    if (!deleted) {
      const shas = created
        ? await repo.git.commitsNotOnOtherBranches(ch.after, ch.ref)
        : await repo.git.commitsBetween(ch.before, ch.after, 20);
      commits = await Promise.all(shas.map((s) => pushCommit(core, repo, s)));
      if (!created) forced = !(await repo.git.isAncestor(ch.before, ch.after));
    }
    const headCommit = deleted ? null : (commits[commits.length - 1] ?? (await pushCommit(core, repo, ch.after)));
    repo.pushedAt = now();
    const short = (s: string) => s.slice(0, 12);
    emitRepoEvent(
      core,
      repo,
      "push",
      {
        ref: ch.ref,
        before: ch.before,
        after: ch.after,
        pusher: {
          name: pusher.login,
          email: pusher.type === "User" ? `${pusher.id}+${pusher.login}@users.noreply.forge.local` : null,
        },
        created,
        deleted,
        forced,
        base_ref: null,
        compare: created
          ? `${core.urls.html}/${full}/commit/${short(ch.after)}`
          : `${core.urls.html}/${full}/compare/${short(ch.before)}...${short(ch.after)}`,
        commits,
        head_commit: headCommit,
      },
      pusher,
    );
  }

  for (const ch of changes) {
    const m = /^refs\/heads\/(.+)$/.exec(ch.ref);
    if (!m) continue;
    const branch = m[1]!;
    for (const issue of repo.issues.values()) {
      const p = issue.pull;
      if (!p || issue.state !== "open") continue;
      if (p.headRef === branch) {
        if (ch.after === ZERO_SHA) {
          issue.state = "closed";
          issue.closedAt = issue.updatedAt = now();
          issue.closedBy = pusher;
          await emitPullEvent(core, repo, issue, "closed", pusher);
        } else if (ch.after !== p.headSha) {
          const before = p.headSha;
          p.headSha = ch.after;
          issue.updatedAt = now();
          await emitPullEvent(core, repo, issue, "synchronize", pusher, { before, after: ch.after });
        }
      }
    }
    // A push to a base branch that now contains a PR's head merges that PR.
    if (ch.after === ZERO_SHA) continue;
    for (const issue of repo.issues.values()) {
      const p = issue.pull;
      if (!p || issue.state !== "open" || p.baseRef !== branch) continue;
      if (
        p.headSha !== ch.after &&
        (await repo.git.isAncestor(p.headSha, ch.after)) &&
        !(await repo.git.isAncestor(p.headSha, ch.before === ZERO_SHA ? ch.after : ch.before))
      ) {
        markMerged(issue, pusher, ch.after);
        await emitPullEvent(core, repo, issue, "closed", pusher);
      }
    }
  }
}

export function markMerged(issue: Issue, by: Account, mergeCommit: string): void {
  const p = issue.pull!;
  const t = now();
  p.merged = true;
  p.mergedAt = t;
  p.mergedBy = by;
  p.mergeCommitSha = mergeCommit;
  issue.state = "closed";
  issue.closedAt = t;
  issue.updatedAt = t;
  issue.closedBy = by;
}
