/**
 * The forge: a local stand-in for GitHub (REST subset, git smart HTTP, App
 * auth, webhooks) for end-to-end tests and the sandbox.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join, resolve, sep } from "node:path";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import type { Actor } from "./auth.js";
import { actorAccount, actorLogin, AuthError, authenticate } from "./auth.js";
import { refsChanged } from "./events.js";
import { handleGit, isGitRequest } from "./git-http.js";
import { BareRepo, isValidBranch, isValidOwner, isValidRepoName, ZERO_SHA } from "./git.js";
import type { Core, Ctx, Reply } from "./router.js";
import { DOCS, HttpError, lookupRepo, Router } from "./router.js";
import { identityOf } from "./routes-pulls.js";
import { registerActionsRoutes } from "./routes-actions.js";
import { registerAppRoutes } from "./routes-app.js";
import { registerOAuthRoutes } from "./routes-oauth.js";
import { registerDeploymentRoutes } from "./routes-deployments.js";
import { registerIssueRoutes } from "./routes-issues.js";
import { registerPullRoutes } from "./routes-pulls.js";
import { registerRepoRoutes } from "./routes-repos.js";
import type { Json } from "./shapes.js";
import * as shape from "./shapes.js";
import type { Permission, Repo } from "./store.js";
import { DEFAULT_MERGE_SETTINGS, newToken, now, Store, withRepoLock } from "./store.js";
import { WebhookDispatcher, type WebhookDelivery } from "./webhooks.js";

export type { WebhookDelivery } from "./webhooks.js";
export type { Permission } from "./store.js";

export interface ForgeUserSpec {
  login: string;
  permission: "admin" | "write" | "read";
  /** Fixed token; a random `ghp_…` token otherwise. */
  token?: string;
}

export interface ForgeOptions {
  /** Directory holding the bare repositories (`<owner>/<repo>.git`). */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 or omitted picks a free one. */
  port?: number;
  /** Where webhooks are POSTed (the GitHub App's webhook). */
  webhook?: { url: string; secret: string };
  /** The GitHub App whose JWTs are accepted. */
  app?: { id: number; slug: string; publicKeyPem: string; name?: string; clientSecret?: string };
  /** Secondary rate limit: at most `limit` POST/PATCH/PUT/DELETE per actor per window. */
  rateLimit?: { limit: number; windowMs: number };
  /** Fails a share of the app's API calls (installation tokens) before they are handled. */
  faults?: ForgeFaults;
  /** Users in addition to the defaults admin (admin), reviewer (write), outsider (read). */
  users?: ForgeUserSpec[];
  /** Log sink for delivery failures and internal errors (default console.warn). */
  log?: (message: string) => void;
}

export interface ForgeRequest {
  method: string;
  /** Path without the /api/v3 prefix, e.g. /repos/acme/app/pulls, or the git path. */
  path: string;
  query: string;
  status: number;
  /** Login of the caller (`<slug>[bot]` for installation tokens, `app:<slug>` for JWTs), null if anonymous. */
  actor: string | null;
  kind: "api" | "git";
  /** When the request arrived (performance.now() of the forge's process): the list is in order of completion. */
  startedAt: number;
}

export interface ForgeRepoInfo {
  owner: string;
  name: string;
  fullName: string;
  defaultBranch: string;
  id: number;
  path: string;
}

