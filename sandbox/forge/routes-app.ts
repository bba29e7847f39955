/**
 * GitHub App endpoints (JWT-authenticated), installation tokens, /user.
 */
import { permissionOn } from "./auth.js";
import type { Ctx, Reply, Router } from "./router.js";
import { HttpError, intParam, notFound, ok, paginate } from "./router.js";
import * as shape from "./shapes.js";
import type { AppInfo, Installation, Repo } from "./store.js";
import type { WebhookDelivery } from "./webhooks.js";
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

/** GitHub's `status` of an attempt: "OK" for a 2xx answer, else what went wrong. */
function deliveryStatus(d: WebhookDelivery): string {
  if (d.status === null) return d.error ? `failed to connect to host` : "Pending";
  if (d.status >= 200 && d.status < 300) return "OK";
  return `Invalid HTTP Response: ${d.status}`;
}

function deliveryItem(d: WebhookDelivery) {
  const installation = d.payload["installation"] as { id?: number } | undefined;
  const repository = d.payload["repository"] as { id?: number } | undefined;
  return {
    id: d.attempt,
    guid: d.id,
    delivered_at: d.deliveredAt ?? new Date().toISOString(),
    redelivery: d.redelivery,
    duration: d.duration,
    status: deliveryStatus(d),
    status_code: d.status ?? 0,
    event: d.event,
    action: d.action,
    installation_id: installation?.id ?? null,
    repository_id: repository?.id ?? null,
    throttled_at: null,
  };
}

function attemptOf(ctx: Ctx): WebhookDelivery {
  const id = intParam(ctx, "id");
  const d = ctx.core.hooks.deliveries.find((x) => x.attempt === id && x.deliveredAt !== null);
  if (!d) throw notFound();
  return d;
}

export function registerAppRoutes(r: Router): void {
  // --- the app's webhook deliveries (newest first, cursor-paginated like GitHub) ---------------
  r.on("GET", "/app/hook/deliveries", (ctx) => {
    requireJwt(ctx);
    const perPage = Math.min(100, Math.max(1, Number(ctx.query.get("per_page") ?? 30) || 30));
    const cursor = /^v1_(\d+)$/.exec(ctx.query.get("cursor") ?? "");
    const before = cursor ? Number(cursor[1]) : Infinity;
    const wanted = ctx.query.get("status");
    const attempted = ctx.core.hooks.deliveries
      .filter((d) => d.deliveredAt !== null && d.attempt < before)
      .filter((d) =>
        wanted === "success" ? deliveryStatus(d) === "OK" : wanted === "failure" ? deliveryStatus(d) !== "OK" : true,
      )
      .sort((a, b) => b.attempt - a.attempt);
    const page = attempted.slice(0, perPage);
    const headers: Record<string, string> = {};
    const last = page[page.length - 1];
    if (attempted.length > perPage && last) {
      const q = new URLSearchParams(ctx.query);
      q.set("per_page", String(perPage));
      q.set("cursor", `v1_${last.attempt}`);
      headers["link"] = `<${ctx.core.urls.api}${ctx.path}?${q.toString()}>; rel="next"`;
    }
    return ok(page.map(deliveryItem), 200, headers);
  });

  r.on("GET", "/app/hook/deliveries/:id", (ctx) => {
    requireJwt(ctx);
    const d = attemptOf(ctx);
    return ok({
      ...deliveryItem(d),
      url: ctx.core.hooks.target?.url ?? "",
      request: {
        headers: { "X-GitHub-Event": d.event, "X-GitHub-Delivery": d.id, "Content-Type": "application/json" },
        payload: d.payload,
      },
      response: { headers: {}, payload: null },
    });
  });

  r.on("POST", "/app/hook/deliveries/:id/attempts", (ctx) => {
    requireJwt(ctx);
    const d = attemptOf(ctx);
    ctx.core.hooks.redeliver(d.attempt);
    return ok({}, 202);
  });

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
