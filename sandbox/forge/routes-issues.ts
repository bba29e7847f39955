/**
 * Issues (which include pull requests, as on GitHub), comments, reactions, labels.
 */
import { atLeast, permissionOn } from "./auth.js";
import { emitIssueEvent, emitPullEvent, emitRepoEvent } from "./events.js";
import type { Ctx, Router } from "./router.js";
import { HttpError, intParam, notFound, ok, paginate, requireString, str, validationFailed } from "./router.js";
import * as shape from "./shapes.js";
import type { Account, Issue, IssueComment, Label, Reaction, Repo } from "./store.js";
import { now } from "./store.js";

const REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"];

function getIssue(repo: Repo, n: number): Issue {
  const i = repo.issues.get(n);
  if (!i) throw notFound();
  return i;
}

function isWriter(ctx: Ctx, repo: Repo): boolean {
  return atLeast(permissionOn(repo, ctx.actor), "write");
}

function ensureLabel(ctx: Ctx, repo: Repo, name: string): Label {
  const key = name.toLowerCase();
  let l = repo.labels.get(key);
  if (!l) {
    l = { id: ctx.core.store.nextId(), name, color: "ededed", description: null };
    repo.labels.set(key, l);
  }
  return l;
}

function labelNames(v: unknown): string[] {
  const list = Array.isArray(v)
    ? v
    : v && typeof v === "object" && Array.isArray((v as { labels?: unknown }).labels)
      ? (v as { labels: unknown[] }).labels
      : [];
  return list
    .map((x) =>
      typeof x === "string" ? x : x && typeof x === "object" ? str((x as { name?: unknown }).name) : undefined,
    )
    .filter((x): x is string => !!x);
}

async function emitLabeled(
  ctx: Ctx,
  repo: Repo,
  i: Issue,
  l: Label,
  action: "labeled" | "unlabeled",
  sender: Account,
): Promise<void> {
  const label = shape.label(ctx.core.urls, repo, l);
  if (i.pull) await emitPullEvent(ctx.core, repo, i, action, sender, { label });
  else emitIssueEvent(ctx.core, repo, i, action, sender, { label });
}

function findComment(repo: Repo, id: number): IssueComment {
  const c = repo.comments.get(id);
  if (!c) throw notFound();
  return c;
}

