/**
 * Serialisers producing GitHub's REST / webhook JSON shapes from forge state.
 * Field names follow api.github.com (checked against the OpenAPI description
 * in test/sandbox/forge-openapi.test.ts).
 */
import type { CommitInfo, FileChange } from "./git.js";
import type {
  Account,
  AppInfo,
  CheckRun,
  CommitStatus,
  Deployment,
  DeploymentStatus,
  Installation,
  Issue,
  IssueComment,
  Label,
  Reaction,
  Repo,
  Review,
  Store,
} from "./store.js";

export interface Urls {
  /** REST API base, e.g. http://127.0.0.1:1234/api/v3 */
  api: string;
  /** "Web" base, also the git base, e.g. http://127.0.0.1:1234 */
  html: string;
}

export type Json = Record<string, unknown>;

export function nodeId(kind: string, id: number | string): string {
  return Buffer.from(`0${kind.length}:${kind}${id}`).toString("base64");
}

export function user(u: Urls, a: Account): Json {
  const api = `${u.api}/users/${a.login}`;
  return {
    login: a.login,
    id: a.id,
    node_id: nodeId(a.type, a.id),
    avatar_url: `${u.html}/avatars/${a.login}`,
    gravatar_id: "",
    url: api,
    html_url: `${u.html}/${a.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: a.type,
    user_view_type: "public",
    site_admin: false,
  };
}

export function repository(
  u: Urls,
  r: Repo,
  extra: { permissions?: { admin: boolean; push: boolean; pull: boolean } } = {},
): Json {
  const full = `${r.owner.login}/${r.name}`;
  const api = `${u.api}/repos/${full}`;
  const openIssues = [...r.issues.values()].filter((i) => i.state === "open").length;
  const out: Json = {
    id: r.id,
    node_id: nodeId("Repository", r.id),
    name: r.name,
    full_name: full,
    private: r.private,
    owner: user(u, r.owner),
    html_url: `${u.html}/${full}`,
    description: null,
    fork: false,
    url: api,
    forks_url: `${api}/forks`,
    keys_url: `${api}/keys{/key_id}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    teams_url: `${api}/teams`,
    hooks_url: `${api}/hooks`,
    issue_events_url: `${api}/issues/events{/number}`,
    events_url: `${api}/events`,
    assignees_url: `${api}/assignees{/user}`,
    branches_url: `${api}/branches{/branch}`,
    tags_url: `${api}/tags`,
    blobs_url: `${api}/git/blobs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    trees_url: `${api}/git/trees{/sha}`,
    statuses_url: `${api}/statuses/{sha}`,
    languages_url: `${api}/languages`,
    stargazers_url: `${api}/stargazers`,
    contributors_url: `${api}/contributors`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    commits_url: `${api}/commits{/sha}`,
    git_commits_url: `${api}/git/commits{/sha}`,
    comments_url: `${api}/comments{/number}`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    contents_url: `${api}/contents/{+path}`,
    compare_url: `${api}/compare/{base}...{head}`,
    merges_url: `${api}/merges`,
    archive_url: `${api}/{archive_format}{/ref}`,
    downloads_url: `${api}/downloads`,
    issues_url: `${api}/issues{/number}`,
    pulls_url: `${api}/pulls{/number}`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    labels_url: `${api}/labels{/name}`,
    releases_url: `${api}/releases{/id}`,
    deployments_url: `${api}/deployments`,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    pushed_at: r.pushedAt,
    git_url: `${u.html.replace(/^http/, "git")}/${full}.git`,
    ssh_url: `git@forge.local:${full}.git`,
    clone_url: `${u.html}/${full}.git`,
    svn_url: `${u.html}/${full}`,
    homepage: null,
    size: 0,
    stargazers_count: 0,
    watchers_count: 0,
    language: null,
    has_issues: true,
    has_projects: false,
    has_downloads: true,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: openIssues,
    license: null,
    allow_forking: true,
    is_template: false,
    web_commit_signoff_required: false,
    topics: [],
    visibility: r.private ? "private" : "public",
    forks: 0,
    open_issues: openIssues,
    watchers: 0,
    default_branch: r.defaultBranch,
  };
  if (extra.permissions)
    out["permissions"] = { ...extra.permissions, maintain: extra.permissions.admin, triage: extra.permissions.push };
  return out;
}

/** The repository object of GET /repos/{owner}/{repo}. */
export function fullRepository(u: Urls, r: Repo, permissions?: { admin: boolean; push: boolean; pull: boolean }): Json {
  return {
    ...repository(u, r, permissions ? { permissions } : {}),
    allow_squash_merge: r.mergeSettings.allowSquashMerge,
    allow_merge_commit: r.mergeSettings.allowMergeCommit,
    allow_rebase_merge: r.mergeSettings.allowRebaseMerge,
    allow_auto_merge: false,
    delete_branch_on_merge: false,
    allow_update_branch: false,
    use_squash_pr_title_as_default: false,
    squash_merge_commit_title: "COMMIT_OR_PR_TITLE",
    squash_merge_commit_message: "COMMIT_MESSAGES",
    merge_commit_title: "MERGE_MESSAGE",
    merge_commit_message: "PR_TITLE",
    network_count: 0,
    subscribers_count: 0,
  };
}

export function app(u: Urls, a: AppInfo, installationsCount?: number): Json {
  const out: Json = {
    id: a.id,
    slug: a.slug,
    node_id: nodeId("Integration", a.id),
    client_id: clientIdOf(a),
    owner: user(u, a.owner),
    name: a.name,
    description: "",
    external_url: u.html,
    html_url: `${u.html}/apps/${a.slug}`,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    permissions: APP_PERMISSIONS,
    events: APP_EVENTS,
  };
  if (installationsCount !== undefined) out["installations_count"] = installationsCount;
  return out;
}

export const APP_PERMISSIONS: Record<string, string> = {
  metadata: "read",
  contents: "write",
  pull_requests: "write",
  issues: "write",
  checks: "write",
  statuses: "write",
  deployments: "write",
  actions: "write",
};

export const APP_EVENTS = [
  "push",
  "pull_request",
  "pull_request_review",
  "issues",
  "issue_comment",
  "repository_dispatch",
  "deployment",
  "deployment_status",
  "check_run",
  "workflow_run",
];

export function installation(u: Urls, inst: Installation, a: AppInfo): Json {
  return {
    id: inst.id,
    // GitHub's description wants enterprise fields too (name, slug, timestamps).
    account: {
      ...user(u, inst.account),
      name: inst.account.login,
      slug: inst.account.login.toLowerCase(),
      created_at: inst.createdAt,
      updated_at: inst.createdAt,
    },
    repository_selection: "all",
    access_tokens_url: `${u.api}/app/installations/${inst.id}/access_tokens`,
    repositories_url: `${u.api}/installation/repositories`,
    html_url: `${u.html}/settings/installations/${inst.id}`,
    app_id: a.id,
    app_slug: a.slug,
    target_id: inst.account.id,
    target_type: inst.account.type === "Organization" ? "Organization" : "User",
    permissions: APP_PERMISSIONS,
    events: APP_EVENTS,
    created_at: inst.createdAt,
    updated_at: inst.createdAt,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

export function label(u: Urls, r: Repo, l: Label): Json {
  return {
    id: l.id,
    node_id: nodeId("Label", l.id),
    url: `${u.api}/repos/${r.owner.login}/${r.name}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    description: l.description,
    color: l.color,
    default: false,
  };
}

