/**
 * Pull requests: list/get/create/update/merge, files, reviews, reviewers.
 * Merges are real: `git merge-tree --write-tree` + `commit-tree` + `update-ref`.
 */
import { atLeast, permissionOn } from "./auth.js";
import { emitPullEvent, emitRepoEvent, markMerged, pullStats, refsChanged } from "./events.js";
import { isValidBranch } from "./git.js";
import type { Router } from "./router.js";
import { HttpError, intParam, notFound, ok, paginate, str, validationFailed } from "./router.js";
import * as shape from "./shapes.js";
import type { Account, Issue, Repo, Review } from "./store.js";
import { botEmail, now, withRepoLock } from "./store.js";

function getPull(repo: Repo, n: number): Issue {
  const i = repo.issues.get(n);
  if (!i?.pull) throw notFound();
  return i;
}

/** Keep head/base shas of open PRs in step with the branches. */
async function refresh(repo: Repo, i: Issue): Promise<void> {
  const p = i.pull!;
  if (i.state !== "open") return;
  const head = await repo.git.resolve(`refs/heads/${p.headRef}`);
  if (head) p.headSha = head;
  const base = await repo.git.resolve(`refs/heads/${p.baseRef}`);
  if (base) p.baseSha = base;
}

/** `owner:branch` or `branch` → branch name in this repository (no forks). */
function headBranch(repo: Repo, head: string): string | null {
  const i = head.indexOf(":");
  if (i !== -1) {
    if (head.slice(0, i).toLowerCase() !== repo.owner.login.toLowerCase()) return null;
    head = head.slice(i + 1);
  }
  return isValidBranch(head) ? head : null;
}

export function identityOf(a: Account): { name: string; email: string } {
  return { name: a.login, email: botEmail(a) };
}

type MergeMethod = "merge" | "squash" | "rebase";

const METHOD_NAMES: Record<MergeMethod, string> = {
  merge: "Merge commits",
  squash: "Squash merges",
  rebase: "Rebase merges",
};

function isMergeMethod(method: string): method is MergeMethod {
  return method === "merge" || method === "squash" || method === "rebase";
}

function allows(repo: Repo, method: MergeMethod): boolean {
  const s = repo.mergeSettings;
  return method === "merge" ? s.allowMergeCommit : method === "squash" ? s.allowSquashMerge : s.allowRebaseMerge;
}

/**
 * Replays the PR's commits onto the base tip, oldest first, as GitHub's "rebase and merge" does:
 * each keeps its author and message and gets a new committer. Returns the new commits.
 */
async function rebaseOnto(
  repo: Repo,
  baseTip: string,
  head: string,
  committer: { name: string; email: string },
): Promise<string[]> {
  const landed: string[] = [];
  let tip = baseTip;
  for (const sha of await repo.git.commitsBetween(baseTip, head, 250)) {
    const c = await repo.git.commit(sha);
    if (c.parents.length !== 1) throw new HttpError(405, "This branch can't be rebased");
    const replayed = await repo.git.replayTree(tip, sha);
    if (!("tree" in replayed)) throw new HttpError(405, "This branch can't be rebased");
    tip = await repo.git.commitTree(replayed.tree, [tip], c.message, c.author, committer);
    landed.push(tip);
  }
  if (landed.length === 0) throw new HttpError(405, "Pull Request is not mergeable");
  return landed;
}