export interface Forge {
  /** REST API base URL (use as `baseUrl` for @octokit/rest and Probot). */
  readonly url: string;
  /** Server root (web and git base). */
  readonly webUrl: string;
  readonly port: number;
  /** Clone URL without credentials. */
  gitUrl(owner: string, repo: string): string;
  /** Clone URL with `x-access-token:<token>@` credentials. */
  authedGitUrl(owner: string, repo: string, token: string): string;
  /** Repositories are private unless `private: false` (then anonymous reads work, as on GitHub). */
  createRepo(owner: string, name: string, opts?: { defaultBranch?: string; private?: boolean }): Promise<ForgeRepoInfo>;
  /**
   * Commit files (content, or null to delete) onto a branch (default branch by default)
   * as `author` (default "admin"). Emits `push` like any push unless `silent`. Returns the commit sha.
   */
  seed(
    owner: string,
    repo: string,
    files: Record<string, string | null>,
    message: string,
    opts?: { branch?: string; author?: string; silent?: boolean },
  ): Promise<string>;
  /**
   * A pull request merged by squash, as a history to read back: its branch commit, the squash
   * commit `<title> (#<number>)` on the default branch, and the merged PR that GitHub associates
   * with both. No webhooks. Returns the PR number and the squash commit.
   */
  seedMergedPull(
    owner: string,
    repo: string,
    input: { title: string; branch: string; files: Record<string, string | null>; author?: string },
  ): Promise<{ number: number; sha: string }>;
  /** Install the app on an account; returns the installation id. */
  installApp(owner: string): number;
  /** Add (or update) a user; returns its token. */
  addUser(login: string, opts: { permission: "admin" | "write" | "read"; token?: string }): string;
  /** Token of a user. */
  token(login: string): string;
  /** Per-repository permission override. */
  setPermission(owner: string, repo: string, login: string, permission: Permission): void;
  setWebhook(url: string, secret: string): void;
  /** Turns fault injection on (or off, with undefined) for the app's API calls. */
  setFaults(faults: ForgeFaults | undefined): void;
  /** How many of the app's calls were failed on purpose, by kind. */
  readonly injected: { "502": number; reset: number };
  /** The App's OAuth client, for its "sign in with GitHub" web flow. */
  oauthClient(): { clientId: string; clientSecret: string };
  /** Every webhook emitted, with its delivery outcome. */
  readonly events: WebhookDelivery[];
  /** Every API and git request served. */
  readonly requests: ForgeRequest[];
  /** Resolves when no webhook delivery is queued or in flight. */
  idle(): Promise<void>;
  /** Resolves with the first (already emitted or future) webhook matching `pred`. */
  waitForEvent(pred: (d: WebhookDelivery) => boolean, timeoutMs?: number): Promise<WebhookDelivery>;
  close(): Promise<void>;
}

/**
 * A flaky GitHub for the app: each of its REST calls fails with probability `rate`, as a 502 or,
 * for a `resetShare` of those, a dropped connection. Failed calls are not handled at all (nothing
 * changes), so retrying them is safe. Deterministic for a seed.
 */
export interface ForgeFaults {
  rate: number;
  resetShare?: number;
  seed?: number;
}