export function labelsOf(u: Urls, r: Repo, names: string[]): Json[] {
  return names
    .map((n) => r.labels.get(n.toLowerCase()))
    .filter((l): l is Label => !!l)
    .map((l) => label(u, r, l));
}

export function reactionsSummary(url: string, reactions: Reaction[]): Json {
  const count = (c: string) => reactions.filter((r) => r.content === c).length;
  return {
    url,
    total_count: reactions.length,
    "+1": count("+1"),
    "-1": count("-1"),
    laugh: count("laugh"),
    confused: count("confused"),
    heart: count("heart"),
    hooray: count("hooray"),
    eyes: count("eyes"),
    rocket: count("rocket"),
  };
}

export function authorAssociation(store: Store, r: Repo, a: Account): string {
  if (a.login.toLowerCase() === r.owner.login.toLowerCase()) return "OWNER";
  const perm = r.permissions.get(a.login.toLowerCase()) ?? store.users.get(a.login.toLowerCase())?.permission;
  if (perm === "admin" || perm === "write") return "COLLABORATOR";
  return "NONE";
}

export function issue(u: Urls, store: Store, r: Repo, i: Issue): Json {
  const base = `${u.api}/repos/${r.owner.login}/${r.name}`;
  const url = `${base}/issues/${i.number}`;
  const html = `${u.html}/${r.owner.login}/${r.name}/${i.pull ? "pull" : "issues"}/${i.number}`;
  const comments = [...r.comments.values()].filter((c) => c.issueNumber === i.number).length;
  const out: Json = {
    url,
    repository_url: base,
    labels_url: `${url}/labels{/name}`,
    comments_url: `${url}/comments`,
    events_url: `${url}/events`,
    html_url: html,
    id: i.id,
    node_id: nodeId("Issue", i.id),
    number: i.number,
    title: i.title,
    user: user(u, i.user),
    labels: labelsOf(u, r, i.labels),
    state: i.state,
    locked: i.locked,
    assignee: i.assignees[0] ? user(u, i.assignees[0]) : null,
    assignees: i.assignees.map((a) => user(u, a)),
    milestone: null,
    comments,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    closed_by: i.closedBy ? user(u, i.closedBy) : null,
    author_association: authorAssociation(store, r, i.user),
    active_lock_reason: null,
    body: i.body,
    reactions: reactionsSummary(`${url}/reactions`, []),
    timeline_url: `${url}/timeline`,
    performed_via_github_app: i.viaApp && store.app ? app(u, store.app) : null,
    state_reason: i.stateReason,
  };
  if (i.pull) {
    out["draft"] = i.pull.draft;
    out["pull_request"] = {
      url: `${base}/pulls/${i.number}`,
      html_url: `${u.html}/${r.owner.login}/${r.name}/pull/${i.number}`,
      diff_url: `${u.html}/${r.owner.login}/${r.name}/pull/${i.number}.diff`,
      patch_url: `${u.html}/${r.owner.login}/${r.name}/pull/${i.number}.patch`,
      merged_at: i.pull.mergedAt,
    };
  }
  return out;
}

