// The read-only web dashboard: /dashboard (every readable repository's matrix), /dashboard/<owner>/
// <repo> (matrix, waiting promotions, holds, failures and delivery metrics over 7/30/90 days) and
// /dashboard/<owner>/<repo>/services/<service> (one service's history). People sign in with
// GitHub (the App's OAuth client) and see only repositories their own token can read; without a
// configured client the page is off and says how to turn it on. No script runs on these pages.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { OAuthError, type GitHubOAuth, type ReadableRepo } from "../adapters/github/oauth.js";
import { redact } from "../adapters/redact.js";
import { readCookies, type SessionSealer } from "../adapters/session.js";
import { WINDOWS, type WindowDays } from "../core/dashboard/delivery-metrics.js";
import { buildDashboard, serviceTimeline } from "../core/dashboard/matrix.js";
import {
  messagePage,
  offPage,
  overviewPage,
  repoPage,
  servicePage,
  signInPage,
  type PageUser,
} from "../core/dashboard/page.js";
import { isValidName } from "../core/names.js";
import { metricsFor, type DashboardData, type DashboardRepo } from "../flows/dashboard/gather.js";
import type { Log } from "../flows/services.js";

export interface DashboardWebOptions {
  data: DashboardData;
  /** Without an OAuth client the dashboard is off. */
  oauth?: GitHubOAuth;
  sealer: SessionSealer;
  /** The address people reach Conveyor at (CONVEYOR_PUBLIC_URL); default: the request's Host. */
  publicUrl?: string;
  log: Log;
  now?: () => number;
}

const SESSION = "conveyor_session";
const STATE = "conveyor_oauth";
const SESSION_MS = 8 * 3_600_000;
const ACCESS_MS = 60_000;
const HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

interface Session {
  login: string;
  token: string;
}

