/**
 * GitHub App endpoints (JWT-authenticated), installation tokens, /user.
 */
import { permissionOn } from "./auth.js";
import type { Ctx, Reply, Router } from "./router.js";
import { HttpError, intParam, notFound, ok, paginate } from "./router.js";
import * as shape from "./shapes.js";
import type { AppInfo, Installation, Repo } from "./store.js";
import { newToken } from "./store.js";

const TOKEN_TTL_MS = 60 * 60 * 1000;

function requireJwt(ctx: Ctx): AppInfo {
  const app = ctx.core.store.app;
  if (ctx.actor.kind === "anonymous") throw new HttpError(401, "A JSON web token could not be decoded");
  if (ctx.actor.kind !== "app" || !app) throw new HttpError(401, "A JSON web token could not be decoded");
  return app;
}

function installationJson(ctx: Ctx, app: AppInfo, inst: Installation | undefined) {
  if (!inst) throw notFound();
  return ok(shape.installation(ctx.core.urls, inst, app));
}

export function registerAppRoutes(r: Router): void {
  r.on("GET", "/app", (ctx) => {
    const app = requireJwt(ctx);
    return ok(shape.app(ctx.core.urls, app, ctx.core.store.installations.size));
  });

  r.on("GET", "/app/installations", (ctx) => {
    const app = requireJwt(ctx);
    const page = paginate(ctx, [...ctx.core.store.installations.values()]);
    return ok(
      page.items.map((i) => shape.installation(ctx.core.urls, i, app)),
      200,
      page.headers,
    );
  });

  r.on("GET", "/app/installations/:id", (ctx) => {
    const app = requireJwt(ctx);
    return installationJson(ctx, app, ctx.core.store.installations.get(intParam(ctx, "id")));
  });

  r.on("POST", "/app/installations/:id/access_tokens", (ctx) => {
    const app = requireJwt(ctx);
    const inst = ctx.core.store.installations.get(intParam(ctx, "id"));
    if (!inst) throw notFound();
    const token = newToken("ghs_");
    const expiresAt = Date.now() + TOKEN_TTL_MS;
    ctx.core.store.installationTokens.set(token, { token, installationId: inst.id, expiresAt });
    void app;
    return ok(
      {
        token,
        expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
        permissions: shape.APP_PERMISSIONS,
        repository_selection: "all",
      },
      201,
    );
  });

  r.on("GET", "/repos/:owner/:repo/installation", (ctx) => {
    const app = requireJwt(ctx);
    const repo = ctx.core.store.repo(ctx.params["owner"]!, ctx.params["repo"]!);
    if (!repo) throw notFound();
    return installationJson(ctx, app, ctx.core.store.installationFor(repo.owner.login));
  });
  r.on("GET", "/orgs/:org/installation", (ctx) =>
    installationJson(ctx, requireJwt(ctx), ctx.core.store.installationFor(ctx.params["org"]!)),
  );
  r.on("GET", "/users/:user/installation", (ctx) =>
    installationJson(ctx, requireJwt(ctx), ctx.core.store.installationFor(ctx.params["user"]!)),
  );

  r.on("GET", "/installation/repositories", (ctx) => {
    if (ctx.actor.kind !== "installation")
      throw new HttpError(403, "This endpoint can only be accessed with an installation token");
    const actor = ctx.actor;
    return repositoryList(
      ctx,
      [...ctx.core.store.repos.values()].filter((repo) => permissionOn(repo, actor) !== "none"),
    );
  });

  r.on("GET", "/user", (ctx) => {
    if (ctx.actor.kind === "anonymous") throw new HttpError(401, "Requires authentication");
    if (ctx.actor.kind !== "user") throw new HttpError(403, "Resource not accessible by integration");
    const u = ctx.actor.user;
    const t = "2020-01-01T00:00:00Z";
    return ok({
      ...shape.user(ctx.core.urls, u),
      name: u.name,
      company: null,
      blog: "",
      location: null,
      email: u.email,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: 0,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: t,
      updated_at: t,
    });
  });

  r.on("GET", "/users/:user", (ctx) => {
    const a = ctx.core.store.accounts.get(ctx.params["user"]!.toLowerCase());
    if (!a) throw notFound();
    return ok(shape.user(ctx.core.urls, a));
  });
}

/** A page of repositories as GitHub lists an installation's (`repositories`, with the total). */
export function repositoryList(ctx: Ctx, repos: Repo[]): Reply {
  const page = paginate(ctx, repos);
  return ok(
    {
      total_count: repos.length,
      repository_selection: "all",
      repositories: page.items.map((repo) => shape.repository(ctx.core.urls, repo)),
    },
    200,
    page.headers,
  );
}
