/**
 * Thin, shell-free wrapper around `git` for the forge's bare repositories.
 * Every call is `spawn("git", args)`; names coming from URLs are validated
 * before they ever reach a path or an argument list.
 */
import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";

export const ZERO_SHA = "0000000000000000000000000000000000000000";

const OWNER_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO_RE = /^[A-Za-z0-9_.-]{1,100}$/;
const SHA_RE = /^[0-9a-f]{40}$/;

export function isValidOwner(s: string): boolean {
  return OWNER_RE.test(s);
}

export function isValidRepoName(s: string): boolean {
  return REPO_RE.test(s) && s !== "." && s !== ".." && !s.toLowerCase().endsWith(".git");
}

/** A conservative subset of `git check-ref-format` for branch names. */
export function isValidBranch(s: string): boolean {
  if (!/^[A-Za-z0-9._/+-]{1,200}$/.test(s)) return false;
  if (s.startsWith("/") || s.endsWith("/") || s.startsWith("-") || s.endsWith(".")) return false;
  if (s.includes("..") || s.includes("//") || s.endsWith(".lock")) return false;
  return s.split("/").every((part) => part.length > 0 && !part.startsWith("."));
}

/** `refs/heads/x` or `refs/tags/x` with a valid short name. */
export function isValidRef(ref: string): boolean {
  const m = /^refs\/(heads|tags)\/(.+)$/.exec(ref);
  return !!m && isValidBranch(m[2]!);
}

export function isSha(s: string): boolean {
  return SHA_RE.test(s);
}

/** A revision given by a client: branch/tag name or (abbreviated) sha. */
export function isValidRevision(s: string): boolean {
  return /^[0-9a-f]{4,40}$/.test(s) || isValidBranch(s) || isValidRef(s);
}

export class GitError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

export interface Identity {
  name: string;
  email: string;
  date?: string;
}

const BASE_ENV: Record<string, string> = {
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
  LANG: "C",
  LC_ALL: "C",
};

