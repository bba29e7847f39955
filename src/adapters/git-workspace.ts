// One cached clone per manifests repo, reused across events: fetch, never re-clone.
// The clone is bare and every edit is made with plumbing (hash-object, a private index,
// commit-tree), so no working tree is ever dirty, big repos stay cheap, and renders or reverts
// can use throwaway worktrees beside it.
// The installation token travels only in an environment variable holding an http.extraHeader,
// never in a URL or an argument, so git's own error text cannot echo it; errors are redacted
// again on the way out all the same.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { spawn } from "node:child_process";
import { simpleGit, type SimpleGit } from "simple-git";
import { redact } from "./redact.js";

export interface WorkspaceOptions {
  /** Directory that holds this repo's clone (created on first use). */
  dir: string;
  /** Clone URL without credentials. */
  remoteUrl: string;
  /** Returns a fresh token for each network operation (installation tokens expire). */
  token?: () => Promise<string | undefined>;
  author?: { name: string; email: string };
}

export interface CommitRequest {
  /** Commit (sha or ref) whose tree the change starts from; also the parent. */
  parent: string;
  path: string;
  text: string;
  /** Further files the same commit writes (a strategy step may edit two patch files at once). */
  more?: Array<{ path: string; text: string }>;
  message: string;
}

const TREES_KEPT = 4;
const BLOBS_KEPT_BYTES = 32 * 1024 * 1024;
const BLOB_KEPT_MAX = 256 * 1024;
/** Refs per `git push`. */
const PUSH_BATCH = 50;

interface PendingPush {
  branch: string;
  commit: string;
  expected: string | undefined;
  resolve: (pushed: boolean) => void;
  reject: (error: unknown) => void;
}

const DEFAULT_AUTHOR = { name: "conveyor[bot]", email: "conveyor[bot]@users.noreply.github.com" };

export class GitWorkspace {
  private ready = false;
  private fetching?: Promise<void>;
  private nextFetch?: Promise<void>;
  private refTurn: Promise<unknown> = Promise.resolve();
  private readonly pushes: PendingPush[] = [];
  private pushTurn?: Promise<void>;
  /** `ls-tree -r` of whole commits, which never change: discovery and renders read the same ones. */
  private readonly trees = new Map<string, CommitTree>();
  private readonly blobs = new Map<string, Buffer>();
  private blobBytes = 0;

  constructor(private readonly options: WorkspaceOptions) {}

  /** The workspace outlives events; each event lends it the credentials of its installation. */
  useToken(token: () => Promise<string | undefined>): this {
    this.options.token = token;
    return this;
  }

  get dir(): string {
    return this.options.dir;
  }

  /**
   * Clones on first use, then fetches every branch; refs land under refs/remotes/origin/.
   * Callers at the same time share fetches: each gets one that started after it asked, so a
   * burst of events costs two fetches, not one each.
   */
  sync(): Promise<void> {
    if (!this.fetching) {
      this.fetching = this.exclusive(() => this.fetchNow()).finally(() => {
        this.fetching = undefined;
      });
      return this.fetching;
    }
    this.nextFetch ??= this.fetching
      .catch(() => undefined)
      .then(() => {
        this.nextFetch = undefined;
        return this.sync();
      });
    return this.nextFetch;
  }