export function comment(u: Urls, store: Store, r: Repo, c: IssueComment): Json {
  const base = `${u.api}/repos/${r.owner.login}/${r.name}`;
  const url = `${base}/issues/comments/${c.id}`;
  const isPull = !!r.issues.get(c.issueNumber)?.pull;
  return {
    url,
    html_url: `${u.html}/${r.owner.login}/${r.name}/${isPull ? "pull" : "issues"}/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${base}/issues/${c.issueNumber}`,
    id: c.id,
    node_id: nodeId("IssueComment", c.id),
    user: user(u, c.user),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: authorAssociation(store, r, c.user),
    body: c.body,
    reactions: reactionsSummary(`${url}/reactions`, c.reactions),
    performed_via_github_app: c.viaApp && store.app ? app(u, store.app) : null,
  };
}

export function reaction(u: Urls, rx: Reaction): Json {
  return {
    id: rx.id,
    node_id: nodeId("Reaction", rx.id),
    user: user(u, rx.user),
    content: rx.content,
    created_at: rx.createdAt,
  };
}

function branchRef(u: Urls, r: Repo, ref: string, sha: string): Json {
  return { label: `${r.owner.login}:${ref}`, ref, sha, user: user(u, r.owner), repo: repository(u, r) };
}

export interface PullStats {
  mergeable: boolean | null;
  mergeableState: string;
  commits: number;
  additions: number;
  deletions: number;
  changedFiles: number;
}