/** A small seeded generator (mulberry32): the same faults for the same seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_USERS: ForgeUserSpec[] = [
  { login: "admin", permission: "admin" },
  { login: "reviewer", permission: "write" },
  { login: "outsider", permission: "read" },
];

const PRIMARY_LIMIT = 5000;
const MAX_BODY = 20 * 1024 * 1024;

export async function startForge(opts: ForgeOptions): Promise<Forge> {
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const log = opts.log ?? ((m: string) => console.warn(m));
  const store = new Store();
  if (opts.app) {
    const owner = store.account("forge-apps", "Organization");
    const bot = store.account(`${opts.app.slug}[bot]`, "Bot");
    store.app = {
      id: opts.app.id,
      clientSecret: opts.app.clientSecret ?? newToken(""),
      slug: opts.app.slug,
      name: opts.app.name ?? opts.app.slug,
      publicKeyPem: opts.app.publicKeyPem,
      bot,
      owner,
      createdAt: now(),
    };
  }
  for (const u of [...DEFAULT_USERS, ...(opts.users ?? [])]) store.addUser(u.login, u.permission, u.token);

  const hooks = new WebhookDispatcher(opts.webhook, () => (store.app ? { appId: store.app.id } : null), log);
  const core: Core = { store, urls: { api: "", html: "" }, hooks, dataDir };
  const requests: ForgeRequest[] = [];
  const router = new Router();
  registerAppRoutes(router);
  registerOAuthRoutes(router);
  registerRepoRoutes(router);
  registerPullRoutes(router);
  registerIssueRoutes(router);
  registerDeploymentRoutes(router);
  registerActionsRoutes(router);

  let faults: { spec: ForgeFaults; random: () => number } | undefined;
  const setFaults = (spec: ForgeFaults | undefined) => {
    faults = spec ? { spec, random: seeded(spec.seed ?? 1) } : undefined;
  };
  setFaults(opts.faults);
  const injected = { "502": 0, reset: 0 };

  const primary = new Map<string, { reset: number; used: number }>();
  const secondary = new Map<string, { start: number; count: number }>();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`forge: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ message: "Server Error" }));
      } else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://forge.local");
    const method = (req.method ?? "GET").toUpperCase();
    const rawPath = url.pathname;
    const query = url.search.replace(/^\?/, "");
    const startedAt = performance.now();

    if (isGitRequest(rawPath)) {
      await handleGit(core, req, res, rawPath, query, (status, actor) =>
        requests.push({ method, path: rawPath, query, status, actor, kind: "git", startedAt }),
      );
      return;
    }
    const path = rawPath.startsWith("/api/v3/") || rawPath === "/api/v3" ? rawPath.slice(7) || "/" : rawPath;
    const headers: Record<string, string> = {
      "x-github-request-id": randomUUID(),
      "x-github-media-type": "github.v3; format=json",
      "x-github-api-version-selected": "2022-11-28",
    };
    let actor: Actor = { kind: "anonymous" };
    let reply: Reply;
    try {
      try {
        actor = authenticate(store, req.headers.authorization);
      } catch (err) {
        if (err instanceof AuthError) throw new HttpError(401, err.message);
        throw err;
      }
      if (faults && actor.kind === "installation" && faults.random() < faults.spec.rate) {
        if (faults.random() < (faults.spec.resetShare ?? 0)) {
          injected.reset++;
          requests.push({ method, path, query, status: 0, actor: actorLogin(store, actor), kind: "api", startedAt });
          req.socket.destroy();
          return;
        }
        injected["502"]++;
        throw new HttpError(502, "Server Error");
      }
      Object.assign(headers, rateLimit(actor, method));
      const body = method === "GET" || method === "HEAD" ? {} : await readJson(req);
      const match = router.match(method, path);
      if (!match || match === "method") throw new HttpError(404, "Not Found");
      const ctx: Ctx = {
        core,
        req,
        method,
        path,
        params: match.params,
        query: url.searchParams,
        body,
        actor,
        account() {
          const a = actorAccount(store, actor);
          if (!a) throw new HttpError(401, "Requires authentication");
          return a;
        },
        repo(need: Permission) {
          return lookupRepo(core, actor, match.params["owner"], match.params["repo"], need);
        },
      };
      reply = await match.handler(ctx);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      reply = {
        status: err.status,
        body: { message: err.message, ...err.extra, documentation_url: DOCS, status: String(err.status) },
        headers: err.headers,
      };
    }
    requests.push({
      method,
      path,
      query,
      status: reply.status,
      actor: actorLogin(store, actor),
      kind: "api",
      startedAt,
    });
    Object.assign(headers, reply.headers ?? {});
    if (reply.status === 204 || reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    if (Buffer.isBuffer(reply.body)) {
      res.writeHead(reply.status, { ...headers, "content-length": String(reply.body.length) });
      res.end(reply.body);
      return;
    }
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...headers,
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(text)),
    });
    res.end(text);
  }

  /** x-ratelimit-* headers (primary) and the optional secondary limit. */
  function rateLimit(actor: Actor, method: string): Record<string, string> {
    const key = actorLogin(store, actor) ?? "anonymous";
    const t = Date.now();
    let p = primary.get(key);
    if (!p || p.reset * 1000 <= t) {
      p = { reset: Math.ceil((t + 3600_000) / 1000), used: 0 };
      primary.set(key, p);
    }
    const limit = actor.kind === "anonymous" ? 60 : PRIMARY_LIMIT;
    const headers = (used: number) => ({
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(0, limit - used)),
      "x-ratelimit-reset": String(p.reset),
      "x-ratelimit-used": String(used),
      "x-ratelimit-resource": "core",
    });
    if (p.used >= limit) throw new HttpError(403, `API rate limit exceeded for ${key}.`, {}, headers(p.used));
    p.used++;
    const h = headers(p.used);
    const sec = opts.rateLimit;
    if (sec && ["POST", "PATCH", "PUT", "DELETE"].includes(method)) {
      let w = secondary.get(key);
      if (!w || t - w.start >= sec.windowMs) {
        w = { start: t, count: 0 };
        secondary.set(key, w);
      }
      if (w.count >= sec.limit) {
        const retry = Math.max(1, Math.ceil((w.start + sec.windowMs - t) / 1000));
        throw new HttpError(
          403,
          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
          {},
          { ...h, "retry-after": String(retry) },
        );
      }
      w.count++;
    }
    return h;
  }

  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, "127.0.0.1", () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const webUrl = `http://127.0.0.1:${port}`;
  core.urls.html = webUrl;
  core.urls.api = `${webUrl}/api/v3`;

  function repoOr(owner: string, name: string): Repo {
    const repo = store.repo(owner, name);
    if (!repo) throw new Error(`forge: no repository ${owner}/${name}`);
    return repo;
  }

  const forge: Forge = {
    url: core.urls.api,
    webUrl,
    port,
    events: hooks.deliveries,
    requests,
    gitUrl: (owner, repo) => `${webUrl}/${owner}/${repo}.git`,
    authedGitUrl: (owner, repo, token) =>
      `http://x-access-token:${encodeURIComponent(token)}@127.0.0.1:${port}/${owner}/${repo}.git`,

    async createRepo(owner, name, o = {}) {
      if (!isValidOwner(owner) || !isValidRepoName(name))
        throw new Error(`forge: invalid repository name ${owner}/${name}`);
      const defaultBranch = o.defaultBranch ?? "main";
      if (!isValidBranch(defaultBranch)) throw new Error(`forge: invalid branch ${defaultBranch}`);
      if (store.repo(owner, name)) throw new Error(`forge: repository ${owner}/${name} exists`);
      const account = store.users.get(owner.toLowerCase()) ?? store.account(owner);
      const dir = join(dataDir, account.login, `${name}.git`);
      if (!dir.startsWith(dataDir + sep)) throw new Error("forge: path escapes dataDir");
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dataDir, account.login), { recursive: true });
      const git = new BareRepo(dir);
      await git.init(defaultBranch);
      const t = now();
      const repo: Repo = {
        id: store.nextId(),
        owner: account,
        name,
        private: o.private ?? true,
        defaultBranch,
        git,
        createdAt: t,
        updatedAt: t,
        pushedAt: t,
        nextNumber: 1,
        issues: new Map(),
        comments: new Map(),
        labels: new Map(),
        deployments: [],
        checkRuns: [],
        statuses: [],
        permissions: new Map(),
        mergeSettings: { ...DEFAULT_MERGE_SETTINGS },
        lock: Promise.resolve(),
      };
      store.repos.set(`${account.login}/${name}`.toLowerCase(), repo);
      return {
        owner: account.login,
        name,
        fullName: `${account.login}/${name}`,
        defaultBranch,
        id: repo.id,
        path: dir,
      };
    },

    async seed(owner, name, files, message, o = {}) {
      const repo = repoOr(owner, name);
      const branch = o.branch ?? repo.defaultBranch;
      if (!isValidBranch(branch)) throw new Error(`forge: invalid branch ${branch}`);
      for (const p of Object.keys(files)) {
        if (!p || p.startsWith("/") || p.split("/").some((s) => s === "" || s === "." || s === ".." || s === ".git"))
          throw new Error(`forge: invalid path ${p}`);
      }
      const author = store.users.get((o.author ?? "admin").toLowerCase());
      if (!author) throw new Error(`forge: unknown user ${o.author}`);
      return withRepoLock(repo, async () => {
        const ref = `refs/heads/${branch}`;
        const parent = (await repo.git.refs()).get(ref) ?? null;
        const base =
          parent ?? (branch !== repo.defaultBranch ? await repo.git.resolve(`refs/heads/${repo.defaultBranch}`) : null);
        const tree = await repo.git.writeTree(base, files);
        const sha = await repo.git.commitTree(tree, base ? [base] : [], message, identityOf(author));
        await repo.git.updateRef(ref, sha, parent ?? ZERO_SHA);
        if (!o.silent) await refsChanged(core, repo, [{ ref, before: parent ?? ZERO_SHA, after: sha }], author);
        return sha;
      });
    },

    async seedMergedPull(owner, name, input) {
      const repo = repoOr(owner, name);
      const author = store.users.get((input.author ?? "admin").toLowerCase());
      if (!author) throw new Error(`forge: unknown user ${input.author}`);
      const number = repo.nextNumber;
      const headSha = await forge.seed(owner, name, input.files, input.title, {
        branch: input.branch,
        author: author.login,
        silent: true,
      });
      const baseRef = `refs/heads/${repo.defaultBranch}`;
      const sha = await withRepoLock(repo, async () => {
        const baseSha = (await repo.git.refs()).get(baseRef) ?? null;
        const tree = await repo.git.writeTree(baseSha, input.files);
        const squash = await repo.git.commitTree(
          tree,
          baseSha ? [baseSha] : [],
          `${input.title} (#${number})`,
          identityOf(author),
        );
        await repo.git.updateRef(baseRef, squash, baseSha ?? ZERO_SHA);
        const t = now();
        repo.nextNumber++;
        repo.issues.set(number, {
          number,
          id: store.nextId(),
          title: input.title,
          body: null,
          user: author,
          viaApp: false,
          state: "closed",
          stateReason: null,
          labels: [],
          assignees: [],
          createdAt: t,
          updatedAt: t,
          closedAt: t,
          closedBy: author,
          locked: false,
          pull: {
            id: store.nextId(),
            headRef: input.branch,
            headSha,
            baseRef: repo.defaultBranch,
            baseSha: baseSha ?? squash,
            draft: false,
            merged: true,
            mergedAt: t,
            mergedBy: author,
            mergeCommitSha: squash,
            landedCommits: [squash],
            maintainerCanModify: true,
            requestedReviewers: [],
            reviews: [],
          },
        });
        return squash;
      });
      return { number, sha };
    },

    installApp(owner) {
      if (!store.app) throw new Error("forge: started without an app");
      const existing = store.installationFor(owner);
      if (existing) return existing.id;
      const account = store.users.get(owner.toLowerCase()) ?? store.account(owner);
      const id = store.nextId();
      store.installations.set(id, { id, account, createdAt: now() });
      return id;
    },

    addUser(login, o) {
      if (!isValidOwner(login)) throw new Error(`forge: invalid login ${login}`);
      return store.addUser(login, o.permission, o.token).token;
    },

    token(login) {
      const u = store.users.get(login.toLowerCase());
      if (!u) throw new Error(`forge: unknown user ${login}`);
      return u.token;
    },

    setPermission(owner, name, login, permission) {
      repoOr(owner, name).permissions.set(login.toLowerCase(), permission);
    },

    setFaults,
    injected,
    oauthClient() {
      if (!store.app) throw new Error("forge: started without an app");
      return { clientId: shape.clientIdOf(store.app), clientSecret: store.app.clientSecret };
    },

    setWebhook(url, secret) {
      hooks.target = { url, secret };
    },

    idle: () => hooks.idle(),

    waitForEvent(pred, timeoutMs = 10_000) {
      const found = hooks.deliveries.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((ok, fail) => {
        const timer = setTimeout(() => {
          off();
          fail(new Error("forge: timed out waiting for webhook"));
        }, timeoutMs);
        const off = hooks.onEmit((d) => {
          if (!pred(d)) return;
          clearTimeout(timer);
          off();
          ok(d);
        });
      });
    },

    async close() {
      await hooks.idle();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
    },
  };
  return forge;
}

async function readJson(req: IncomingMessage): Promise<Json> {
  let stream: Readable = req;
  if ((req.headers["content-encoding"] ?? "").toLowerCase() === "gzip") stream = req.pipe(createGunzip());
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, "Request body too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === "object") return v as Json;
    throw new Error("not an object");
  } catch {
    throw new HttpError(400, "Problems parsing JSON");
  }
}
