/**
 * A tiny router and the request context shared by the REST route modules.
 */
import type { IncomingMessage } from "node:http";
import type { Actor } from "./auth.js";
import { atLeast, permissionOn } from "./auth.js";
import { isValidOwner, isValidRepoName } from "./git.js";
import type { Json, Urls } from "./shapes.js";
import type { Account, Permission, Repo, Store } from "./store.js";
import type { WebhookDispatcher } from "./webhooks.js";

export const DOCS = "https://docs.github.com/rest";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function notFound(): HttpError {
  return new HttpError(404, "Not Found");
}

/** GitHub's 422 "Validation Failed" with an errors array. */
export function validationFailed(errors: Array<Record<string, unknown>>, message = "Validation Failed"): HttpError {
  return new HttpError(422, message, { errors });
}

export interface Core {
  store: Store;
  urls: Urls;
  hooks: WebhookDispatcher;
  dataDir: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Ctx {
  core: Core;
  req: IncomingMessage;
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Json;
  actor: Actor;
  /** Account of the actor, or throws 401. */
  account(): Account;
  /** The repository named by :owner/:repo, checking the actor's permission. */
  repo(need: Permission): Repo;
}

export type Handler = (ctx: Ctx) => Promise<Reply> | Reply;

interface Route {
  method: string;
  re: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private routes: Route[] = [];

  /** Patterns: `:name` matches one segment, `*name` the rest of the path (may be empty). */
  on(method: string, pattern: string, handler: Handler): this {
    const names: string[] = [];
    const src = pattern
      .split("/")
      .map((seg) => {
        if (seg.startsWith(":")) {
          names.push(seg.slice(1));
          return "([^/]+)";
        }
        if (seg.startsWith("*")) {
          names.push(seg.slice(1));
          return "?(.*)";
        }
        return seg.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("/");
    this.routes.push({ method, re: new RegExp(`^${src}$`), names, handler });
    return this;
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | "method" | null {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1] ?? "");
      });
      return { handler: r.handler, params };
    }
    return pathMatched ? "method" : null;
  }
}

/** Resolve :owner/:repo for a context (used by the server when building Ctx). */
export function lookupRepo(
  core: Core,
  actor: Actor,
  owner: string | undefined,
  name: string | undefined,
  need: Permission,
): Repo {
  if (!owner || !name || !isValidOwner(owner) || !isValidRepoName(name)) throw notFound();
  const repo = core.store.repo(owner, name);
  if (!repo) throw notFound();
  const have = permissionOn(repo, actor);
  if (have === "none") throw notFound();
  if (!atLeast(have, need)) {
    if (actor.kind === "anonymous") throw new HttpError(401, "Requires authentication");
    if (actor.kind === "installation") throw new HttpError(403, "Resource not accessible by integration");
    throw new HttpError(
      403,
      need === "admin" ? "Must have admin rights to Repository." : "Must have push access to repository",
    );
  }
  return repo;
}

/** page / per_page pagination with a GitHub-style Link header. */
export function paginate<T>(ctx: Ctx, items: T[]): { items: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get("per_page") ?? 30) || 30));
  const page = Math.max(1, Number(ctx.query.get("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const headers: Record<string, string> = {};
  if (last > 1) {
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams(ctx.query);
      q.set("page", String(p));
      q.set("per_page", String(perPage));
      return `<${ctx.core.urls.api}${ctx.path}?${q.toString()}>; rel="${rel}"`;
    };
    const parts: string[] = [];
    if (page > 1) parts.push(link(page - 1, "prev"), link(1, "first"));
    if (page < last) parts.push(link(page + 1, "next"), link(last, "last"));
    headers["link"] = parts.join(", ");
  }
  return { items: slice, headers };
}

export function ok(body: unknown, status = 200, headers?: Record<string, string>): Reply {
  return headers ? { status, body, headers } : { status, body };
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

export function requireString(body: Json, field: string, resource: string): string {
  const v = body[field];
  if (typeof v !== "string" || v === "") throw validationFailed([{ resource, field, code: "missing_field" }]);
  return v;
}

export function intParam(ctx: Ctx, name: string): number {
  const v = ctx.params[name] ?? "";
  if (!/^\d{1,12}$/.test(v)) throw notFound();
  return Number(v);
}