export function pull(u: Urls, store: Store, r: Repo, i: Issue, stats?: PullStats): Json {
  const p = i.pull!;
  const base = `${u.api}/repos/${r.owner.login}/${r.name}`;
  const url = `${base}/pulls/${i.number}`;
  const html = `${u.html}/${r.owner.login}/${r.name}/pull/${i.number}`;
  const out: Json = {
    url,
    id: p.id,
    node_id: nodeId("PullRequest", p.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${base}/issues/${i.number}`,
    number: i.number,
    state: i.state,
    locked: i.locked,
    title: i.title,
    user: user(u, i.user),
    body: i.body,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    merged_at: p.mergedAt,
    merge_commit_sha: p.mergeCommitSha,
    assignee: i.assignees[0] ? user(u, i.assignees[0]) : null,
    assignees: i.assignees.map((a) => user(u, a)),
    requested_reviewers: p.requestedReviewers.map((a) => user(u, a)),
    requested_teams: [],
    labels: labelsOf(u, r, i.labels),
    milestone: null,
    draft: p.draft,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    review_comment_url: `${base}/pulls/comments{/number}`,
    comments_url: `${base}/issues/${i.number}/comments`,
    statuses_url: `${base}/statuses/${p.headSha}`,
    head: branchRef(u, r, p.headRef, p.headSha),
    base: branchRef(u, r, p.baseRef, p.baseSha),
    _links: {
      self: { href: url },
      html: { href: html },
      issue: { href: `${base}/issues/${i.number}` },
      comments: { href: `${base}/issues/${i.number}/comments` },
      review_comments: { href: `${url}/comments` },
      review_comment: { href: `${base}/pulls/comments{/number}` },
      commits: { href: `${url}/commits` },
      statuses: { href: `${base}/statuses/${p.headSha}` },
    },
    author_association: authorAssociation(store, r, i.user),
    auto_merge: null,
    active_lock_reason: null,
  };
  if (stats) {
    Object.assign(out, {
      merged: p.merged,
      mergeable: stats.mergeable,
      rebaseable: stats.mergeable,
      mergeable_state: stats.mergeableState,
      merged_by: p.mergedBy ? user(u, p.mergedBy) : null,
      comments: [...r.comments.values()].filter((c) => c.issueNumber === i.number).length,
      review_comments: 0,
      maintainer_can_modify: p.maintainerCanModify,
      commits: stats.commits,
      additions: stats.additions,
      deletions: stats.deletions,
      changed_files: stats.changedFiles,
    });
  }
  return out;
}

export function review(u: Urls, store: Store, r: Repo, i: Issue, rv: Review): Json {
  const html = `${u.html}/${r.owner.login}/${r.name}/pull/${i.number}`;
  const prUrl = `${u.api}/repos/${r.owner.login}/${r.name}/pulls/${i.number}`;
  return {
    id: rv.id,
    node_id: nodeId("PullRequestReview", rv.id),
    user: user(u, rv.user),
    body: rv.body,
    state: rv.state,
    html_url: `${html}#pullrequestreview-${rv.id}`,
    pull_request_url: prUrl,
    _links: { html: { href: `${html}#pullrequestreview-${rv.id}` }, pull_request: { href: prUrl } },
    submitted_at: rv.submittedAt ?? undefined,
    commit_id: rv.commitId,
    author_association: authorAssociation(store, r, rv.user),
  };
}

function gitUser(id: { name: string; email: string; date: string }): Json {
  return { name: id.name, email: id.email, date: id.date };
}

export function commit(u: Urls, store: Store, r: Repo, c: CommitInfo, files?: FileChange[]): Json {
  const base = `${u.api}/repos/${r.owner.login}/${r.name}`;
  const author = store.accountByEmail(c.author.email);
  const committer = store.accountByEmail(c.committer.email);
  const out: Json = {
    sha: c.sha,
    node_id: nodeId("Commit", c.sha),
    commit: {
      author: gitUser(c.author),
      committer: gitUser(c.committer),
      message: c.message,
      tree: { sha: c.tree, url: `${base}/git/trees/${c.tree}` },
      url: `${base}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
    },
    url: `${base}/commits/${c.sha}`,
    html_url: `${u.html}/${r.owner.login}/${r.name}/commit/${c.sha}`,
    comments_url: `${base}/commits/${c.sha}/comments`,
    author: author ? user(u, author) : null,
    committer: committer ? user(u, committer) : null,
    parents: c.parents.map((p) => ({
      sha: p,
      url: `${base}/commits/${p}`,
      html_url: `${u.html}/${r.owner.login}/${r.name}/commit/${p}`,
    })),
  };
  if (files) {
    const additions = files.reduce((n, f) => n + f.additions, 0);
    const deletions = files.reduce((n, f) => n + f.deletions, 0);
    out["stats"] = { total: additions + deletions, additions, deletions };
    out["files"] = files.map((f) => file(u, r, c.sha, f));
  }
  return out;
}

export function file(u: Urls, r: Repo, ref: string, f: FileChange): Json {
  const full = `${r.owner.login}/${r.name}`;
  const path = f.filename.split("/").map(encodeURIComponent).join("/");
  const out: Json = {
    sha: f.sha,
    filename: f.filename,
    status: f.status,
    additions: f.additions,
    deletions: f.deletions,
    changes: f.changes,
    blob_url: `${u.html}/${full}/blob/${ref}/${path}`,
    raw_url: `${u.html}/${full}/raw/${ref}/${path}`,
    contents_url: `${u.api}/repos/${full}/contents/${path}?ref=${ref}`,
  };
  if (f.patch !== undefined) out["patch"] = f.patch;
  return out;
}

export function deployment(u: Urls, store: Store, r: Repo, d: Deployment): Json {
  const url = `${u.api}/repos/${r.owner.login}/${r.name}/deployments/${d.id}`;
  return {
    url,
    id: d.id,
    node_id: nodeId("Deployment", d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.originalEnvironment,
    environment: d.environment,
    description: d.description,
    creator: user(u, d.creator),
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    statuses_url: `${url}/statuses`,
    repository_url: `${u.api}/repos/${r.owner.login}/${r.name}`,
    transient_environment: d.transientEnvironment,
    production_environment: d.productionEnvironment,
    performed_via_github_app: d.viaApp && store.app ? app(u, store.app) : null,
  };
}

export function deploymentStatus(u: Urls, store: Store, r: Repo, d: Deployment, s: DeploymentStatus): Json {
  const durl = `${u.api}/repos/${r.owner.login}/${r.name}/deployments/${d.id}`;
  return {
    url: `${durl}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId("DeploymentStatus", s.id),
    state: s.state,
    creator: user(u, s.creator),
    description: s.description,
    environment: s.environment,
    target_url: s.targetUrl,
    created_at: s.createdAt,
    updated_at: s.createdAt,
    deployment_url: durl,
    repository_url: `${u.api}/repos/${r.owner.login}/${r.name}`,
    environment_url: s.environmentUrl,
    log_url: s.logUrl,
    performed_via_github_app: s.viaApp && store.app ? app(u, store.app) : null,
  };
}

export function checkRun(u: Urls, store: Store, r: Repo, c: CheckRun, pulls: Issue[]): Json {
  const base = `${u.api}/repos/${r.owner.login}/${r.name}`;
  return {
    id: c.id,
    head_sha: c.headSha,
    node_id: nodeId("CheckRun", c.id),
    external_id: c.externalId ?? "",
    url: `${base}/check-runs/${c.id}`,
    html_url: `${u.html}/${r.owner.login}/${r.name}/runs/${c.id}`,
    details_url: c.detailsUrl ?? (store.app ? `${u.html}/apps/${store.app.slug}` : null),
    status: c.status,
    conclusion: c.conclusion,
    started_at: c.startedAt,
    completed_at: c.completedAt,
    output: { ...c.output, annotations_count: 0, annotations_url: `${base}/check-runs/${c.id}/annotations` },
    name: c.name,
    check_suite: { id: c.checkSuiteId },
    app: store.app ? app(u, store.app) : null,
    pull_requests: pulls.map((i) => ({
      url: `${base}/pulls/${i.number}`,
      id: i.pull!.id,
      number: i.number,
      head: { ref: i.pull!.headRef, sha: i.pull!.headSha, repo: { id: r.id, url: base, name: r.name } },
      base: { ref: i.pull!.baseRef, sha: i.pull!.baseSha, repo: { id: r.id, url: base, name: r.name } },
    })),
  };
}

export function status(u: Urls, s: CommitStatus): Json {
  return {
    url: `${u.api}/repos/statuses/${s.sha}`,
    avatar_url: `${u.html}/avatars/${s.creator.login}`,
    id: s.id,
    node_id: nodeId("StatusContext", s.id),
    state: s.state,
    description: s.description,
    target_url: s.targetUrl,
    context: s.context,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    creator: user(u, s.creator),
  };
}

/** The App's OAuth client id. */
export function clientIdOf(a: AppInfo): string {
  return `Iv1.${a.slug}`;
}
