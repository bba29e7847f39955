/**
 * Repository, branch, contents, git refs, commits, compare, collaborators,
 * dispatches and commit statuses.
 */
import { permissionOn, userPermission } from "./auth.js";
import { emitRepoEvent, refsChanged } from "./events.js";
import { isSha, isValidBranch, isValidRef, isValidRevision, ZERO_SHA } from "./git.js";
import type { Ctx, Router } from "./router.js";
import { HttpError, notFound, ok, paginate, requireString, str, validationFailed } from "./router.js";
import * as shape from "./shapes.js";
import type { CommitStatus, Repo } from "./store.js";
import { now, withRepoLock } from "./store.js";

async function resolveOr404(repo: Repo, ref: string, message = "No commit found for SHA: " + ref): Promise<string> {
  const sha = await repo.git.resolve(ref);
  if (!sha) throw new HttpError(ref && isValidRevision(ref) ? 422 : 404, message);
  return sha;
}

function refShape(ctx: Ctx, repo: Repo, ref: string, sha: string) {
  const api = `${ctx.core.urls.api}/repos/${repo.owner.login}/${repo.name}`;
  return {
    ref,
    node_id: shape.nodeId("Ref", ref),
    url: `${api}/git/${ref}`,
    object: { sha, type: "commit", url: `${api}/git/commits/${sha}` },
  };
}

/** Combined commit status for a sha (latest status per context). */
export function combinedState(statuses: CommitStatus[]): { state: string; latest: CommitStatus[] } {
  const latest = new Map<string, CommitStatus>();
  for (const s of statuses) latest.set(s.context, s);
  const list = [...latest.values()].reverse();
  let state = "success";
  if (list.length === 0 || list.some((s) => s.state === "pending")) state = "pending";
  if (list.some((s) => s.state === "failure" || s.state === "error")) state = "failure";
  return { state, latest: list };
}