export function registerPullRoutes(r: Router): void {
  r.on("GET", "/repos/:owner/:repo/pulls", async (ctx) => {
    const repo = ctx.repo("read");
    const state = ctx.query.get("state") ?? "open";
    const head = ctx.query.get("head");
    const base = ctx.query.get("base");
    const headRef = head ? headBranch(repo, head) : null;
    let list = [...repo.issues.values()].filter((i) => i.pull);
    if (state !== "all") list = list.filter((i) => i.state === state);
    if (head) list = headRef ? list.filter((i) => i.pull!.headRef === headRef) : [];
    if (base) list = list.filter((i) => i.pull!.baseRef === base);
    const direction = ctx.query.get("direction") ?? "desc";
    list.sort((a, b) => (direction === "asc" ? a.number - b.number : b.number - a.number));
    const page = paginate(ctx, list);
    for (const i of page.items) await refresh(repo, i);
    return ok(
      page.items.map((i) => shape.pull(ctx.core.urls, ctx.core.store, repo, i)),
      200,
      page.headers,
    );
  });

  // The PRs a commit belongs to: merged PRs by the commits their merge put on the base branch
  // (a merge commit, a squash commit, every rebased commit), and any PR by its head.
  r.on("GET", "/repos/:owner/:repo/commits/:sha/pulls", async (ctx) => {
    const repo = ctx.repo("read");
    const sha = await repo.git.resolve(ctx.params["sha"] ?? "");
    if (!sha) throw new HttpError(422, `No commit found for SHA: ${ctx.params["sha"]}`);
    const list = [...repo.issues.values()].filter(
      (i) =>
        i.pull &&
        (i.pull.mergeCommitSha === sha || i.pull.headSha === sha || (i.pull.landedCommits ?? []).includes(sha)),
    );
    list.sort((a, b) => b.number - a.number);
    return ok(list.map((i) => shape.pull(ctx.core.urls, ctx.core.store, repo, i)));
  });

  r.on("GET", "/repos/:owner/:repo/pulls/:number", async (ctx) => {
    const repo = ctx.repo("read");
    const i = getPull(repo, intParam(ctx, "number"));
    await refresh(repo, i);
    return ok(shape.pull(ctx.core.urls, ctx.core.store, repo, i, await pullStats(repo, i)));
  });

  r.on("POST", "/repos/:owner/:repo/pulls", async (ctx) => {
    const repo = ctx.repo("read");
    const sender = ctx.account();
    const title = str(ctx.body["title"]);
    const headIn = str(ctx.body["head"]);
    const base = str(ctx.body["base"]);
    if (!headIn) throw validationFailed([{ resource: "PullRequest", field: "head", code: "missing_field" }]);
    if (!base) throw validationFailed([{ resource: "PullRequest", field: "base", code: "missing_field" }]);
    if (!title) throw validationFailed([{ resource: "PullRequest", field: "title", code: "missing_field" }]);
    const head = headBranch(repo, headIn);
    const headSha = head ? await repo.git.resolve(`refs/heads/${head}`) : null;
    if (!head || !headSha) throw validationFailed([{ resource: "PullRequest", field: "head", code: "invalid" }]);
    const baseSha = isValidBranch(base) ? await repo.git.resolve(`refs/heads/${base}`) : null;
    if (!baseSha) throw validationFailed([{ resource: "PullRequest", field: "base", code: "invalid" }]);
    const dup = [...repo.issues.values()].find(
      (i) => i.pull && i.state === "open" && i.pull.headRef === head && i.pull.baseRef === base,
    );
    if (dup)
      throw validationFailed([
        {
          resource: "PullRequest",
          code: "custom",
          message: `A pull request already exists for ${repo.owner.login}:${head}.`,
        },
      ]);
    if (await repo.git.isAncestor(headSha, baseSha)) {
      throw validationFailed([
        { resource: "PullRequest", code: "custom", message: `No commits between ${base} and ${head}` },
      ]);
    }
    const t = now();
    const issue: Issue = {
      number: repo.nextNumber++,
      id: ctx.core.store.nextId(),
      title,
      body: str(ctx.body["body"]) ?? null,
      user: sender,
      viaApp: ctx.actor.kind === "installation",
      state: "open",
      stateReason: null,
      labels: [],
      assignees: [],
      createdAt: t,
      updatedAt: t,
      closedAt: null,
      closedBy: null,
      locked: false,
      pull: {
        id: ctx.core.store.nextId(),
        headRef: head,
        headSha,
        baseRef: base,
        baseSha,
        draft: ctx.body["draft"] === true,
        merged: false,
        mergedAt: null,
        mergedBy: null,
        mergeCommitSha: null,
        maintainerCanModify: ctx.body["maintainer_can_modify"] !== false,
        requestedReviewers: [],
        reviews: [],
      },
    };
    repo.issues.set(issue.number, issue);
    await emitPullEvent(ctx.core, repo, issue, "opened", sender);
    return ok(shape.pull(ctx.core.urls, ctx.core.store, repo, issue, await pullStats(repo, issue)), 201);
  });

  r.on("PATCH", "/repos/:owner/:repo/pulls/:number", async (ctx) => {
    const repo = ctx.repo("read");
    const i = getPull(repo, intParam(ctx, "number"));
    const sender = ctx.account();
    const canWrite = atLeast(permissionOn(repo, ctx.actor), "write");
    if (!canWrite && sender.id !== i.user.id) throw new HttpError(403, "Must have push access to repository");
    const changes: Record<string, { from: unknown }> = {};
    const title = str(ctx.body["title"]);
    if (title !== undefined && title !== i.title) {
      changes["title"] = { from: i.title };
      i.title = title;
    }
    if (typeof ctx.body["body"] === "string" && ctx.body["body"] !== i.body) {
      changes["body"] = { from: i.body };
      i.body = ctx.body["body"];
    }
    const base = str(ctx.body["base"]);
    if (base !== undefined && base !== i.pull!.baseRef) {
      const sha = isValidBranch(base) ? await repo.git.resolve(`refs/heads/${base}`) : null;
      if (!sha) throw validationFailed([{ resource: "PullRequest", field: "base", code: "invalid" }]);
      changes["base"] = { from: { ref: i.pull!.baseRef, sha: i.pull!.baseSha } };
      i.pull!.baseRef = base;
      i.pull!.baseSha = sha;
    }
    const state = str(ctx.body["state"]);
    let action: string | null = null;
    if (state !== undefined) {
      if (state !== "open" && state !== "closed")
        throw validationFailed([{ resource: "PullRequest", field: "state", code: "invalid" }]);
      if (state !== i.state) {
        if (i.pull!.merged)
          throw validationFailed([
            { resource: "PullRequest", code: "custom", message: "Cannot reopen a merged pull request" },
          ]);
        if (state === "open") {
          const exists = await repo.git.resolve(`refs/heads/${i.pull!.headRef}`);
          if (!exists)
            throw validationFailed([
              {
                resource: "PullRequest",
                code: "custom",
                message: "state cannot be changed. The head branch was deleted.",
              },
            ]);
        }
        i.state = state;
        i.closedAt = state === "closed" ? now() : null;
        i.closedBy = state === "closed" ? sender : null;
        action = state === "closed" ? "closed" : "reopened";
      }
    }
    i.updatedAt = now();
    await refresh(repo, i);
    if (Object.keys(changes).length) await emitPullEvent(ctx.core, repo, i, "edited", sender, { changes });
    if (action) await emitPullEvent(ctx.core, repo, i, action, sender);
    return ok(shape.pull(ctx.core.urls, ctx.core.store, repo, i, await pullStats(repo, i)));
  });

  r.on("PUT", "/repos/:owner/:repo/pulls/:number/merge", async (ctx) => {
    const repo = ctx.repo("write");
    const i = getPull(repo, intParam(ctx, "number"));
    const sender = ctx.account();
    const method = str(ctx.body["merge_method"]) ?? "merge";
    if (!isMergeMethod(method))
      throw validationFailed([{ resource: "PullRequest", field: "merge_method", code: "invalid" }]);
    // GitHub's refusal of a method the repository's settings do not allow.
    if (!allows(repo, method)) throw new HttpError(405, `${METHOD_NAMES[method]} are not allowed on this repository.`);
    return withRepoLock(repo, async () => {
      await refresh(repo, i);
      const p = i.pull!;
      if (p.merged || i.state !== "open") throw new HttpError(405, "Pull Request is not mergeable");
      const sha = str(ctx.body["sha"]);
      if (sha !== undefined && sha !== p.headSha)
        throw new HttpError(409, "Head branch was modified. Review and try the merge again.");
      const baseTip = await repo.git.resolve(`refs/heads/${p.baseRef}`);
      if (!baseTip) throw new HttpError(405, "Pull Request is not mergeable");
      const merge = await repo.git.mergeTree(baseTip, p.headSha);
      if (!("tree" in merge)) throw new HttpError(405, "Pull Request is not mergeable");
      const title = str(ctx.body["commit_title"]);
      const message = str(ctx.body["commit_message"]);
      const author = identityOf(sender);
      const committer = { name: "Forge", email: "noreply@forge.local" };
      let landed: string[];
      if (method === "squash") {
        const subjects = [];
        for (const c of await repo.git.commitsBetween(baseTip, p.headSha, 250))
          subjects.push(`* ${(await repo.git.commit(c)).message.split("\n")[0]}`);
        const text = `${title ?? `${i.title} (#${i.number})`}\n\n${message ?? subjects.join("\n\n")}`;
        landed = [await repo.git.commitTree(merge.tree, [baseTip], text.trimEnd(), author, committer)];
      } else if (method === "rebase") {
        landed = await rebaseOnto(repo, baseTip, p.headSha, committer);
      } else {
        const text = `${title ?? `Merge pull request #${i.number} from ${repo.owner.login}/${p.headRef}`}\n\n${message ?? i.title}`;
        landed = [await repo.git.commitTree(merge.tree, [baseTip, p.headSha], text.trimEnd(), author, committer)];
      }
      const commitSha = landed[landed.length - 1]!;
      const ref = `refs/heads/${p.baseRef}`;
      await repo.git.updateRef(ref, commitSha, baseTip);
      markMerged(i, sender, commitSha);
      p.landedCommits = landed;
      p.baseSha = baseTip;
      await refsChanged(ctx.core, repo, [{ ref, before: baseTip, after: commitSha }], sender);
      await emitPullEvent(ctx.core, repo, i, "closed", sender);
      return ok({ sha: commitSha, merged: true, message: "Pull Request successfully merged" });
    });
  });

  r.on("GET", "/repos/:owner/:repo/pulls/:number/files", async (ctx) => {
    const repo = ctx.repo("read");
    const i = getPull(repo, intParam(ctx, "number"));
    await refresh(repo, i);
    const p = i.pull!;
    const mergeBase = (await repo.git.mergeBase(p.baseSha, p.headSha)) ?? p.baseSha;
    const files = await repo.git.diff(mergeBase, p.headSha);
    const page = paginate(ctx, files);
    return ok(
      page.items.map((f) => shape.file(ctx.core.urls, repo, p.headSha, f)),
      200,
      page.headers,
    );
  });

  r.on("GET", "/repos/:owner/:repo/pulls/:number/reviews", (ctx) => {
    const repo = ctx.repo("read");
    const i = getPull(repo, intParam(ctx, "number"));
    const page = paginate(ctx, i.pull!.reviews);
    return ok(
      page.items.map((rv) => shape.review(ctx.core.urls, ctx.core.store, repo, i, rv)),
      200,
      page.headers,
    );
  });

  r.on("POST", "/repos/:owner/:repo/pulls/:number/reviews", async (ctx) => {
    const repo = ctx.repo("read");
    const i = getPull(repo, intParam(ctx, "number"));
    const sender = ctx.account();
    await refresh(repo, i);
    const event = str(ctx.body["event"]);
    const body = str(ctx.body["body"]) ?? "";
    const states: Record<string, Review["state"]> = {
      APPROVE: "APPROVED",
      REQUEST_CHANGES: "CHANGES_REQUESTED",
      COMMENT: "COMMENTED",
    };
    if (event !== undefined && !(event in states))
      throw validationFailed([{ resource: "PullRequestReview", field: "event", code: "invalid" }]);
    if ((event === "APPROVE" || event === "REQUEST_CHANGES") && sender.id === i.user.id) {
      const what = event === "APPROVE" ? "approve" : "request changes on";
      throw new HttpError(422, "Unprocessable Entity", { errors: [`Review Can not ${what} your own pull request`] });
    }
    if ((event === "REQUEST_CHANGES" || event === "COMMENT") && body === "") {
      throw new HttpError(422, "Unprocessable Entity", { errors: [`Review body is required for ${event}`] });
    }
    const rv: Review = {
      id: ctx.core.store.nextId(),
      user: sender,
      body,
      state: event ? states[event]! : "PENDING",
      commitId: str(ctx.body["commit_id"]) ?? i.pull!.headSha,
      submittedAt: event ? now() : null,
    };
    i.pull!.reviews.push(rv);
    i.pull!.requestedReviewers = i.pull!.requestedReviewers.filter((a) => a.id !== sender.id);
    const json = shape.review(ctx.core.urls, ctx.core.store, repo, i, rv);
    if (event) {
      emitRepoEvent(
        ctx.core,
        repo,
        "pull_request_review",
        { action: "submitted", review: json, pull_request: shape.pull(ctx.core.urls, ctx.core.store, repo, i) },
        sender,
      );
    }
    return ok(json);
  });

  r.on("GET", "/repos/:owner/:repo/pulls/:number/requested_reviewers", (ctx) => {
    const repo = ctx.repo("read");
    const i = getPull(repo, intParam(ctx, "number"));
    return ok({ users: i.pull!.requestedReviewers.map((a) => shape.user(ctx.core.urls, a)), teams: [] });
  });

  r.on("POST", "/repos/:owner/:repo/pulls/:number/requested_reviewers", async (ctx) => {
    const repo = ctx.repo("write");
    const i = getPull(repo, intParam(ctx, "number"));
    const sender = ctx.account();
    const logins = Array.isArray(ctx.body["reviewers"])
      ? (ctx.body["reviewers"] as unknown[]).filter((x): x is string => typeof x === "string")
      : [];
    for (const login of logins) {
      const u = ctx.core.store.users.get(login.toLowerCase());
      if (!u)
        throw new HttpError(
          422,
          "Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the " +
            `${repo.owner.login}/${repo.name} repository.`,
        );
      if (u.id === i.user.id) throw new HttpError(422, "Review cannot be requested from pull request author.");
      if (!i.pull!.requestedReviewers.some((a) => a.id === u.id)) {
        i.pull!.requestedReviewers.push(u);
        await emitPullEvent(ctx.core, repo, i, "review_requested", sender, {
          requested_reviewer: shape.user(ctx.core.urls, u),
        });
      }
    }
    await refresh(repo, i);
    return ok(shape.pull(ctx.core.urls, ctx.core.store, repo, i), 201);
  });
}