/** Run git; non-zero exit codes listed in `ok` are returned instead of thrown. */
export function runGit(
  args: string[],
  opts: { cwd?: string; input?: Buffer | string; env?: Record<string, string>; ok?: number[] } = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd: opts.cwd,
      env: { ...BASE_ENV, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      const result = { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8"), code: code ?? -1 };
      if (result.code === 0 || opts.ok?.includes(result.code)) resolve(result);
      else
        reject(
          new GitError(
            `git ${args[0] ?? ""} failed (${result.code}): ${result.stderr.trim()}`,
            result.code,
            result.stderr,
          ),
        );
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  author: Identity & { date: string };
  committer: Identity & { date: string };
  message: string;
}

export interface FileChange {
  filename: string;
  status: "added" | "removed" | "modified" | "renamed" | "changed";
  sha: string;
  additions: number;
  deletions: number;
  changes: number;
  patch?: string;
}

export interface TreeEntry {
  mode: string;
  type: "blob" | "tree" | "commit";
  sha: string;
  size: number | null;
  path: string;
}

/** Operations on one bare repository. */
export class BareRepo {
  /** Objects never change: commits seen once need no second `rev-parse`. */
  private readonly commits = new Set<string>();
  /** Nor do a commit's entries and blobs: kept (bounded) for the contents API's repeated reads. */
  private readonly entries = new Map<string, TreeEntry | null>();
  private readonly blobs = new Map<string, Buffer>();
  private blobBytes = 0;

  constructor(readonly dir: string) {}

  /**
   * Where a branch points, read as git reads it (the loose ref file, else packed-refs) without
   * starting git; undefined when it is neither, or not a plain object id (git then decides).
   * Refs are written by renaming a lock file into place, so a read sees the old or the new id.
   */
  private async branchTip(branch: string): Promise<string | undefined> {
    const ref = `refs/heads/${branch}`;
    try {
      const loose = (await readFile(join(this.dir, ref), "utf8")).trim();
      return SHA_RE.test(loose) ? loose : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return undefined;
    }
    try {
      const packed = await readFile(join(this.dir, "packed-refs"), "utf8");
      for (const line of packed.split("\n")) if (line.endsWith(` ${ref}`)) return line.slice(0, 40);
    } catch {
      // no packed refs
    }
    return undefined;
  }

  private git(args: string[], opts: { input?: Buffer | string; env?: Record<string, string>; ok?: number[] } = {}) {
    return runGit(["--git-dir", this.dir, ...args], opts);
  }

  private async text(args: string[], opts: { input?: Buffer | string; env?: Record<string, string> } = {}) {
    return (await this.git(args, opts)).stdout.toString("utf8").trim();
  }

  async init(defaultBranch: string): Promise<void> {
    await runGit(["init", "--bare", "--quiet", `--initial-branch=${defaultBranch}`, this.dir]);
    await this.git(["config", "http.receivepack", "true"]);
    await this.git(["config", "receive.denyNonFastForwards", "false"]);
    await this.git(["config", "uploadpack.allowAnySHA1InWant", "true"]);
  }

  /** All branch and tag refs: refname → sha. */
  async refs(): Promise<Map<string, string>> {
    const out = await this.text(["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags"]);
    const map = new Map<string, string>();
    for (const line of out.split("\n")) {
      if (!line) continue;
      const [sha, ref] = line.split(" ");
      if (sha && ref) map.set(ref, sha);
    }
    return map;
  }

  /** Resolve a revision to a commit sha, or null. */
  async resolve(rev: string): Promise<string | null> {
    if (!isValidRevision(rev)) return null;
    if (this.commits.has(rev)) return rev;
    // refs/heads/<branch>, or a name that is first looked up as a branch.
    const branch = rev.startsWith("refs/heads/") ? rev.slice("refs/heads/".length) : rev.startsWith("refs/") ? "" : rev;
    if (branch && isValidBranch(branch)) {
      const tip = await this.branchTip(branch);
      if (tip !== undefined && this.commits.has(tip)) return tip;
    }
    const candidates = isSha(rev) || rev.startsWith("refs/") ? [rev] : [`refs/heads/${rev}`, `refs/tags/${rev}`, rev];
    for (const c of candidates) {
      const r = await this.git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${c}^{commit}`], {
        ok: [1, 128],
      });
      if (r.code === 0) {
        const sha = r.stdout.toString("utf8").trim();
        this.commits.add(sha);
        return sha;
      }
    }
    return null;
  }

  async objectExists(sha: string): Promise<boolean> {
    if (!isSha(sha)) return false;
    const r = await this.git(["cat-file", "-e", `${sha}^{commit}`], { ok: [1, 128] });
    return r.code === 0;
  }

  async commit(sha: string): Promise<CommitInfo> {
    const fmt = ["%H", "%T", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"].join("%x00");
    const out = (await this.git(["show", "-s", `--format=${fmt}`, sha])).stdout.toString("utf8");
    const [h, t, p, an, ae, ad, cn, ce, cd, ...body] = out.split("\0");
    return {
      sha: h!,
      tree: t!,
      parents: p ? p.split(" ").filter(Boolean) : [],
      author: { name: an!, email: ae!, date: ad! },
      committer: { name: cn!, email: ce!, date: cd! },
      message: body.join("\0").replace(/\n+$/, ""),
    };
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const r = await this.git(["merge-base", "--is-ancestor", ancestor, descendant], { ok: [1] });
    return r.code === 0;
  }

  async mergeBase(a: string, b: string): Promise<string | null> {
    const r = await this.git(["merge-base", a, b], { ok: [1] });
    return r.code === 0 ? r.stdout.toString("utf8").trim() : null;
  }

  async countCommits(range: string): Promise<number> {
    return Number(await this.text(["rev-list", "--count", range]));
  }

  /** Commits in `base..head`, oldest first (`base` may be null for all). */
  async commitsBetween(base: string | null, head: string, limit = 250): Promise<string[]> {
    const args = ["rev-list", "--reverse", `--max-count=${limit}`, head];
    if (base) args.push(`^${base}`);
    const out = await this.text(args);
    return out ? out.split("\n") : [];
  }

  /** Commits reachable from `head` but from no other branch (for new-branch pushes). */
  async commitsNotOnOtherBranches(head: string, ref: string, limit = 20): Promise<string[]> {
    const refs = await this.refs();
    const others = [...refs.entries()]
      .filter(([r]) => r !== ref && r.startsWith("refs/heads/"))
      .map(([, s]) => `^${s}`);
    const out = await this.text(["rev-list", "--reverse", `--max-count=${limit}`, head, ...others]);
    return out ? out.split("\n") : [];
  }

  /** Three-way merge of two commits without a worktree. */
  async mergeTree(ours: string, theirs: string): Promise<{ tree: string } | { conflict: string }> {
    const r = await this.git(["merge-tree", "--write-tree", "--no-messages", "--name-only", ours, theirs], { ok: [1] });
    const lines = r.stdout.toString("utf8").trim().split("\n");
    if (r.code === 1) return { conflict: lines.slice(1).filter(Boolean).join(", ") };
    return { tree: lines[0]! };
  }

  /**
   * The tree of `commit`'s change (against its first parent) applied onto `onto`, as a rebase
   * replays it: the patch, applied in a throwaway index. A conflict when it does not apply.
   */
  async replayTree(onto: string, commit: string): Promise<{ tree: string } | { conflict: string }> {
    const parent = (await this.commit(commit)).parents[0];
    if (!parent) return { conflict: `${commit} has no parent` };
    const patch = (await this.git(["diff-tree", "-p", "--binary", "--full-index", "--no-renames", parent, commit]))
      .stdout;
    const index = `${this.dir}/forge-index-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const env = { GIT_INDEX_FILE: index };
    try {
      await this.git(["read-tree", onto], { env });
      if (patch.length > 0) {
        const applied = await this.git(["apply", "--cached", "--binary"], { input: patch, env, ok: [1] });
        if (applied.code !== 0) return { conflict: applied.stderr.trim() };
      }
      return { tree: await this.text(["write-tree"], { env }) };
    } finally {
      await rm(index, { force: true });
    }
  }

  async commitTree(
    tree: string,
    parents: string[],
    message: string,
    author: Identity,
    committer: Identity = author,
  ): Promise<string> {
    const env: Record<string, string> = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
    };
    if (author.date) env["GIT_AUTHOR_DATE"] = author.date;
    if (committer.date) env["GIT_COMMITTER_DATE"] = committer.date;
    const args = ["commit-tree", tree];
    for (const p of parents) args.push("-p", p);
    return this.text(args, { input: message + "\n", env });
  }

  /** Atomically move `ref` from `oldSha` (ZERO_SHA: must not exist) to `newSha`. */
  async updateRef(ref: string, newSha: string, oldSha?: string): Promise<void> {
    const args = ["update-ref", "-m", "forge", ref, newSha];
    if (oldSha !== undefined) args.push(oldSha === ZERO_SHA ? "" : oldSha);
    await this.git(args);
  }

  async deleteRef(ref: string, oldSha?: string): Promise<void> {
    const args = ["update-ref", "-d", ref];
    if (oldSha) args.push(oldSha);
    await this.git(args);
  }

  /** Write a new tree: `parentTree` (or empty) with files set (string) or removed (null). */
  async writeTree(parent: string | null, files: Record<string, string | Buffer | null>): Promise<string> {
    const index = `${this.dir}/forge-index-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const env = { GIT_INDEX_FILE: index };
    try {
      if (parent) await this.git(["read-tree", parent], { env });
      else await this.git(["read-tree", "--empty"], { env });
      const lines: string[] = [];
      for (const [path, content] of Object.entries(files)) {
        if (content === null) {
          lines.push(`0 ${ZERO_SHA}\t${path}`);
        } else {
          const blob = await this.text(["hash-object", "-w", "--stdin"], { input: content });
          lines.push(`100644 ${blob}\t${path}`);
        }
      }
      await this.git(["update-index", "--index-info"], { input: lines.join("\n") + "\n", env });
      return await this.text(["write-tree"], { env });
    } finally {
      await rm(index, { force: true });
    }
  }

  /** Entry at `path` in a commit (path "" is the root tree). */
  async entry(commit: string, path: string): Promise<TreeEntry | null> {
    if (path === "") {
      const tree = await this.text(["rev-parse", `${commit}^{tree}`]);
      return { mode: "040000", type: "tree", sha: tree, size: null, path: "" };
    }
    const key = `${commit}:${path}`;
    const known = isSha(commit) ? this.entries.get(key) : undefined;
    if (known !== undefined) return known;
    const out = (await this.git(["ls-tree", "-z", "-l", "--full-tree", commit, "--", path])).stdout.toString("utf8");
    const rec = out.split("\0").find(Boolean);
    const e = rec ? parseLsTree(rec) : null;
    const found = e && e.path === path ? e : null;
    if (isSha(commit)) {
      if (this.entries.size >= 10_000) this.entries.clear();
      this.entries.set(key, found);
    }
    return found;
  }

  async listTree(commit: string, path: string): Promise<TreeEntry[]> {
    const spec = path === "" ? `${commit}^{tree}` : `${commit}:${path}`;
    const out = (await this.git(["ls-tree", "-z", "-l", spec])).stdout.toString("utf8");
    return out
      .split("\0")
      .filter(Boolean)
      .map(parseLsTree)
      .filter((e): e is TreeEntry => e !== null)
      .map((e) => ({ ...e, path: path === "" ? e.path : `${path}/${e.path}` }));
  }

  async blob(sha: string): Promise<Buffer> {
    const known = this.blobs.get(sha);
    if (known) return known;
    const data = (await this.git(["cat-file", "blob", sha])).stdout;
    if (isSha(sha) && data.length <= 1024 * 1024) {
      if (this.blobBytes + data.length > 32 * 1024 * 1024) {
        this.blobs.clear();
        this.blobBytes = 0;
      }
      this.blobs.set(sha, data);
      this.blobBytes += data.length;
    }
    return data;
  }

  /** File changes from `base` to `head` (base null: against the empty tree). */
  async diff(base: string | null, head: string, withPatch = true): Promise<FileChange[]> {
    const from = base ?? (await this.text(["hash-object", "-t", "tree", "--stdin"], { input: "" }));
    const raw = (await this.git(["diff-tree", "-r", "-z", "--no-renames", "--no-abbrev", from, head])).stdout.toString(
      "utf8",
    );
    const numstat = (
      await this.git(["diff-tree", "-r", "-z", "--no-renames", "--numstat", from, head])
    ).stdout.toString("utf8");
    const counts = new Map<string, [number, number]>();
    const ns = numstat.split("\0").filter(Boolean);
    for (const rec of ns) {
      const m = /^(\d+|-)\t(\d+|-)\t(.*)$/s.exec(rec);
      if (m) counts.set(m[3]!, [m[1] === "-" ? 0 : Number(m[1]), m[2] === "-" ? 0 : Number(m[2])]);
    }
    const parts = raw.split("\0").filter(Boolean);
    const changes: FileChange[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const meta = parts[i]!.split(" ");
      const filename = parts[i + 1]!;
      const status = meta[4] ?? "M";
      const [additions, deletions] = counts.get(filename) ?? [0, 0];
      changes.push({
        filename,
        status: status === "A" ? "added" : status === "D" ? "removed" : status === "M" ? "modified" : "changed",
        sha: status === "D" ? meta[2]! : meta[3]!,
        additions,
        deletions,
        changes: additions + deletions,
      });
    }
    if (withPatch && changes.length) {
      const patch = (await this.git(["diff", "--no-renames", "--no-color", from, head])).stdout.toString("utf8");
      const byFile = splitPatch(patch);
      for (const c of changes) {
        const p = byFile.get(c.filename);
        if (p !== undefined) c.patch = p;
      }
    }
    return changes;
  }

  /** Paths touched by one commit (against its first parent). */
  async commitPaths(sha: string): Promise<{ added: string[]; removed: string[]; modified: string[] }> {
    const out = (
      await this.git(["diff-tree", "-r", "-z", "--root", "--no-commit-id", "--no-renames", "--name-status", sha])
    ).stdout.toString("utf8");
    const parts = out.split("\0").filter(Boolean);
    const res = { added: [] as string[], removed: [] as string[], modified: [] as string[] };
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const s = parts[i]!;
      const f = parts[i + 1]!;
      if (s === "A") res.added.push(f);
      else if (s === "D") res.removed.push(f);
      else res.modified.push(f);
    }
    return res;
  }
}

function parseLsTree(rec: string): TreeEntry | null {
  const m = /^(\d+) (blob|tree|commit) ([0-9a-f]{40}) +(-|\d+)\t(.*)$/s.exec(rec);
  if (!m) return null;
  return {
    mode: m[1]!,
    type: m[2] as TreeEntry["type"],
    sha: m[3]!,
    size: m[4] === "-" ? null : Number(m[4]),
    path: m[5]!,
  };
}

/** Split a unified diff into per-file hunks (the text after the `+++` header). */
function splitPatch(patch: string): Map<string, string> {
  const map = new Map<string, string>();
  const sections = patch.split(/^diff --git /m).slice(1);
  for (const section of sections) {
    const lines = section.split("\n");
    let file: string | null = null;
    const hunkStart = lines.findIndex((l) => l.startsWith("@@"));
    for (const l of lines.slice(0, hunkStart === -1 ? lines.length : hunkStart)) {
      if (l.startsWith("+++ b/")) file = l.slice(6);
      else if (l.startsWith("--- a/") && file === null) file = l.slice(6);
    }
    if (file === null) {
      const m = /^a\/(.*) b\//.exec(lines[0] ?? "");
      file = m ? m[1]! : null;
    }
    if (file === null) continue;
    map.set(file, hunkStart === -1 ? "" : lines.slice(hunkStart).join("\n").replace(/\n$/, ""));
  }
  return map;
}