  private async fetchNow(): Promise<void> {
    if (!this.ready && !existsSync(join(this.options.dir, "HEAD"))) {
      await mkdir(this.options.dir, { recursive: true });
      await this.run(["init", "--bare", "--quiet", this.options.dir], { cwd: tmpdir() });
      await this.run(["remote", "add", "origin", this.options.remoteUrl]);
      await this.run(["config", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"]);
      await this.run(["config", "gc.auto", "0"]);
    }
    this.ready = true;
    await this.run(["fetch", "--prune", "--no-tags", "--quiet", "origin"], { network: true });
  }

  /** Fetches and pushes write local refs; they take turns so git never finds a ref locked. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const next = this.refTurn.then(task, task);
    this.refTurn = next.catch(() => undefined);
    return next;
  }

  /** Sha of a remote branch as last fetched, or undefined when it does not exist. */
  async remoteBranch(branch: string): Promise<string | undefined> {
    try {
      return (
        (await this.run(["rev-parse", "--verify", "--quiet", `refs/remotes/origin/${branch}^{commit}`])).trim() ||
        undefined
      );
    } catch {
      return undefined;
    }
  }

  /** A file's text at a commit; undefined when missing. Refuses paths that pass through a symlink. */
  async readFile(commit: string, path: string): Promise<string | undefined> {
    const cached = this.trees.get(commit);
    const entries = cached
      ? ancestors(path).flatMap((p) => cached.byPath.get(p) ?? [])
      : await this.lsTree(commit, ancestors(path));
    if (entries.some((e) => e.mode === "120000"))
      throw new Error(`${path} passes through a symbolic link; Conveyor does not follow links`);
    const file = entries.find((e) => e.path === path);
    if (!file || file.type !== "blob") return undefined;
    return (await this.readBlobs([file.sha])).get(file.sha);
  }

  /** Files under a directory at a commit. */
  async listFiles(commit: string, dir: string): Promise<string[]> {
    if (dir === ".") return (await this.treeEntries(commit)).map((e) => e.path);
    const out = await this.run(["ls-tree", "-r", "--name-only", "-z", commit, "--", dir]);
    return out.split("\0").filter(Boolean);
  }

  /** Every file of a commit with its mode and object id; cached, since a commit never changes. */
  async treeEntries(commit: string): Promise<TreeEntry[]> {
    return (await this.tree(commit)).files;
  }

  /** Tree id of every directory at a commit ("." is the root): a content key for render caches. */
  async directoryTrees(commit: string): Promise<ReadonlyMap<string, string>> {
    return (await this.tree(commit)).dirs;
  }

  private async tree(commit: string): Promise<CommitTree> {
    const full = /^[0-9a-f]{40}$/.test(commit);
    const cached = full ? this.trees.get(commit) : undefined;
    if (cached) return cached;
    const root = (await this.run(["rev-parse", "--verify", `${commit}^{tree}`])).trim();
    const entries = parseLsTree(await this.run(["ls-tree", "-r", "-t", "-z", "--full-tree", commit]));
    const files = entries.filter((e) => e.type !== "tree");
    const tree: CommitTree = {
      files,
      byPath: new Map(files.map((e) => [e.path, e])),
      dirs: new Map([
        [".", root],
        ...entries.filter((e) => e.type === "tree").map((e): [string, string] => [e.path, e.sha]),
      ]),
    };
    if (full) {
      if (this.trees.size >= TREES_KEPT) this.trees.delete(this.trees.keys().next().value as string);
      this.trees.set(commit, tree);
    }
    return tree;
  }

  /** Blob texts by object id, all read by one `git cat-file --batch`. */
  async readBlobs(ids: string[]): Promise<Map<string, string>> {
    return new Map([...(await this.readObjects(ids))].map(([id, bytes]) => [id, bytes.toString("utf8")]));
  }

  private async readObjects(ids: string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const missing: string[] = [];
    for (const id of ids) {
      const known = this.blobs.get(id);
      if (known) out.set(id, known);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const result = await this.spawnGit(["cat-file", "--batch"], { input: `${missing.join("\n")}\n` });
    if (result.code !== 0) throw new Error(`git cat-file failed: ${result.stderr}`);
    const raw = result.stdout;
    let at = 0;
    while (at < raw.length) {
      const eol = raw.indexOf(10, at);
      const [id, type, size] = raw.subarray(at, eol).toString("utf8").split(" ") as [
        string,
        string,
        string | undefined,
      ];
      at = eol + 1;
      if (type === "missing" || size === undefined) continue;
      const length = Number(size);
      if (type === "blob") out.set(id, this.remember(id, Buffer.from(raw.subarray(at, at + length))));
      at += length + 1;
    }
    return out;
  }

  /** Objects never change: small blobs (kustomizations, overlays) are kept for the next check. */
  private remember(id: string, bytes: Buffer): Buffer {
    if (bytes.length > BLOB_KEPT_MAX) return bytes;
    if (this.blobBytes + bytes.length > BLOBS_KEPT_BYTES) {
      this.blobs.clear();
      this.blobBytes = 0;
    }
    this.blobs.set(id, bytes);
    this.blobBytes += bytes.length;
    return bytes;
  }

  /** Whether every one of these commits is in the clone (one git process). */
  async hasCommits(shas: string[]): Promise<boolean> {
    if (!existsSync(join(this.options.dir, "HEAD"))) return false;
    const result = await this.spawnGit(["cat-file", "--batch-check"], {
      input: `${shas.map((s) => `${s}^{commit}`).join("\n")}\n`,
    });
    return result.code === 0 && !/ missing$/m.test(result.stdout.toString("utf8"));
  }

  /**
   * Is `ancestor` contained in `descendant`? git answers with its exit code alone (0 yes, 1 no,
   * without a word on stderr), which simple-git does not treat as a failure: so it is asked
   * directly. Unknown commits and other errors count as "no".
   */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const env = await this.gitEnv({});
    const code = await new Promise<number | null>((resolveCode) => {
      const child = spawn("git", ["--git-dir", this.options.dir, "merge-base", "--is-ancestor", ancestor, descendant], {
        env,
        stdio: "ignore",
      });
      child.on("error", () => resolveCode(null));
      child.on("close", (exit) => resolveCode(exit));
    });
    return code === 0;
  }

  /** Files changed between two commits. */
  async changedFiles(from: string, to: string): Promise<string[]> {
    const out = await this.run(["diff", "--name-only", "-z", "--no-renames", from, to]);
    return out.split("\0").filter(Boolean);
  }

  /** Writes files on top of `parent` and returns the new commit's sha; touches no working tree. */
  async commitFile(request: CommitRequest): Promise<string> {
    const scratch = await mkdtemp(join(tmpdir(), "conveyor-index-"));
    try {
      const files = [{ path: request.path, text: request.text }, ...(request.more ?? [])];
      const env = { GIT_INDEX_FILE: join(scratch, "index") };
      const existing = await this.lsTree(
        request.parent,
        files.map((f) => f.path),
      );
      await this.run(["read-tree", request.parent], { env });
      for (const [index, file] of files.entries()) {
        const blobFile = join(scratch, `blob-${index}`);
        await writeFile(blobFile, file.text);
        const blob = (await this.run(["hash-object", "-w", "--no-filters", blobFile])).trim();
        const mode = existing.find((e) => e.path === file.path)?.mode ?? "100644";
        await this.run(["update-index", "--add", "--cacheinfo", `${mode},${blob},${file.path}`], { env });
      }
      const tree = (await this.run(["write-tree"], { env })).trim();
      const author = this.options.author ?? DEFAULT_AUTHOR;
      const identity = {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
      };
      const parent = (await this.run(["rev-parse", "--verify", `${request.parent}^{commit}`])).trim();
      return (await this.run(["commit-tree", tree, "-p", parent, "-m", request.message], { env: identity })).trim();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Points a remote branch at a commit. `expected` is the sha the branch must have now
   * (undefined: must not exist), so a concurrent writer makes the push fail instead of being
   * overwritten. Returns false when the remote rejected it for that reason. Pushes asked for while
   * another is under way go out together in the next one: one `git push` of several refs, each
   * with its own lease and its own answer.
   */
  pushBranch(branch: string, commit: string, expected: string | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pushes.push({ branch, commit, expected, resolve, reject });
      this.pushTurn ??= this.exclusive(() => this.pushPending());
    });
  }

  private async pushPending(): Promise<void> {
    // Requests from now on go into the next turn.
    this.pushTurn = undefined;
    // One update per branch and push: a second request for a branch waits for the next turn.
    const batch: PendingPush[] = [];
    for (const p of [...this.pushes]) {
      if (batch.length >= PUSH_BATCH || batch.some((b) => b.branch === p.branch)) continue;
      batch.push(p);
      this.pushes.splice(this.pushes.indexOf(p), 1);
    }
    if (this.pushes.length) this.pushTurn ??= this.exclusive(() => this.pushPending());
    try {
      const result = await this.spawnGit(
        [
          "push",
          "--porcelain",
          ...batch.map((p) => `--force-with-lease=refs/heads/${p.branch}:${p.expected ?? ""}`),
          "origin",
          ...batch.map((p) => `${p.commit}:refs/heads/${p.branch}`),
        ],
        { network: true },
      );
      // Per ref: " " fast-forward, "+" forced, "*" new, "=" already there; "!" rejected.
      const accepted = new Set<string>();
      const reported = new Set<string>();
      for (const line of result.stdout.toString("utf8").split("\n")) {
        const match = /^([ +*=!])\t[^\t]*:refs\/heads\/([^\t]+)\t/.exec(line);
        if (!match) continue;
        reported.add(match[2] as string);
        if (match[1] !== "!") accepted.add(match[2] as string);
      }
      if (result.code !== 0 && reported.size === 0) throw new Error(`git push failed: ${result.stderr}`);
      for (const p of batch) {
        if (accepted.has(p.branch)) await this.run(["update-ref", `refs/remotes/origin/${p.branch}`, p.commit]);
        p.resolve(accepted.has(p.branch));
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  private async lsTree(commit: string, paths: string[]): Promise<TreeEntry[]> {
    return parseLsTree(await this.run(["ls-tree", "-z", "--full-tree", commit, "--", ...paths]));
  }

  /** A minimal environment: nothing from the caller's shell (editors, pagers, askpass) reaches git. */
  private async gitEnv(opts: { env?: Record<string, string>; network?: boolean }): Promise<Record<string, string>> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? tmpdir(),
      GIT_TERMINAL_PROMPT: "0",
      LC_ALL: "C",
      ...opts.env,
    };
    if (opts.network) {
      const token = await this.options.token?.();
      if (token) {
        const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
        Object.assign(env, {
          GIT_CONFIG_COUNT: "1",
          GIT_CONFIG_KEY_0: "http.extraHeader",
          GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
        });
      }
    }
    return env;
  }

  /**
   * git with optional bytes on stdin, raw stdout back and the exit code, never a throw for a
   * non-zero exit (cat-file --batch, and a push whose refs may be partly rejected).
   */
  private async spawnGit(
    args: string[],
    opts: { input?: string; network?: boolean } = {},
  ): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    const env = await this.gitEnv(opts);
    return new Promise((resolve, reject) => {
      const child = spawn("git", ["--git-dir", this.options.dir, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
      const chunks: Buffer[] = [];
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", (error) => reject(new Error(`git ${args[0]} failed: ${redact(error.message)}`)));
      child.on("close", (code) => resolve({ code, stdout: Buffer.concat(chunks), stderr: redact(stderr) }));
      child.stdin.end(opts.input ?? "");
    });
  }

  private async run(
    args: string[],
    opts: { cwd?: string; env?: Record<string, string>; network?: boolean } = {},
  ): Promise<string> {
    const env = await this.gitEnv(opts);
    const cwd = opts.cwd ?? this.options.dir;
    try {
      // A client per call: simple-git keeps env on the instance, and calls may overlap.
      // GIT_CONFIG_COUNT is allowed because this file alone sets it, to the auth header above.
      const git: SimpleGit = simpleGit({ baseDir: cwd, unsafe: { allowUnsafeConfigEnvCount: true } }).env(env);
      return await git.raw(args[0] === "init" ? args : ["--git-dir", this.options.dir, ...args]);
    } catch (error) {
      throw new Error(`git ${args[0]} failed: ${redact(error instanceof Error ? error.message : String(error))}`);
    }
  }

  /** The best common ancestor of two commits: what a pull request's diff is taken against. */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    try {
      return (await this.run(["merge-base", a, b])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Fetches a pull request's head (forks' commits are only reachable through refs/pull/N/head). */
  async fetchPullHead(number: number): Promise<void> {
    await this.exclusive(() =>
      this.run(["fetch", "--no-tags", "--quiet", "origin", `+refs/pull/${number}/head:refs/remotes/pull/${number}`], {
        network: true,
      }),
    );
  }

  /**
   * Writes a commit's files into `target` (a throwaway directory), straight from git objects, so
   * the shared clone is never touched; with `only`, just the files at or under those paths ("."
   * is everything). Symbolic links and submodules are left out: a renderer must not be led to
   * files outside the tree. Returns the paths that were left out.
   */
  async exportTree(commit: string, target: string, only?: string[]): Promise<string[]> {
    const wanted = (path: string) => !only || only.some((p) => p === "." || path === p || path.startsWith(`${p}/`));
    const entries = (await this.treeEntries(commit)).filter((e) => wanted(e.path));
    const skipped = entries.filter((e) => e.type !== "blob" || e.mode === "120000").map((e) => e.path);
    const files = entries.filter((e) => e.type === "blob" && e.mode !== "120000");
    const contents = await this.readObjects([...new Set(files.map((f) => f.sha))]);
    const root = resolve(target);
    await mkdir(root, { recursive: true });
    for (const file of files) {
      const path = resolve(root, file.path);
      if (!path.startsWith(`${root}/`)) throw new Error(`refusing to write ${file.path} outside the export`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, contents.get(file.sha) ?? Buffer.alloc(0), {
        mode: file.mode === "100755" ? 0o755 : 0o644,
      });
    }
    return skipped;
  }
}

interface CommitTree {
  /** Blobs (files, symbolic links) and commits (submodules). */
  files: TreeEntry[];
  byPath: Map<string, TreeEntry>;
  /** Tree id by directory path, "." for the root. */
  dirs: Map<string, string>;
}

export interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  path: string;
}

function parseLsTree(out: string): TreeEntry[] {
  return out
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf("\t");
      const [mode, type, sha] = line.slice(0, tab).split(" ") as [string, string, string];
      return { mode, type, sha, path: line.slice(tab + 1) };
    });
}

/** "a/b/c.yaml" -> ["a", "a/b", "a/b/c.yaml"]: every path that must not be a symlink. */
function ancestors(path: string): string[] {
  const parts = path.split("/");
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
}