export function registerIssueRoutes(r: Router): void {
  r.on("GET", "/repos/:owner/:repo/issues", (ctx) => {
    const repo = ctx.repo("read");
    const state = ctx.query.get("state") ?? "open";
    const labels = (ctx.query.get("labels") ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    const creator = ctx.query.get("creator")?.toLowerCase();
    const assignee = ctx.query.get("assignee")?.toLowerCase();
    let list = [...repo.issues.values()];
    if (state !== "all") list = list.filter((i) => i.state === state);
    if (labels.length) list = list.filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)));
    if (creator) list = list.filter((i) => i.user.login.toLowerCase() === creator);
    if (assignee === "none") list = list.filter((i) => i.assignees.length === 0);
    else if (assignee && assignee !== "*")
      list = list.filter((i) => i.assignees.some((a) => a.login.toLowerCase() === assignee));
    const direction = ctx.query.get("direction") ?? "desc";
    list.sort((a, b) => (direction === "asc" ? a.number - b.number : b.number - a.number));
    const page = paginate(ctx, list);
    return ok(
      page.items.map((i) => shape.issue(ctx.core.urls, ctx.core.store, repo, i)),
      200,
      page.headers,
    );
  });

  r.on("POST", "/repos/:owner/:repo/issues", (ctx) => {
    const repo = ctx.repo("read");
    const sender = ctx.account();
    const title = requireString(ctx.body, "title", "Issue");
    const t = now();
    const writer = isWriter(ctx, repo);
    const issue: Issue = {
      number: repo.nextNumber++,
      id: ctx.core.store.nextId(),
      title,
      body: str(ctx.body["body"]) ?? null,
      user: sender,
      viaApp: ctx.actor.kind === "installation",
      state: "open",
      stateReason: null,
      // As on GitHub, labels/assignees from users without push access are dropped.
      labels: writer ? labelNames(ctx.body["labels"]).map((n) => ensureLabel(ctx, repo, n).name) : [],
      assignees: writer ? assigneesFrom(ctx, ctx.body["assignees"]) : [],
      createdAt: t,
      updatedAt: t,
      closedAt: null,
      closedBy: null,
      locked: false,
    };
    repo.issues.set(issue.number, issue);
    emitIssueEvent(ctx.core, repo, issue, "opened", sender);
    return ok(shape.issue(ctx.core.urls, ctx.core.store, repo, issue), 201);
  });

  r.on("GET", "/repos/:owner/:repo/issues/comments/:id", (ctx) => {
    const repo = ctx.repo("read");
    return ok(shape.comment(ctx.core.urls, ctx.core.store, repo, findComment(repo, intParam(ctx, "id"))));
  });

  r.on("PATCH", "/repos/:owner/:repo/issues/comments/:id", (ctx) => {
    const repo = ctx.repo("read");
    const sender = ctx.account();
    const c = findComment(repo, intParam(ctx, "id"));
    if (c.user.id !== sender.id && !isWriter(ctx, repo))
      throw new HttpError(403, "Must have push access to repository");
    const body = requireString(ctx.body, "body", "IssueComment");
    const from = c.body;
    c.body = body;
    c.updatedAt = now();
    const json = shape.comment(ctx.core.urls, ctx.core.store, repo, c);
    const issue = repo.issues.get(c.issueNumber)!;
    emitRepoEvent(
      ctx.core,
      repo,
      "issue_comment",
      {
        action: "edited",
        changes: { body: { from } },
        issue: shape.issue(ctx.core.urls, ctx.core.store, repo, issue),
        comment: json,
      },
      sender,
    );
    return ok(json);
  });

  r.on("POST", "/repos/:owner/:repo/issues/comments/:id/reactions", (ctx) => {
    const repo = ctx.repo("read");
    const sender = ctx.account();
    const c = findComment(repo, intParam(ctx, "id"));
    const content = str(ctx.body["content"]);
    if (!content || !REACTIONS.includes(content))
      throw validationFailed([{ resource: "Reaction", field: "content", code: "invalid" }]);
    const existing = c.reactions.find((x) => x.user.id === sender.id && x.content === content);
    if (existing) return ok(shape.reaction(ctx.core.urls, existing), 200);
    const rx: Reaction = { id: ctx.core.store.nextId(), user: sender, content, createdAt: now() };
    c.reactions.push(rx);
    return ok(shape.reaction(ctx.core.urls, rx), 201);
  });

  r.on("GET", "/repos/:owner/:repo/issues/comments/:id/reactions", (ctx) => {
    const repo = ctx.repo("read");
    const c = findComment(repo, intParam(ctx, "id"));
    const content = ctx.query.get("content");
    const list = c.reactions.filter((x) => !content || x.content === content);
    const page = paginate(ctx, list);
    return ok(
      page.items.map((x) => shape.reaction(ctx.core.urls, x)),
      200,
      page.headers,
    );
  });

  r.on("GET", "/repos/:owner/:repo/issues/:number", (ctx) => {
    const repo = ctx.repo("read");
    return ok(shape.issue(ctx.core.urls, ctx.core.store, repo, getIssue(repo, intParam(ctx, "number"))));
  });

  r.on("PATCH", "/repos/:owner/:repo/issues/:number", async (ctx) => {
    const repo = ctx.repo("read");
    const sender = ctx.account();
    const i = getIssue(repo, intParam(ctx, "number"));
    const writer = isWriter(ctx, repo);
    if (!writer && i.user.id !== sender.id) throw new HttpError(403, "Must have push access to repository");
    const changes: Record<string, { from: unknown }> = {};
    const title = str(ctx.body["title"]);
    if (title !== undefined && title !== i.title) {
      changes["title"] = { from: i.title };
      i.title = title;
    }
    if ((typeof ctx.body["body"] === "string" || ctx.body["body"] === null) && ctx.body["body"] !== i.body) {
      changes["body"] = { from: i.body };
      i.body = ctx.body["body"];
    }
    if (writer && ctx.body["labels"] !== undefined)
      i.labels = labelNames(ctx.body["labels"]).map((n) => ensureLabel(ctx, repo, n).name);
    if (writer && ctx.body["assignees"] !== undefined) i.assignees = assigneesFrom(ctx, ctx.body["assignees"]);
    let action: string | null = null;
    const state = str(ctx.body["state"]);
    if (state !== undefined) {
      if (state !== "open" && state !== "closed")
        throw validationFailed([{ resource: "Issue", field: "state", code: "invalid" }]);
      if (i.pull?.merged && state === "open")
        throw validationFailed([{ resource: "Issue", code: "custom", message: "Cannot reopen a merged pull request" }]);
      if (state !== i.state) {
        i.state = state;
        i.closedAt = state === "closed" ? now() : null;
        i.closedBy = state === "closed" ? sender : null;
        i.stateReason = state === "closed" ? (str(ctx.body["state_reason"]) ?? "completed") : "reopened";
        action = state === "closed" ? "closed" : "reopened";
      }
    }
    i.updatedAt = now();
    const emit = async (a: string, extra: Record<string, unknown> = {}) => {
      if (i.pull) await emitPullEvent(ctx.core, repo, i, a, sender, extra);
      else emitIssueEvent(ctx.core, repo, i, a, sender, extra);
    };
    if (Object.keys(changes).length) await emit("edited", { changes });
    if (action) await emit(action);
    return ok(shape.issue(ctx.core.urls, ctx.core.store, repo, i));
  });

  r.on("GET", "/repos/:owner/:repo/issues/:number/comments", (ctx) => {
    const repo = ctx.repo("read");
    const i = getIssue(repo, intParam(ctx, "number"));
    const list = [...repo.comments.values()].filter((c) => c.issueNumber === i.number).sort((a, b) => a.id - b.id);
    const page = paginate(ctx, list);
    return ok(
      page.items.map((c) => shape.comment(ctx.core.urls, ctx.core.store, repo, c)),
      200,
      page.headers,
    );
  });

  r.on("POST", "/repos/:owner/:repo/issues/:number/comments", (ctx) => {
    const repo = ctx.repo("read");
    const sender = ctx.account();
    const i = getIssue(repo, intParam(ctx, "number"));
    const body = requireString(ctx.body, "body", "IssueComment");
    if (i.locked && !isWriter(ctx, repo)) throw new HttpError(403, "Unable to create comment because issue is locked.");
    const t = now();
    const c: IssueComment = {
      id: ctx.core.store.nextId(),
      issueNumber: i.number,
      body,
      user: sender,
      viaApp: ctx.actor.kind === "installation",
      createdAt: t,
      updatedAt: t,
      reactions: [],
    };
    repo.comments.set(c.id, c);
    const json = shape.comment(ctx.core.urls, ctx.core.store, repo, c);
    emitRepoEvent(
      ctx.core,
      repo,
      "issue_comment",
      { action: "created", issue: shape.issue(ctx.core.urls, ctx.core.store, repo, i), comment: json },
      sender,
    );
    return ok(json, 201);
  });

  r.on("GET", "/repos/:owner/:repo/issues/:number/labels", (ctx) => {
    const repo = ctx.repo("read");
    const i = getIssue(repo, intParam(ctx, "number"));
    return ok(shape.labelsOf(ctx.core.urls, repo, i.labels));
  });

  r.on("POST", "/repos/:owner/:repo/issues/:number/labels", async (ctx) => {
    const repo = ctx.repo("write");
    const sender = ctx.account();
    const i = getIssue(repo, intParam(ctx, "number"));
    const names = labelNames(ctx.body);
    if (names.length === 0) throw validationFailed([{ resource: "Label", field: "labels", code: "missing_field" }]);
    for (const n of names) {
      const l = ensureLabel(ctx, repo, n);
      if (!i.labels.some((x) => x.toLowerCase() === l.name.toLowerCase())) {
        i.labels.push(l.name);
        i.updatedAt = now();
        await emitLabeled(ctx, repo, i, l, "labeled", sender);
      }
    }
    return ok(shape.labelsOf(ctx.core.urls, repo, i.labels));
  });

  r.on("DELETE", "/repos/:owner/:repo/issues/:number/labels/:name", async (ctx) => {
    const repo = ctx.repo("write");
    const sender = ctx.account();
    const i = getIssue(repo, intParam(ctx, "number"));
    const name = ctx.params["name"]!.toLowerCase();
    const idx = i.labels.findIndex((x) => x.toLowerCase() === name);
    if (idx === -1) throw new HttpError(404, "Label does not exist");
    i.labels.splice(idx, 1);
    i.updatedAt = now();
    const l = repo.labels.get(name);
    if (l) await emitLabeled(ctx, repo, i, l, "unlabeled", sender);
    return ok(shape.labelsOf(ctx.core.urls, repo, i.labels));
  });

  r.on("GET", "/repos/:owner/:repo/labels", (ctx) => {
    const repo = ctx.repo("read");
    const page = paginate(ctx, [...repo.labels.values()]);
    return ok(
      page.items.map((l) => shape.label(ctx.core.urls, repo, l)),
      200,
      page.headers,
    );
  });

  r.on("POST", "/repos/:owner/:repo/labels", (ctx) => {
    const repo = ctx.repo("write");
    const name = requireString(ctx.body, "name", "Label");
    if (repo.labels.has(name.toLowerCase()))
      throw validationFailed([{ resource: "Label", code: "already_exists", field: "name" }]);
    const color = (str(ctx.body["color"]) ?? "ededed").replace(/^#/, "");
    if (!/^[0-9a-fA-F]{6}$/.test(color))
      throw validationFailed([{ resource: "Label", code: "invalid", field: "color" }]);
    const l: Label = { id: ctx.core.store.nextId(), name, color, description: str(ctx.body["description"]) ?? null };
    repo.labels.set(name.toLowerCase(), l);
    return ok(shape.label(ctx.core.urls, repo, l), 201);
  });
}

function assigneesFrom(ctx: Ctx, v: unknown): Account[] {
  if (!Array.isArray(v)) return [];
  return v
    .filter((x): x is string => typeof x === "string")
    .map((login) => ctx.core.store.users.get(login.toLowerCase()))
    .filter((u): u is NonNullable<typeof u> => !!u);
}
