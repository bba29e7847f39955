/**
 * GitHub's OAuth web flow for the App's own OAuth client, as a GitHub App's "sign in with GitHub"
 * uses it: authorize (on the web host), the code-for-token exchange, and what a user token
 * reads of the App's installations. The forge has no browser sessions, so authorize approves at
 * once for the user named by GitHub's `login` parameter, and otherwise shows a page with one link
 * per sandbox user.
 */
import { permissionOn } from "./auth.js";
import type { Ctx, Router } from "./router.js";
import { HttpError, intParam, notFound, ok, paginate, str } from "./router.js";
import { repositoryList } from "./routes-app.js";
import * as shape from "./shapes.js";
import type { AppInfo, Installation, Repo, User } from "./store.js";
import { newToken } from "./store.js";

const CODE_TTL_MS = 10 * 60 * 1000;

function html(status: number, body: string) {
  return {
    status,
    body: Buffer.from(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Forge sign-in</title></head><body>${body}</body></html>`,
    ),
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function appWithClient(ctx: Ctx, clientId: string | undefined): AppInfo {
  const app = ctx.core.store.app;
  if (!app || !clientId || clientId !== shape.clientIdOf(app)) throw notFound();
  return app;
}

function requireUser(ctx: Ctx): User {
  if (ctx.actor.kind === "anonymous") throw new HttpError(401, "Requires authentication");
  if (ctx.actor.kind !== "user") throw new HttpError(403, "Resource not accessible by integration");
  return ctx.actor.user;
}

/** Repositories of an installation's account the user can read. */
function readableIn(ctx: Ctx, installation: Installation, user: User): Repo[] {
  return [...ctx.core.store.repos.values()].filter(
    (repo) =>
      repo.owner.login.toLowerCase() === installation.account.login.toLowerCase() &&
      permissionOn(repo, { kind: "user", user, token: "" }) !== "none",
  );
}

export function registerOAuthRoutes(r: Router): void {
  r.on("GET", "/login/oauth/authorize", (ctx) => {
    const app = appWithClient(ctx, str(ctx.query.get("client_id")));
    const redirect = ctx.query.get("redirect_uri") ?? "";
    let target: URL;
    try {
      target = new URL(redirect);
      if (target.protocol !== "http:" && target.protocol !== "https:") throw new Error("scheme");
    } catch {
      return html(400, "<h1>The redirect_uri is not a valid http(s) URL.</h1>");
    }
    const login = ctx.query.get("login") ?? "";
    const user = ctx.core.store.users.get(login.toLowerCase());
    if (!user) {
      const links = [...ctx.core.store.users.values()]
        .map((u) => {
          const q = new URLSearchParams(ctx.query);
          q.set("login", u.login);
          return `<li><a href="/login/oauth/authorize?${esc(q.toString())}">Sign in as ${esc(u.login)}</a></li>`;
        })
        .join("");
      return html(200, `<h1>Authorize ${esc(app.name)}</h1><p>Sandbox users (auto-approved):</p><ul>${links}</ul>`);
    }
    const code = newToken("");
    ctx.core.store.oauthCodes.set(code, {
      login: user.login,
      redirectUri: redirect,
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    target.searchParams.set("code", code);
    const state = ctx.query.get("state");
    if (state !== null) target.searchParams.set("state", state);
    return { status: 302, headers: { location: target.toString(), "cache-control": "no-store" } };
  });

  r.on("POST", "/login/oauth/access_token", (ctx) => {
    const app = ctx.core.store.app;
    const clientId = str(ctx.body["client_id"]);
    const secret = str(ctx.body["client_secret"]);
    if (!app || clientId !== shape.clientIdOf(app) || !secret || secret !== app.clientSecret)
      return ok({
        error: "incorrect_client_credentials",
        error_description: "The client_id and/or client_secret passed are incorrect.",
      });
    const code = str(ctx.body["code"]) ?? "";
    const grant = ctx.core.store.oauthCodes.get(code);
    ctx.core.store.oauthCodes.delete(code);
    const redirect = str(ctx.body["redirect_uri"]);
    if (!grant || grant.expiresAt <= Date.now() || (redirect !== undefined && redirect !== grant.redirectUri))
      return ok({ error: "bad_verification_code", error_description: "The code passed is incorrect or expired." });
    const user = ctx.core.store.users.get(grant.login.toLowerCase());
    if (!user)
      return ok({ error: "bad_verification_code", error_description: "The code passed is incorrect or expired." });
    const token = newToken("ghu_");
    ctx.core.store.tokens.set(token, user);
    return ok({ access_token: token, token_type: "bearer", scope: "" });
  });

  r.on("GET", "/user/installations", (ctx) => {
    const user = requireUser(ctx);
    const app = ctx.core.store.app;
    if (!app) throw notFound();
    const installations = [...ctx.core.store.installations.values()].filter((i) => readableIn(ctx, i, user).length > 0);
    const page = paginate(ctx, installations);
    return ok(
      {
        total_count: installations.length,
        installations: page.items.map((i) => shape.installation(ctx.core.urls, i, app)),
      },
      200,
      page.headers,
    );
  });

  r.on("GET", "/user/installations/:id/repositories", (ctx) => {
    const user = requireUser(ctx);
    const installation = ctx.core.store.installations.get(intParam(ctx, "id"));
    if (!installation) throw notFound();
    const repos = readableIn(ctx, installation, user);
    if (!repos.length) throw notFound();
    return repositoryList(ctx, repos);
  });
}