export function registerRepoRoutes(r: Router): void {
  const fullRepository = (ctx: Ctx, repo: Repo) => {
    const p = permissionOn(repo, ctx.actor);
    return shape.fullRepository(ctx.core.urls, repo, {
      admin: p === "admin",
      push: p === "admin" || p === "write",
      pull: true,
    });
  };

  r.on("GET", "/repos/:owner/:repo", (ctx) => ok(fullRepository(ctx, ctx.repo("read"))));

  // Repository settings: the forge keeps the merge methods (what `PUT .../merge` allows); other
  // fields GitHub takes here are accepted and not kept.
  r.on("PATCH", "/repos/:owner/:repo", (ctx) => {
    const repo = ctx.repo("admin");
    const fields = {
      allow_merge_commit: "allowMergeCommit",
      allow_squash_merge: "allowSquashMerge",
      allow_rebase_merge: "allowRebaseMerge",
    } as const;
    const next = { ...repo.mergeSettings };
    for (const [field, key] of Object.entries(fields)) {
      const value = ctx.body[field];
      if (value === undefined) continue;
      if (typeof value !== "boolean") throw validationFailed([{ resource: "Repository", field, code: "invalid" }]);
      next[key] = value;
    }
    if (!next.allowMergeCommit && !next.allowSquashMerge && !next.allowRebaseMerge)
      throw validationFailed([
        {
          resource: "Repository",
          code: "custom",
          field: "merge_commit_allowed",
          message: "Sorry, you need to allow at least one merge strategy. (no_merge_method)",
        },
      ]);
    repo.mergeSettings = next;
    repo.updatedAt = now();
    return ok(fullRepository(ctx, repo));
  });

  r.on("GET", "/repos/:owner/:repo/branches", async (ctx) => {
    const repo = ctx.repo("read");
    const refs = await repo.git.refs();
    const branches = [...refs.entries()]
      .filter(([ref]) => ref.startsWith("refs/heads/"))
      .map(([ref, sha]) => ({
        name: ref.slice(11),
        commit: { sha, url: `${ctx.core.urls.api}/repos/${repo.owner.login}/${repo.name}/commits/${sha}` },
        protected: false,
      }));
    const page = paginate(ctx, branches);
    return ok(page.items, 200, page.headers);
  });

  r.on("GET", "/repos/:owner/:repo/branches/*branch", async (ctx) => {
    const repo = ctx.repo("read");
    const branch = ctx.params["branch"]!;
    if (!isValidBranch(branch)) throw new HttpError(404, "Branch not found");
    const sha = await repo.git.resolve(`refs/heads/${branch}`);
    if (!sha) throw new HttpError(404, "Branch not found");
    const c = await repo.git.commit(sha);
    const api = `${ctx.core.urls.api}/repos/${repo.owner.login}/${repo.name}`;
    return ok({
      name: branch,
      commit: shape.commit(ctx.core.urls, ctx.core.store, repo, c),
      _links: {
        self: `${api}/branches/${branch}`,
        html: `${ctx.core.urls.html}/${repo.owner.login}/${repo.name}/tree/${branch}`,
      },
      protected: false,
      protection: { enabled: false, required_status_checks: { enforcement_level: "off", contexts: [], checks: [] } },
      protection_url: `${api}/branches/${branch}/protection`,
    });
  });

  const contents = async (ctx: Ctx) => {
    const repo = ctx.repo("read");
    const path = (ctx.params["path"] ?? "").replace(/\/+$/, "");
    if (path.split("/").some((s) => s === ".." || s === ".") || path.startsWith("/")) throw notFound();
    const refName = ctx.query.get("ref") ?? repo.defaultBranch;
    const refs = await repo.git.refs();
    if (refs.size === 0) throw new HttpError(404, "This repository is empty.");
    const commit = await repo.git.resolve(refName);
    if (!commit) throw new HttpError(404, `No commit found for the ref ${refName}`);
    const entry = await repo.git.entry(commit, path);
    if (!entry) throw notFound();
    const u = ctx.core.urls;
    const full = `${repo.owner.login}/${repo.name}`;
    const describe = (e: { type: string; sha: string; size: number | null; path: string }) => {
      const type = e.type === "tree" ? "dir" : e.type === "commit" ? "submodule" : "file";
      const enc = e.path.split("/").map(encodeURIComponent).join("/");
      const self = `${u.api}/repos/${full}/contents/${enc}?ref=${encodeURIComponent(refName)}`;
      const git = `${u.api}/repos/${full}/git/${e.type === "tree" ? "trees" : "blobs"}/${e.sha}`;
      const html = `${u.html}/${full}/${e.type === "tree" ? "tree" : "blob"}/${refName}/${enc}`;
      return {
        type,
        size: e.size ?? 0,
        name: e.path.split("/").pop() ?? "",
        path: e.path,
        sha: e.sha,
        url: self,
        git_url: git,
        html_url: html,
        download_url: type === "file" ? `${u.html}/${full}/raw/${refName}/${enc}` : null,
        _links: { self, git, html },
      };
    };
    if (entry.type === "tree") {
      const list = await repo.git.listTree(commit, path);
      return ok(list.map(describe));
    }
    if (entry.type !== "blob") return ok(describe(entry));
    const data = await repo.git.blob(entry.sha);
    // The raw media type (used by Conveyor's config reader) answers with the bytes; asked again
    // with the ETag of the same bytes (If-None-Match), with 304 and none, as GitHub does.
    if (/application\/vnd\.github(\.v3)?\.raw/.test(String(ctx.req.headers.accept ?? ""))) {
      const etag = `"${entry.sha}"`;
      if (ctx.req.headers["if-none-match"] === etag) return { status: 304, body: "", headers: { etag } };
      return {
        status: 200,
        body: data,
        headers: { "content-type": "application/vnd.github.raw; charset=utf-8", etag },
      };
    }
    const b64 = data.toString("base64").replace(/(.{60})/g, "$1\n");
    return ok({
      ...describe({ ...entry, size: data.length }),
      content: b64.endsWith("\n") ? b64 : b64 + "\n",
      encoding: "base64",
    });
  };
  r.on("GET", "/repos/:owner/:repo/contents", contents);
  r.on("GET", "/repos/:owner/:repo/contents/*path", contents);

  // --- git refs --------------------------------------------------------------
  const getRef = async (ctx: Ctx) => {
    const repo = ctx.repo("read");
    const ref = `refs/${ctx.params["ref"]}`;
    if (!isValidRef(ref)) throw notFound();
    const sha = (await repo.git.refs()).get(ref);
    if (!sha) throw notFound();
    return ok(refShape(ctx, repo, ref, sha));
  };
  r.on("GET", "/repos/:owner/:repo/git/ref/*ref", getRef);
  r.on("GET", "/repos/:owner/:repo/git/refs/*ref", getRef);

  r.on("POST", "/repos/:owner/:repo/git/refs", async (ctx) => {
    const repo = ctx.repo("write");
    const ref = requireString(ctx.body, "ref", "Reference");
    const sha = requireString(ctx.body, "sha", "Reference");
    if (!isValidRef(ref)) throw new HttpError(422, "Reference name is not valid");
    if (!isSha(sha) || !(await repo.git.objectExists(sha))) throw new HttpError(422, "Object does not exist");
    return withRepoLock(repo, async () => {
      if ((await repo.git.refs()).has(ref)) throw new HttpError(422, "Reference already exists");
      await repo.git.updateRef(ref, sha, ZERO_SHA);
      await refsChanged(ctx.core, repo, [{ ref, before: ZERO_SHA, after: sha }], ctx.account());
      return ok(refShape(ctx, repo, ref, sha), 201);
    });
  });

  r.on("PATCH", "/repos/:owner/:repo/git/refs/*ref", async (ctx) => {
    const repo = ctx.repo("write");
    const ref = `refs/${ctx.params["ref"]}`;
    const sha = requireString(ctx.body, "sha", "Reference");
    if (!isValidRef(ref)) throw new HttpError(422, "Reference does not exist");
    if (!isSha(sha) || !(await repo.git.objectExists(sha))) throw new HttpError(422, "Object does not exist");
    return withRepoLock(repo, async () => {
      const before = (await repo.git.refs()).get(ref);
      if (!before) throw new HttpError(422, "Reference does not exist");
      if (ctx.body["force"] !== true && !(await repo.git.isAncestor(before, sha)))
        throw new HttpError(422, "Update is not a fast forward");
      if (before !== sha) {
        await repo.git.updateRef(ref, sha, before);
        await refsChanged(ctx.core, repo, [{ ref, before, after: sha }], ctx.account());
      }
      return ok(refShape(ctx, repo, ref, sha));
    });
  });

  r.on("DELETE", "/repos/:owner/:repo/git/refs/*ref", async (ctx) => {
    const repo = ctx.repo("write");
    const ref = `refs/${ctx.params["ref"]}`;
    if (!isValidRef(ref)) throw new HttpError(422, "Reference does not exist");
    return withRepoLock(repo, async () => {
      const before = (await repo.git.refs()).get(ref);
      if (!before) throw new HttpError(422, "Reference does not exist");
      await repo.git.deleteRef(ref, before);
      await refsChanged(ctx.core, repo, [{ ref, before, after: ZERO_SHA }], ctx.account());
      return { status: 204 };
    });
  });

  // --- commits / compare -----------------------------------------------------
  // A branch's (or commit's) history, newest first, paged.
  r.on("GET", "/repos/:owner/:repo/commits", async (ctx) => {
    const repo = ctx.repo("read");
    const from = ctx.query.get("sha") ?? repo.defaultBranch;
    const head = await repo.git.resolve(from);
    if (!head) throw new HttpError(404, "Not Found");
    const all = (await repo.git.commitsBetween(null, head, 10_000)).reverse();
    const page = paginate(ctx, all);
    const u = ctx.core.urls;
    const commits = await Promise.all(
      page.items.map(async (s) => shape.commit(u, ctx.core.store, repo, await repo.git.commit(s))),
    );
    return ok(commits, 200, page.headers);
  });

  r.on("GET", "/repos/:owner/:repo/commits/:ref", async (ctx) => {
    const repo = ctx.repo("read");
    const sha = await resolveOr404(repo, ctx.params["ref"]!);
    const c = await repo.git.commit(sha);
    const files = await repo.git.diff(c.parents[0] ?? null, sha);
    return ok(shape.commit(ctx.core.urls, ctx.core.store, repo, c, files));
  });

  r.on("GET", "/repos/:owner/:repo/compare/*basehead", async (ctx) => {
    const repo = ctx.repo("read");
    const m = /^(.+?)\.\.\.(.+)$/.exec(ctx.params["basehead"] ?? "");
    if (!m) throw notFound();
    const base = await repo.git.resolve(m[1]!);
    const head = await repo.git.resolve(m[2]!);
    if (!base || !head) throw notFound();
    const mergeBase = await repo.git.mergeBase(base, head);
    if (!mergeBase) throw new HttpError(404, `No common ancestor between ${m[1]} and ${m[2]}.`);
    const ahead = await repo.git.countCommits(`${base}..${head}`);
    const behind = await repo.git.countCommits(`${head}..${base}`);
    const status =
      ahead === 0 && behind === 0 ? "identical" : behind === 0 ? "ahead" : ahead === 0 ? "behind" : "diverged";
    const u = ctx.core.urls;
    const store = ctx.core.store;
    // Oldest first: up to 250 without paging, as GitHub lists them; page/per_page page through all.
    const all = await repo.git.commitsBetween(mergeBase, head, 10_000);
    const paged = ctx.query.has("page") || ctx.query.has("per_page");
    const listed = paged ? paginate(ctx, all) : { items: all.slice(0, 250), headers: undefined };
    const commits = await Promise.all(
      listed.items.map(async (s) => shape.commit(u, store, repo, await repo.git.commit(s))),
    );
    const files = await repo.git.diff(mergeBase, head);
    const full = `${repo.owner.login}/${repo.name}`;
    const bh = ctx.params["basehead"]!;
    return ok(
      {
        url: `${u.api}/repos/${full}/compare/${bh}`,
        html_url: `${u.html}/${full}/compare/${bh}`,
        permalink_url: `${u.html}/${full}/compare/${repo.owner.login}:${base.slice(0, 7)}...${repo.owner.login}:${head.slice(0, 7)}`,
        diff_url: `${u.html}/${full}/compare/${bh}.diff`,
        patch_url: `${u.html}/${full}/compare/${bh}.patch`,
        base_commit: shape.commit(u, store, repo, await repo.git.commit(base)),
        merge_base_commit: shape.commit(u, store, repo, await repo.git.commit(mergeBase)),
        status,
        ahead_by: ahead,
        behind_by: behind,
        total_commits: ahead,
        commits,
        files: files.map((f) => shape.file(u, repo, head, f)),
      },
      200,
      listed.headers,
    );
  });

  // --- collaborators ---------------------------------------------------------
  r.on("GET", "/repos/:owner/:repo/collaborators/:user/permission", (ctx) => {
    const repo = ctx.repo("read");
    const target = ctx.core.store.users.get(ctx.params["user"]!.toLowerCase());
    if (!target) throw new HttpError(404, `${ctx.params["user"]} is not a user`);
    const perm = userPermission(repo, target);
    const u = shape.user(ctx.core.urls, target);
    const permissions = {
      admin: perm === "admin",
      maintain: perm === "admin",
      push: perm === "admin" || perm === "write",
      triage: perm !== "none" && perm !== "read",
      pull: perm !== "none",
    };
    return ok({ permission: perm, role_name: perm, user: { ...u, permissions, role_name: perm } });
  });

  // --- dispatches ------------------------------------------------------------
  r.on("POST", "/repos/:owner/:repo/dispatches", (ctx) => {
    const repo = ctx.repo("write");
    const eventType = str(ctx.body["event_type"]);
    if (!eventType)
      throw validationFailed(
        [{ resource: "Repository", field: "event_type", code: "missing_field" }],
        "Invalid request.\n\nNo event_type provided.",
      );
    if (eventType.length > 100)
      throw validationFailed([{ resource: "Repository", field: "event_type", code: "invalid" }]);
    const payload = ctx.body["client_payload"];
    if (payload !== undefined && (payload === null || typeof payload !== "object" || Array.isArray(payload))) {
      throw validationFailed(
        [{ resource: "Repository", field: "client_payload", code: "invalid" }],
        "Invalid request.\n\nFor 'properties/client_payload', is not an object.",
      );
    }
    emitRepoEvent(
      ctx.core,
      repo,
      "repository_dispatch",
      { action: eventType, branch: repo.defaultBranch, client_payload: payload ?? {} },
      ctx.account(),
    );
    return { status: 204 };
  });

  // --- commit statuses -------------------------------------------------------
  r.on("POST", "/repos/:owner/:repo/statuses/:sha", async (ctx) => {
    const repo = ctx.repo("write");
    const sha = await repo.git.resolve(ctx.params["sha"]!);
    if (!sha) throw new HttpError(422, `No commit found for SHA: ${ctx.params["sha"]}`);
    const state = str(ctx.body["state"]);
    if (!state || !["error", "failure", "pending", "success"].includes(state))
      throw validationFailed([
        { resource: "Status", field: "state", code: "custom", message: "state is not included in the list" },
      ]);
    const t = now();
    const s: CommitStatus = {
      id: ctx.core.store.nextId(),
      sha,
      state: state as CommitStatus["state"],
      context: str(ctx.body["context"]) ?? "default",
      description: str(ctx.body["description"]) ?? null,
      targetUrl: str(ctx.body["target_url"]) ?? null,
      creator: ctx.account(),
      createdAt: t,
      updatedAt: t,
    };
    repo.statuses.push(s);
    return ok(shape.status(ctx.core.urls, s), 201);
  });

  r.on("GET", "/repos/:owner/:repo/commits/:ref/status", async (ctx) => {
    const repo = ctx.repo("read");
    const sha = await repo.git.resolve(ctx.params["ref"]!);
    if (!sha) throw new HttpError(404, `No commit found for SHA: ${ctx.params["ref"]}`);
    const { state, latest } = combinedState(repo.statuses.filter((s) => s.sha === sha));
    const api = `${ctx.core.urls.api}/repos/${repo.owner.login}/${repo.name}`;
    return ok({
      state,
      statuses: latest.map((s) => shape.status(ctx.core.urls, s)),
      sha,
      total_count: latest.length,
      repository: shape.repository(ctx.core.urls, repo),
      commit_url: `${api}/commits/${sha}`,
      url: `${api}/commits/${sha}/status`,
    });
  });
}