export function dashboardWeb(options: DashboardWebOptions) {
  const now = () => options.now?.() ?? Date.now();
  // What each signed-in token may read, for a minute: GitHub is asked again after that.
  const access = new Map<string, { at: number; repos: Promise<ReadableRepo[]> }>();

  const send = (res: ServerResponse, status: number, html: string, extra: Record<string, string | string[]> = {}) => {
    res.writeHead(status, { ...HEADERS, ...extra }).end(html);
    return true;
  };
  const redirect = (res: ServerResponse, location: string, cookies: string[] = []) => {
    res.writeHead(303, { location, "cache-control": "no-store", ...(cookies.length ? { "set-cookie": cookies } : {}) });
    res.end();
    return true;
  };
  const base = (req: IncomingMessage) =>
    (options.publicUrl ?? `http://${req.headers.host ?? "localhost"}`).replace(/\/+$/, "");
  const cookie = (req: IncomingMessage, name: string, value: string, maxAgeS: number) =>
    `${name}=${value}; Path=/dashboard; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${base(req).startsWith("https:") ? "; Secure" : ""}`;

  const sessionOf = (req: IncomingMessage): Session | undefined => {
    const value = options.sealer.open(readCookies(req.headers.cookie).get(SESSION), now());
    return typeof value?.login === "string" && typeof value.token === "string"
      ? { login: value.login, token: value.token }
      : undefined;
  };
  const readable = (oauth: GitHubOAuth, session: Session): Promise<ReadableRepo[]> => {
    const key = createHash("sha256").update(session.token).digest("hex");
    const hit = access.get(key);
    if (hit && now() - hit.at < ACCESS_MS) return hit.repos;
    const repos = oauth.readableRepos(session.token).catch((error: unknown) => {
      access.delete(key);
      throw error;
    });
    access.set(key, { at: now(), repos });
    if (access.size > 10_000) access.delete(access.keys().next().value as string);
    return repos;
  };
  const repoOf = (r: ReadableRepo): DashboardRepo => ({
    installationId: r.installationId,
    ref: { owner: r.owner, repo: r.repo },
    cloneUrl: r.cloneUrl,
    defaultBranch: r.defaultBranch,
    htmlUrl: r.htmlUrl,
  });

  const login = (req: IncomingMessage, res: ServerResponse, oauth: GitHubOAuth, query: URLSearchParams) => {
    const state = randomBytes(16).toString("base64url");
    const as = query.get("as") ?? undefined;
    const url = oauth.authorizeUrl({
      state,
      redirectUri: `${base(req)}/dashboard/callback`,
      ...(as && /^[A-Za-z0-9-]{1,39}$/.test(as) ? { login: as } : {}),
    });
    const sealed = options.sealer.seal({ state }, now() + 600_000);
    return redirect(res, url, [cookie(req, STATE, sealed, 600)]);
  };

  const callback = async (req: IncomingMessage, res: ServerResponse, oauth: GitHubOAuth, query: URLSearchParams) => {
    const expected = options.sealer.open(readCookies(req.headers.cookie).get(STATE), now())?.state;
    const state = query.get("state") ?? "";
    const code = query.get("code") ?? "";
    const same =
      typeof expected === "string" &&
      expected.length === state.length &&
      timingSafeEqual(Buffer.from(expected), Buffer.from(state));
    if (!same || !code || code.length > 512)
      return send(
        res,
        400,
        messagePage("Sign-in failed", "The sign-in expired or did not start here. Please sign in again."),
      );
    const token = await oauth.exchange(code, `${base(req)}/dashboard/callback`);
    const user = await oauth.login(token);
    const sealed = options.sealer.seal({ login: user, token }, now() + SESSION_MS);
    return redirect(res, "/dashboard", [cookie(req, SESSION, sealed, SESSION_MS / 1000), cookie(req, STATE, "", 0)]);
  };

  const pages = async (
    res: ServerResponse,
    oauth: GitHubOAuth,
    session: Session,
    parts: string[],
    query: URLSearchParams,
  ): Promise<boolean> => {
    const user: PageUser = { login: session.login };
    const repos = await readable(oauth, session);
    if (parts.length === 0) {
      const gathered = await Promise.all(repos.map((r) => options.data.get(repoOf(r))));
      // Repositories without services or Deployments (service repositories) have nothing to show.
      const dashboards = gathered.flatMap((g) =>
        g.ok && (g.input.services.length || g.input.deployments.length) ? [buildDashboard(g.input)] : [],
      );
      return send(res, 200, overviewPage(user, dashboards));
    }
    const [owner, name, section, service, ...rest] = parts;
    const repo = repos.find((r) => r.fullName.toLowerCase() === `${owner}/${name}`.toLowerCase());
    const notFound = () =>
      send(res, 404, messagePage("Not found", "No such repository or service, or you cannot read it.", user));
    if (!repo || rest.length || (section !== undefined && section !== "services")) return notFound();
    const gathered = await options.data.get(repoOf(repo));
    if (!gathered.ok)
      return send(res, 200, messagePage(repo.fullName, `Conveyor does nothing here: ${gathered.reason}.`, user));
    if (section === "services") {
      if (!service || !isValidName(service)) return notFound();
      const timeline = serviceTimeline(gathered.input.deployments, service);
      if (!timeline.length && !gathered.input.services.includes(service)) return notFound();
      return send(res, 200, servicePage(user, repo.fullName, repo.htmlUrl, service, timeline));
    }
    const asked = Number(query.get("window") ?? 30);
    const windowDays = (WINDOWS as readonly number[]).includes(asked) ? (asked as WindowDays) : 30;
    const metrics = metricsFor(gathered.input, windowDays, now());
    return send(res, 200, repoPage(user, buildDashboard(gathered.input), metrics, windowDays));
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://conveyor.local");
    const path = url.pathname.replace(/\/+$/, "");
    if (path !== "/dashboard" && !path.startsWith("/dashboard/")) return false;
    const method = req.method ?? "GET";
    const oauth = options.oauth;
    try {
      if (!oauth) return send(res, 200, offPage());
      if (path === "/dashboard/logout") {
        if (method !== "POST")
          return send(res, 405, messagePage("Sign out", "Sign out with the button."), { allow: "POST" });
        return redirect(res, "/dashboard", [cookie(req, SESSION, "", 0)]);
      }
      if (method !== "GET" && method !== "HEAD")
        return send(res, 405, messagePage("Not allowed", "Read-only."), { allow: "GET" });
      if (path === "/dashboard/login") return login(req, res, oauth, url.searchParams);
      if (path === "/dashboard/callback") return await callback(req, res, oauth, url.searchParams);
      const session = sessionOf(req);
      if (!session) return send(res, 200, signInPage());
      let parts: string[];
      try {
        parts = path.split("/").slice(2).map(decodeURIComponent);
      } catch {
        return send(res, 400, messagePage("Bad address", "That address is not valid."));
      }
      return await pages(res, oauth, session, parts, url.searchParams);
    } catch (error) {
      if (error instanceof OAuthError) {
        const expired = /expired/.test(error.message);
        return send(
          res,
          expired ? 401 : 502,
          messagePage("Sign-in problem", `${redact(error.message)}. Please sign in again.`),
          expired ? { "set-cookie": cookie(req, SESSION, "", 0) } : {},
        );
      }
      options.log.error(
        { err: redact(error instanceof Error ? error.message : String(error)) },
        "dashboard page failed",
      );
      return send(res, 500, messagePage("Something went wrong", "The dashboard could not be shown; the log says why."));
    }
  };
}
