// One cached clone per manifests repo, reused across events: fetch, never re-clone.
// The clone is bare and every edit is made with plumbing (hash-object, a private index,
// commit-tree), so no working tree is ever dirty, big repos stay cheap, and renders or reverts
// can use throwaway worktrees beside it.
// The installation token travels only in an environment variable holding an http.extraHeader,
// never in a URL or an argument, so git's own error text cannot echo it; errors are redacted
// again on the way out all the same.
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { spawn } from "node:child_process";
import { GitBatch, type BatchObject } from "./git-batch.js";
import { receivePack, remoteHeads, usable, ZERO_ID } from "./git-http.js";
import {
  commitObject,
  commitTree,
  compareNames,
  gitObject,
  isTreeMode,
  packObjects,
  parseTree,
  treeObject,
  writeLooseObject,
  type GitObject,
  type TreeItem,
} from "./git-objects.js";
import { LayeredMap } from "../core/layered-map.js";
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

const TREES_KEPT = 8;
/** Entries of parsed tree objects kept (a burst reads the same few trees on every path). */
const PARSED_ENTRIES_KEPT = 200_000;
/** Commit objects kept by id. */
const COMMITS_KEPT = 4_096;
/** Commits made here whose objects are kept until they are pushed. */
const MADE_KEPT = 1_000;
const BLOBS_KEPT_BYTES = 32 * 1024 * 1024;
const BLOB_KEPT_MAX = 256 * 1024;
/** Packs in the clone before they are rolled up into fewer. */
const PACKS_KEPT = 16;
/** Every fetch keeps what it brings as one pack (see fetch()). */
const FETCH_CONFIG = ["-c", "fetch.unpackLimit=1"];
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
  private readonly fetches = new Shared(() => this.exclusive(() => this.fetchNow()));
  private refTurn: Promise<unknown> = Promise.resolve();
  private readonly pushes: PendingPush[] = [];
  private pushTurn?: Promise<void>;
  /** `ls-tree -r` of whole commits, which never change: discovery and renders read the same ones. */
  private readonly trees = new Map<string, CommitTree>();
  private readonly blobs = new Map<string, Buffer>();
  private blobBytes = 0;
  private batchReader?: GitBatch;
  /** Parsed tree objects by id (an id's tree never changes), least recently used dropped first. */
  private readonly parsedTrees = new Map<string, readonly TreeItem[]>();
  private parsedEntries = 0;
  /** Commit objects read by full id: the root trees of diffs and edits. */
  private readonly commits = new Map<string, BatchObject>();
  /** Objects of commits made here and not pushed yet: a push over HTTP sends exactly these. */
  private readonly made = new Map<string, { parent: string; objects: GitObject[] }>();
  /** What each commit made here changed: its tree can be derived from its parent's. */
  private readonly recipes = new Map<string, { parent: string; file: TreeEntry; dirs: Array<[string, string]> }>();
  private readonly heads = new Shared(async () => remoteHeads(this.options.remoteUrl, await this.authorization()));

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
    return this.fetches.run();
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
    await this.fetch(["--prune", "origin"]);
  }

  /**
   * `git fetch`, in the ref turn's task. What it brings appears all at once: git would otherwise
   * unpack a small fetch (under 100 objects) into loose objects one by one, the commit first and
   * its trees after, and a reader at that moment would find the commit (hasCommits says yes)
   * whose trees are not there yet (`ls-tree`: "Could not read <tree>"). Kept as a pack, the
   * objects become visible together when git renames its index into place. Packs are rolled up
   * from time to time (with the loose objects of commits made here), so lookups stay quick.
   */
  private async fetch(args: string[]): Promise<void> {
    await this.run(["fetch", "--no-tags", "--quiet", ...args], { network: true });
    const packs = await readdir(join(this.options.dir, "objects", "pack")).catch(() => []);
    if (packs.filter((name) => name.endsWith(".pack")).length >= PACKS_KEPT)
      // New packs are written before old ones go; git's readers look again when one is gone.
      await this.run(["repack", "-d", "-q", "--geometric=2"]).catch(() => undefined);
  }

  /** Fetches and pushes write local refs; they take turns so git never finds a ref locked. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const next = this.refTurn.then(task, task);
    this.refTurn = next.catch(() => undefined);
    return next;
  }

  /** Sha of a remote branch as last fetched, or undefined when it does not exist. */
  async remoteBranch(branch: string): Promise<string | undefined> {
    if (!existsSync(join(this.options.dir, "HEAD"))) return undefined;
    if (!PLAIN_BRANCH.test(branch) || branch.includes("..")) return undefined;
    return (await this.batch().read(`refs/remotes/origin/${branch}^{commit}`))?.id;
  }

  /**
   * Where the remote's branches are now, for an edit about to be made: over HTTP, one request for
   * the remote's refs, and a fetch of just the branch read when its commit is not in the clone
   * (a branch nobody reads is never fetched). Elsewhere, a full sync. Callers at the same time
   * share requests, as they share fetches.
   */
  async remoteBranches(): Promise<(branch: string) => Promise<string | undefined>> {
    if (!usable(this.options.remoteUrl) || !existsSync(join(this.options.dir, "HEAD"))) {
      await this.sync();
      return (branch) => this.remoteBranch(branch);
    }
    const heads = await this.heads.run();
    return async (branch) => {
      const sha = heads.get(branch);
      if (!sha) return undefined;
      if (!(await this.hasCommits([sha]))) {
        await this.exclusive(() => this.fetch(["origin", `+refs/heads/${branch}:refs/remotes/origin/${branch}`]));
        if (!(await this.hasCommits([sha]))) return this.remoteBranch(branch);
      } else if ((await this.remoteBranch(branch)) !== sha)
        // In the fetches' and pushes' turn: a fetch under way leases the ref and would find it moved.
        await this.exclusive(() => this.trackRef(branch, sha));
      return sha;
    };
  }

  /** Points the clone's record of a remote branch at a commit it has (the files ref store git uses). */
  private async trackRef(branch: string, sha: string): Promise<void> {
    if (!PLAIN_BRANCH.test(branch) || branch.includes("..")) return;
    const path = join(this.options.dir, "refs", "remotes", "origin", branch);
    // Written aside, outside refs/ (git would list a file there as a broken ref), then renamed.
    const temp = join(this.options.dir, `conveyor-ref-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temp, `${sha}\n`);
      await rename(temp, path);
    } catch {
      // Only a record: the next fetch writes it again.
      await rmQuiet(temp);
    }
  }

  /** The clone's long-lived object reader. */
  private batch(): GitBatch {
    this.batchReader ??= new GitBatch(this.options.dir, this.baseEnv());
    return this.batchReader;
  }

  /** Stops the workspace's long-lived git process (it starts again when needed). */
  close(): void {
    this.batchReader?.close();
  }

  /** A file's text at a commit; undefined when missing. Refuses paths that pass through a symlink. */
  async readFile(commit: string, path: string): Promise<string | undefined> {
    const cached = this.trees.get(commit);
    let file: { mode: string; sha: string; type: string } | undefined;
    if (cached) {
      const entries = ancestors(path).flatMap((p) => cached.byPath.get(p) ?? []);
      if (entries.some((e) => e.mode === "120000")) throw symlinkError(path);
      file = entries.find((e) => e.path === path);
    } else {
      const walked = await this.walk(commit, path);
      if (walked.some((level) => level.entry?.mode === "120000")) throw symlinkError(path);
      const last = walked[walked.length - 1]?.entry;
      file = last && { mode: last.mode, sha: last.id, type: isTreeMode(last.mode) ? "tree" : "blob" };
    }
    if (!file || file.type !== "blob" || file.mode === "160000") return undefined;
    return (await this.readBlobs([file.sha])).get(file.sha);
  }

  /**
   * The trees from a commit's root down to `path`, read through the long-lived reader: per path
   * component, the tree that holds it and its entry there (undefined from the first one missing).
   */
  private async walk(commit: string, path: string): Promise<Array<{ tree: readonly TreeItem[]; entry?: TreeItem }>> {
    const head = await this.readCommit(commit);
    if (!head) throw new Error(`git: ${commit} is not a commit in the clone`);
    const levels: Array<{ tree: readonly TreeItem[]; entry?: TreeItem }> = [];
    let treeId: string | undefined = commitTree(head.body);
    for (const name of path.split("/")) {
      const tree: readonly TreeItem[] = treeId ? await this.readTree(treeId) : [];
      const entry = tree.find((e) => e.name === name);
      levels.push({ tree, entry });
      treeId = entry && isTreeMode(entry.mode) ? entry.id : undefined;
    }
    return levels;
  }

  /** A tree's entries, in git's order: shared with other readers, never to be changed. */
  private async readTree(id: string): Promise<readonly TreeItem[]> {
    const kept = this.parsedTrees.get(id);
    if (kept) {
      this.parsedTrees.delete(id);
      this.parsedTrees.set(id, kept);
      return kept;
    }
    const object = await this.batch().read(id);
    if (!object || object.type !== "tree") throw new Error(`git: tree ${id} is missing from the clone`);
    const items = parseTree(object.body);
    if (/^[0-9a-f]{40}$/.test(id)) this.keepParsed(id, items);
    return items;
  }

  /** Keeps a tree's entries (read, or made here: a commit's new trees are read right after). */
  private keepParsed(id: string, items: readonly TreeItem[]): void {
    if (items.length > PARSED_ENTRIES_KEPT / 4 || this.parsedTrees.has(id)) return;
    for (const [oldest, tree] of this.parsedTrees) {
      if (this.parsedEntries + items.length <= PARSED_ENTRIES_KEPT) break;
      this.parsedTrees.delete(oldest);
      this.parsedEntries -= tree.length;
    }
    this.parsedTrees.set(id, items);
    this.parsedEntries += items.length;
  }

  /**
   * The commit a name stands for (`<name>^{commit}`), or undefined. Read by full id, it is kept:
   * an id's commit never changes, and the clone never loses one it had.
   */
  private async readCommit(name: string): Promise<BatchObject | undefined> {
    const full = /^[0-9a-f]{40}$/.test(name);
    const kept = full ? this.commits.get(name) : undefined;
    if (kept) return kept;
    const object = await this.batch().read(`${name}^{commit}`);
    if (object && full) {
      if (this.commits.size >= COMMITS_KEPT) this.commits.delete(this.commits.keys().next().value as string);
      this.commits.set(name, object);
    }
    return object;
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

  /** The entries of these paths at a commit, where they are files (from the cached listing). */
  async entriesAt(commit: string, paths: string[]): Promise<Map<string, TreeEntry>> {
    const { byPath } = await this.tree(commit);
    const found = new Map<string, TreeEntry>();
    for (const path of paths) {
      const entry = byPath.get(path);
      if (entry) found.set(path, entry);
    }
    return found;
  }

  /** Tree id of every directory at a commit ("." is the root): a content key for render caches. */
  async directoryTrees(commit: string): Promise<ReadonlyMap<string, string>> {
    return (await this.tree(commit)).dirs;
  }

  private async tree(commit: string): Promise<CommitTree> {
    const full = /^[0-9a-f]{40}$/.test(commit);
    const cached = full ? this.trees.get(commit) : undefined;
    if (cached) {
      // Most recently used last: the oldest is dropped first.
      this.trees.delete(commit);
      this.trees.set(commit, cached);
      return cached;
    }
    const derived = await this.derivedTree(commit);
    if (derived) return this.keepTree(commit, derived);
    const head = await this.readCommit(commit);
    if (!head) throw new Error(`git: ${commit} is not a commit in the clone`);
    const root = commitTree(head.body);
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
    return full ? this.keepTree(commit, tree) : tree;
  }

  private keepTree(commit: string, tree: CommitTree): CommitTree {
    if (this.trees.size >= TREES_KEPT) this.trees.delete(this.trees.keys().next().value as string);
    this.trees.set(commit, tree);
    return tree;
  }

  /**
   * The tree of a one-file commit made here, from its parent's (the render check of a PR Conveyor
   * opened reads the whole tree of its head): the same listing `ls-tree` would give, without it.
   */
  private async derivedTree(commit: string): Promise<CommitTree | undefined> {
    const made = this.recipes.get(commit);
    if (!made) return undefined;
    const parent = await this.tree(made.parent);
    const before = parent.byPath.get(made.file.path);
    // A new file would need its place in git's order: ls-tree gives it.
    if (!before || before.type !== "blob") return undefined;
    // The parent's listing with a few entries replaced, not a copy of its thousands: a burst of
    // PRs reads each head's tree once.
    let files: TreeEntry[] | undefined;
    return {
      get files() {
        return (files ??= parent.files.map((e) => (e === before ? made.file : e)));
      },
      byPath: new LayeredMap(parent.byPath, [[made.file.path, made.file]]),
      dirs: new LayeredMap(parent.dirs, made.dirs),
    };
  }

  /**
   * The files at or under `paths` at a commit, read from their trees: a render reads a few
   * directories of a tree that may hold thousands of files.
   */
  private async entriesUnder(commit: string, paths: string[]): Promise<TreeEntry[]> {
    const tree = await this.tree(commit);
    const found = new Map<string, TreeEntry>();
    const walk = async (dir: string, id: string): Promise<void> => {
      for (const item of await this.readTree(id)) {
        const path = `${dir}/${item.name}`;
        if (isTreeMode(item.mode)) await walk(path, item.id);
        else found.set(path, { mode: item.mode, type: item.mode === "160000" ? "commit" : "blob", sha: item.id, path });
      }
    };
    for (const path of paths) {
      const id = tree.dirs.get(path);
      if (id !== undefined) await walk(path, id);
      else {
        const file = tree.byPath.get(path);
        if (file) found.set(path, file);
      }
    }
    return [...found.values()];
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
    const reader = this.batch();
    const found = await Promise.all(missing.filter((id) => /^[0-9a-f]{40}$/.test(id)).map((id) => reader.read(id)));
    for (const object of found) if (object?.type === "blob") out.set(object.id, this.remember(object.id, object.body));
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
    if (!shas.every((s) => /^[0-9a-f]{40}$/.test(s))) return false;
    const found = await Promise.all(shas.map((s) => this.readCommit(s)));
    return found.every(Boolean);
  }

  /**
   * Is `ancestor` contained in `descendant`? git answers with its exit code alone (0 yes, 1 no,
   * without a word on stderr), which simple-git does not treat as a failure: so it is asked
   * directly. Unknown commits and other errors count as "no".
   */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    if (ancestor === descendant && /^[0-9a-f]{40}$/.test(ancestor)) return await this.hasCommits([ancestor]);
    if (await this.isParent(ancestor, descendant)) return true;
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
    const [a, b] = await Promise.all([this.readCommit(from), this.readCommit(to)]);
    if (!a || !b) {
      const out = await this.run(["diff", "--name-only", "-z", "--no-renames", from, to]);
      return out.split("\0").filter(Boolean);
    }
    const changed: string[] = [];
    await this.diffTrees(commitTree(a.body), commitTree(b.body), "", changed);
    return changed;
  }

  /**
   * `git diff --name-only --no-renames` of two trees, read through the long-lived reader: equal
   * subtrees (same id) are skipped whole, so a one-file change reads only the trees on its path.
   */
  private async diffTrees(a: string | undefined, b: string | undefined, prefix: string, out: string[]): Promise<void> {
    const [left, right] = await Promise.all([a ? this.readTree(a) : [], b ? this.readTree(b) : []]);
    const byName = new Map<string, { a?: TreeItem; b?: TreeItem }>();
    for (const item of left) byName.set(item.name, { a: item });
    for (const item of right) {
      const a = byName.get(item.name)?.a;
      // Unchanged entries (most of a tree) are dropped before sorting.
      if (a && a.id === item.id && a.mode === item.mode) byName.delete(item.name);
      else byName.set(item.name, { a, b: item });
    }
    // git's order: a directory sorts as its name followed by "/".
    const key = (name: string, e: { a?: TreeItem; b?: TreeItem }) =>
      [e.a, e.b].some((i) => i && isTreeMode(i.mode)) ? `${name}/` : name;
    const names = [...byName.entries()]
      .map(([name, e]) => ({ name, e, key: key(name, e) }))
      .sort((x, y) => compareNames(x.key, y.key));
    for (const { name, e } of names) {
      const path = `${prefix}${name}`;
      const aTree = e.a && isTreeMode(e.a.mode) ? e.a.id : undefined;
      const bTree = e.b && isTreeMode(e.b.mode) ? e.b.id : undefined;
      const aFile = e.a && !aTree;
      const bFile = e.b && !bTree;
      // A file replaced by a directory (or the other way) is a deletion and an addition.
      if (aFile || bFile) out.push(path);
      if (aTree || bTree) await this.diffTrees(aTree, bTree, `${path}/`, out);
    }
  }

  /**
   * Several files in one commit (a strategy step's two patch files), made in this process like a
   * one-file commit: the blobs, every tree on their paths (each rebuilt once), and the commit.
   */
  private async commitFiles(request: CommitRequest): Promise<string> {
    const parent = await this.readCommit(request.parent);
    if (!parent) throw new Error(`git commit-tree failed: ${request.parent} is not a commit in the clone`);
    const made: GitObject[] = [];
    const changes = [{ path: request.path, text: request.text }, ...(request.more ?? [])].map((file) => {
      const names = file.path.split("/");
      if (names.some((n) => n === "" || n === "." || n === ".." || n === ".git"))
        throw new Error(`git update-index failed: invalid path '${file.path}'`);
      const blob = gitObject("blob", Buffer.from(file.text, "utf8"));
      made.push(blob);
      return { names, blob: blob.id };
    });
    const root = await this.rebuildTree(commitTree(parent.body), changes, "", made);
    return this.writeCommit(parent.id, root, request.message, made);
  }

  /** The commit of `tree` on `parent`: written with the objects made for it, kept until pushed. */
  private async writeCommit(parent: string, tree: string, message: string, made: GitObject[]): Promise<string> {
    const commit = commitObject({ tree, parents: [parent], author: this.options.author ?? DEFAULT_AUTHOR, message });
    made.push(commit);
    for (const object of made) await writeLooseObject(this.options.dir, object);
    if (this.made.size >= MADE_KEPT) this.made.delete(this.made.keys().next().value as string);
    this.made.set(commit.id, { parent, objects: made });
    return commit.id;
  }

  /** A tree with `changes` (paths below it, each to a blob) applied; new trees go into `made`. */
  private async rebuildTree(
    id: string | undefined,
    changes: Array<{ names: string[]; blob: string }>,
    at: string,
    made: GitObject[],
  ): Promise<string> {
    const items = id ? [...(await this.readTree(id))] : [];
    const below = new Map<string, Array<{ names: string[]; blob: string }>>();
    for (const change of changes) {
      const [name, ...rest] = change.names as [string, ...string[]];
      const existing = items.find((e) => e.name === name);
      if (rest.length === 0) {
        if (existing && isTreeMode(existing.mode))
          throw new Error(`git update-index failed: '${at}${name}' is a directory, not a file`);
        const item = { mode: existing?.mode ?? "100644", name, id: change.blob };
        items.splice(existing ? items.indexOf(existing) : items.length, existing ? 1 : 0, item);
      } else below.set(name, [...(below.get(name) ?? []), { names: rest, blob: change.blob }]);
    }
    for (const [name, sub] of below) {
      const existing = items.find((e) => e.name === name);
      if (existing && !isTreeMode(existing.mode))
        throw new Error(`git update-index failed: '${at}${name}' is a file, not a directory`);
      const item = { mode: "040000", name, id: await this.rebuildTree(existing?.id, sub, `${at}${name}/`, made) };
      items.splice(existing ? items.indexOf(existing) : items.length, existing ? 1 : 0, item);
    }
    const tree = treeObject(items);
    made.push(tree);
    this.keepParsed(tree.id, tree.items);
    return tree.id;
  }

  /**
   * Writes a file (or several: see commitFiles) on top of `parent` and returns the new commit's
   * sha; touches no working tree.
   * The blob, the trees on the file's path and the commit are made in this process and written
   * as loose objects: no index, no git process.
   */
  async commitFile(request: CommitRequest): Promise<string> {
    if (request.more?.length) return this.commitFiles(request);
    const parent = await this.readCommit(request.parent);
    if (!parent) throw new Error(`git commit-tree failed: ${request.parent} is not a commit in the clone`);
    const names = request.path.split("/");
    if (names.some((n) => n === "" || n === "." || n === ".." || n === ".git"))
      throw new Error(`git update-index failed: invalid path '${request.path}'`);
    const levels = await this.walk(parent.id, request.path);
    const made: GitObject[] = [];
    const blob = gitObject("blob", Buffer.from(request.text, "utf8"));
    made.push(blob);
    const child0: TreeItem = {
      mode: levels[levels.length - 1]?.entry?.mode ?? "100644",
      name: names[names.length - 1] as string,
      id: blob.id,
    };
    let child = child0;
    for (let i = levels.length - 1; i >= 0; i--) {
      const { tree, entry } = levels[i] as { tree: readonly TreeItem[]; entry?: TreeItem };
      if (i < levels.length - 1 && entry && !isTreeMode(entry.mode))
        throw new Error(`git update-index failed: '${names.slice(0, i + 1).join("/")}' is a file, not a directory`);
      // The entry replaced where it stands (the tree stays in git's order), or added.
      const at = tree.findIndex((e) => e.name === child.name);
      const items = at < 0 ? [...tree, child] : tree.with(at, child);
      const object = treeObject(items);
      made.push(object);
      this.keepParsed(object.id, object.items);
      if (i > 0) child = { mode: "040000", name: names[i - 1] as string, id: object.id };
    }
    const root = made[made.length - 1] as GitObject;
    const commit = await this.writeCommit(parent.id, root.id, request.message, made);
    if (this.recipes.size >= MADE_KEPT) this.recipes.delete(this.recipes.keys().next().value as string);
    // Trees were made from the file's directory up to the root (then the commit): made[1] is the
    // directory's.
    const dirPaths = names.slice(0, -1).map((_, i) => names.slice(0, i + 1).join("/"));
    this.recipes.set(commit, {
      parent: parent.id,
      file: { mode: child0.mode, type: "blob", sha: blob.id, path: request.path },
      dirs: [".", ...dirPaths].map((path, i): [string, string] => [path, (made[made.length - 2 - i] as GitObject).id]),
    });
    return commit;
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
    const objects = this.objectsToPush(batch.map((p) => p.commit));
    if (objects && usable(this.options.remoteUrl)) {
      try {
        const results = await receivePack(
          this.options.remoteUrl,
          batch.map((p) => ({ ref: `refs/heads/${p.branch}`, old: p.expected ?? ZERO_ID, new: p.commit })),
          packObjects(objects),
          await this.authorization(),
        );
        for (const p of batch) {
          const ok = results.get(`refs/heads/${p.branch}`)?.ok === true;
          if (ok) {
            this.made.delete(p.commit);
            await this.trackRef(p.branch, p.commit);
          }
          p.resolve(ok);
        }
        return;
      } catch {
        // The remote refused the pack (an object it lacks): git works out what to send.
      }
    }
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
        if (accepted.has(p.branch)) this.made.delete(p.commit);
        p.resolve(accepted.has(p.branch));
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  /**
   * Every object the remote may lack for these commits: those made here and not pushed yet,
   * their unpushed parents' too. Undefined when a commit was not made here (git push then).
   */
  private objectsToPush(commits: string[]): GitObject[] | undefined {
    const out = new Map<string, GitObject>();
    for (const commit of commits) {
      let at: string | undefined = commit;
      if (!this.made.has(commit)) return undefined;
      while (at && this.made.has(at)) {
        const entry = this.made.get(at) as { parent: string; objects: GitObject[] };
        for (const object of entry.objects) out.set(object.id, object);
        at = entry.parent;
      }
    }
    return [...out.values()];
  }

  /** The header git sends with the installation token (never put in a URL or an argument). */
  private async authorization(): Promise<string | undefined> {
    const token = await this.options.token?.();
    return token ? `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}` : undefined;
  }

  /** Whether `parent` is one of `commit`'s parents (read from the commit; no process). */
  private async isParent(parent: string, commit: string): Promise<boolean> {
    if (!/^[0-9a-f]{40}$/.test(parent) || !/^[0-9a-f]{40}$/.test(commit)) return false;
    const object = await this.readCommit(commit);
    if (!object) return false;
    const header = object.body.toString("latin1", 0, object.body.indexOf("\n\n"));
    return header.split("\n").includes(`parent ${parent}`);
  }

  /** A minimal environment: nothing from the caller's shell (editors, pagers, askpass) reaches git. */
  private baseEnv(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? tmpdir(),
      GIT_TERMINAL_PROMPT: "0",
      LC_ALL: "C",
    };
  }

  private async gitEnv(opts: { env?: Record<string, string>; network?: boolean }): Promise<Record<string, string>> {
    const env: Record<string, string> = { ...this.baseEnv(), ...opts.env };
    if (opts.network) {
      const authorization = await this.authorization();
      if (authorization)
        Object.assign(env, {
          GIT_CONFIG_COUNT: "1",
          GIT_CONFIG_KEY_0: "http.extraHeader",
          GIT_CONFIG_VALUE_0: `Authorization: ${authorization}`,
        });
    }
    return env;
  }

  /**
   * git with optional bytes on stdin, raw stdout back and the exit code, never a throw for a
   * non-zero exit (cat-file --batch, and a push whose refs may be partly rejected).
   */
  private async spawnGit(
    args: string[],
    opts: { input?: string; network?: boolean; cwd?: string; env?: Record<string, string> } = {},
  ): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    const env = await this.gitEnv(opts);
    const argv =
      args[0] === "init"
        ? args
        : ["--git-dir", this.options.dir, ...(args[0] === "fetch" ? FETCH_CONFIG : []), ...args];
    return new Promise((resolve, reject) => {
      const child = spawn("git", argv, { env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
      const chunks: Buffer[] = [];
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", (error) => reject(new Error(`git ${args[0]} failed: ${redact(error.message)}`)));
      child.on("close", (code) => resolve({ code, stdout: Buffer.concat(chunks), stderr: redact(stderr) }));
      // A git that has what it needs may exit before reading its input.
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.input ?? "");
    });
  }

  private async run(
    args: string[],
    opts: { cwd?: string; env?: Record<string, string>; network?: boolean } = {},
  ): Promise<string> {
    const result = await this.spawnGit(args, { ...opts, cwd: opts.cwd ?? this.options.dir });
    if (result.code !== 0)
      throw new Error(`git ${args[0]} failed: ${result.stderr.trim() || `exit ${String(result.code)}`}`);
    return result.stdout.toString("utf8");
  }

  /** The best common ancestor of two commits: what a pull request's diff is taken against. */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    // The common case, a commit made on top of the other (every PR Conveyor opens): no process.
    if (await this.isParent(a, b)) return a;
    if (await this.isParent(b, a)) return b;
    try {
      return (await this.run(["merge-base", a, b])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Fetches a pull request's head (forks' commits are only reachable through refs/pull/N/head). */
  async fetchPullHead(number: number): Promise<void> {
    await this.exclusive(() => this.fetch(["origin", `+refs/pull/${number}/head:refs/remotes/pull/${number}`]));
  }

  /**
   * Writes a commit's files into `target` (a throwaway directory), straight from git objects, so
   * the shared clone is never touched; with `only`, just the files at or under those paths ("."
   * is everything). Symbolic links and submodules are left out: a renderer must not be led to
   * files outside the tree. Returns the paths that were left out.
   */
  async exportTree(commit: string, target: string, only?: string[]): Promise<string[]> {
    const entries =
      only && !only.includes(".") ? await this.entriesUnder(commit, only) : await this.treeEntries(commit);
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

/**
 * A request that callers at the same time share: each gets one that started after it asked, so a
 * burst of callers costs two requests, not one each.
 */
class Shared<T> {
  private current?: Promise<T>;
  private next?: Promise<T>;

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    if (!this.current) {
      this.current = this.task().finally(() => {
        this.current = undefined;
      });
      return this.current;
    }
    this.next ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.run();
      });
    return this.next;
  }
}

interface CommitTree {
  /** Blobs (files, symbolic links) and commits (submodules). */
  readonly files: TreeEntry[];
  byPath: ReadonlyMap<string, TreeEntry>;
  /** Tree id by directory path, "." for the root. */
  dirs: ReadonlyMap<string, string>;
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

/** Branch names read through the long-lived reader: what git allows, less what a revision could mean. */
const PLAIN_BRANCH = /^[A-Za-z0-9._/-]+$/;

const rmQuiet = (path: string) => rm(path, { force: true }).catch(() => undefined);

const symlinkError = (path: string) =>
  new Error(`${path} passes through a symbolic link; Conveyor does not follow links`);

/** "a/b/c.yaml" -> ["a", "a/b", "a/b/c.yaml"]: every path that must not be a symlink. */
function ancestors(path: string): string[] {
  const parts = path.split("/");
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
}
