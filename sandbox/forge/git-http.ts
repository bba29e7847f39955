/**
 * Git smart HTTP through the real git-http-backend (CGI), with GitHub-style
 * token auth, and push detection (refs compared before/after receive-pack).
 */
import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import type { Actor } from "./auth.js";
import { actorAccount, atLeast, AuthError, authenticate, permissionOn } from "./auth.js";
import { refsChanged, type RefChange } from "./events.js";
import { isValidOwner, isValidRepoName, ZERO_SHA } from "./git.js";
import type { Core } from "./router.js";
import { withRepoLock } from "./store.js";

const BACKEND = "/usr/lib/git-core/git-http-backend";
const GIT_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack|HEAD)$/;

export function isGitRequest(path: string): boolean {
  return GIT_PATH.test(path);
}

function deny(res: ServerResponse, status: number, message: string, challenge = false): void {
  const headers: Record<string, string> = { "content-type": "text/plain" };
  if (challenge) headers["www-authenticate"] = 'Basic realm="GitHub"';
  res.writeHead(status, headers);
  res.end(message + "\n");
}

export async function handleGit(
  core: Core,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
  record: (status: number, actor: string | null) => void,
): Promise<void> {
  const m = GIT_PATH.exec(path)!;
  const [, owner, name, action] = m as unknown as [string, string, string, string];
  const service = new URLSearchParams(query).get("service");
  const isPush = action === "git-receive-pack" || (action === "info/refs" && service === "git-receive-pack");

  let actor: Actor;
  try {
    actor = authenticate(core.store, req.headers.authorization);
  } catch (err) {
    record(401, null);
    return deny(res, 401, err instanceof AuthError ? err.message : "Bad credentials", true);
  }
  const login = actorAccount(core.store, actor)?.login ?? null;
  const repo = isValidOwner(owner) && isValidRepoName(name) ? core.store.repo(owner, name) : undefined;
  const have = repo ? permissionOn(repo, actor) : "none";
  if (!repo || have === "none") {
    if (actor.kind === "anonymous") {
      record(401, null);
      return deny(res, 401, "Authentication required", true);
    }
    record(404, login);
    return deny(res, 404, "Repository not found.");
  }
  if (isPush && !atLeast(have, "write")) {
    if (actor.kind === "anonymous") {
      record(401, null);
      return deny(res, 401, "Authentication required", true);
    }
    record(403, login);
    return deny(res, 403, `Permission to ${repo.owner.login}/${repo.name}.git denied to ${login ?? "anonymous"}.`);
  }

  const run = async () => {
    const before = action === "git-receive-pack" ? await repo.git.refs() : null;
    const status = await runBackend(
      core,
      req,
      res,
      `/${repo.owner.login}/${repo.name}.git/${action}`,
      query,
      login ?? "anonymous",
    );
    record(status, login);
    if (before) {
      const after = await repo.git.refs();
      const changes: RefChange[] = [];
      for (const [ref, sha] of after)
        if (before.get(ref) !== sha) changes.push({ ref, before: before.get(ref) ?? ZERO_SHA, after: sha });
      for (const [ref, sha] of before) if (!after.has(ref)) changes.push({ ref, before: sha, after: ZERO_SHA });
      const pusher = actorAccount(core.store, actor);
      if (changes.length && pusher) await refsChanged(core, repo, changes, pusher);
    }
    res.end();
  };
  // Pushes are serialised with the other ref-changing work on the repository.
  await (action === "git-receive-pack" ? withRepoLock(repo, run) : run());
}

/** Run git-http-backend; stream its output; leaves `res` open for the caller to end. */
function runBackend(
  core: Core,
  req: IncomingMessage,
  res: ServerResponse,
  pathInfo: string,
  query: string,
  remoteUser: string,
): Promise<number> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: core.dataDir,
      GIT_HTTP_EXPORT_ALL: "1",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      PATH_INFO: pathInfo,
      REQUEST_METHOD: req.method ?? "GET",
      QUERY_STRING: query,
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      REMOTE_USER: remoteUser,
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      GATEWAY_INTERFACE: "CGI/1.1",
    };
    const proto = req.headers["git-protocol"];
    if (typeof proto === "string") env["GIT_PROTOCOL"] = proto;
    const gzipped = (req.headers["content-encoding"] ?? "").toLowerCase() === "gzip";
    if (!gzipped && req.headers["content-length"]) env["CONTENT_LENGTH"] = req.headers["content-length"];

    const child = spawn(BACKEND, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    let body: Readable = req;
    if (gzipped) {
      const gunzip = createGunzip();
      gunzip.on("error", () => child.stdin.destroy());
      body = req.pipe(gunzip);
    }
    body.pipe(child.stdin);
    child.stdin.on("error", () => undefined);
    child.stderr.on("data", () => undefined);

    let head = Buffer.alloc(0);
    let status = 200;
    let headersDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      let end = head.indexOf("\r\n\r\n");
      let sepLen = 4;
      if (end === -1) {
        end = head.indexOf("\n\n");
        sepLen = 2;
      }
      if (end === -1) return;
      headersDone = true;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i === -1) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]) || 200;
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      const rest = head.subarray(end + sepLen);
      if (rest.length) res.write(rest);
    });
    child.on("error", () => {
      if (!res.headersSent) res.writeHead(500);
      resolve(500);
    });
    child.on("close", () => {
      if (!res.headersSent) {
        status = 500;
        res.writeHead(500);
      }
      resolve(status);
    });
  });
}
