// Renders what a change does: the overlays the change affects are found from git objects, what
// they read is written into a throwaway directory at each commit (never the shared clone), they
// are rendered there, and the results are analysed. Used by the conveyor/render check run and,
// for a short summary, by Conveyor's own PR bodies. Runs outside the repo queue: it only reads
// objects from the clone. Reading the kustomizations and analysing kustomize's output parse YAML
// the change controls: both run in the core pool's worker threads, off the event loop.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../core/config.js";
import {
  KUSTOMIZATION_FILES,
  overlaysAffected,
  type AffectedOverlay,
  type KustomizationRefs,
  type ReferenceView,
} from "../core/affected-overlays.js";
import type { ReferenceProblem } from "../core/kustomization-references.js";
import { overlaySummary, type OverlayAnalysis, type RenderSide } from "../core/render-report.js";
import type { GitWorkspace, TreeEntry } from "../adapters/git-workspace.js";
import { LayeredMap } from "../core/layered-map.js";
import type { Renderer, RendererInfo, RenderResult } from "../adapters/renderer.js";
import { referenceRefusal } from "../core/kustomization-references.js";
import { batchableKustomization } from "../core/render-batch.js";
import type { CorePool } from "../runtime/core-pool.js";

const PARALLEL_RENDERS = 4;
const DEFAULT_RENDER_TIMEOUT_MS = 30_000;
const DEFAULT_BUDGET_MS = 120_000;

export interface RenderChangesInput {
  workspace: GitWorkspace;
  config: Config;
  /** The commit the change is measured against (a PR's merge base). */
  base: string;
  head: string;
  renderer: Renderer;
  /** Where the YAML is read and analysed, off the event loop. */
  cpu: CorePool;
  timeoutMs?: number;
  /** All renders of one change together stop after this long (default 2 minutes). */
  budgetMs?: number;
  /**
   * The head is Conveyor's own commit (its branch in this repository): its renders, like the
   * base's, may share a kustomize run with other changes' renders. A person's head never does.
   */
  headTrusted?: boolean;
}

export type RenderChanges =
  | { kind: "no-renderer"; reason: string; affected: AffectedOverlay[]; changedFiles: string[] }
  | {
      kind: "rendered";
      renderer: RendererInfo;
      affected: AffectedOverlay[];
      overlays: OverlayAnalysis[];
      changedFiles: string[];
      notes: string[];
    };

export async function renderChanges(input: RenderChangesInput): Promise<RenderChanges> {
  const { workspace, base, head, renderer, cpu } = input;
  const changedFiles = await workspace.changedFiles(base, head);
  // The base's view first: the head's is then derived from it (only the changed kustomizations
  // read), also while another check is still reading the base.
  const before = await kustomizationsAt(workspace, base);
  const [beforeView] = (await viewsOf(workspace, cpu, [before])) as [ReferenceView];
  const after = await kustomizationsAt(workspace, head, { from: before, changedFiles });
  const [afterView] = (await viewsOf(workspace, cpu, [after])) as [ReferenceView];
  const affected = overlaysAffected({ config: input.config, changedFiles, before: beforeView, after: afterView });
  const refused = await refusals(workspace, cpu, input.config, affected, { before, after });
  const located = await renderer.locate();
  if (!located.found) return { kind: "no-renderer", reason: located.reason, affected, changedFiles };
  if (affected.length === 0)
    return { kind: "rendered", renderer: located.info, affected, overlays: [], changedFiles, notes: [] };

  const scratch = await mkdtemp(join(tmpdir(), "conveyor-render-"));
  try {
    const roots = { before: join(scratch, "base"), after: join(scratch, "head") };
    // Only the directories the affected overlays read are written out, not the whole repository:
    // kustomize reads nothing else (its load restrictor keeps every file a kustomization names
    // in or below that kustomization's directory).
    const inputs = (side: "before" | "after") => [...new Set(affected.flatMap((o) => o.closure[side] ?? []))];
    const [skippedBefore, skippedAfter] = await Promise.all([
      workspace.exportTree(base, roots.before, inputs("before")),
      workspace.exportTree(head, roots.after, inputs("after")),
    ]);

    // One pull request gets a bounded share of the renderer: once its renders have used the
    // budget, the overlays left are reported as not rendered rather than rendered late.
    const budgetMs = input.budgetMs ?? DEFAULT_BUDGET_MS;
    const deadline = Date.now() + budgetMs;
    const [treesBefore, treesAfter] = await Promise.all([
      workspace.directoryTrees(base),
      workspace.directoryTrees(head),
    ]);
    const renderSide = async (
      overlay: AffectedOverlay,
      side: "before" | "after",
    ): Promise<{ side: RenderSide; result?: RenderResult }> => {
      const closure = overlay.closure[side];
      if (!closure) return { side: { kind: "absent" } };
      // Nothing that reaches out of the repository is rendered: not the network, not the host,
      // not another repository's clone. kustomize would follow such references as written.
      const facts = refused.get(overlay.dir);
      const problems = facts?.[side] ?? [];
      if (problems.length) return { side: { kind: "failed", error: referenceRefusal(problems) } };
      const left = deadline - Date.now();
      if (left <= 0) {
        const error = `not rendered: this change's renders used up their ${Math.round(budgetMs / 1000)} s`;
        return { side: { kind: "failed", error } };
      }
      const trees = side === "before" ? treesBefore : treesAfter;
      // The overlay's output depends only on the directories it reads: their tree ids are the key.
      const cacheKey = overlay.remote.length
        ? undefined
        : [overlay.dir, ...closure.map((d) => `${d}:${trees.get(d) ?? "?"}`)].join("\n");
      const result = await renderer.render(join(roots[side], overlay.dir), {
        root: roots[side],
        cacheKey,
        timeoutMs: Math.min(input.timeoutMs ?? DEFAULT_RENDER_TIMEOUT_MS, left),
        // Remote references left after the check are ones render.allowRemote trusts, pinned.
        remoteGit: overlay.remote.length > 0,
        batch: (side === "before" || input.headTrusted === true) && facts?.batchable[side] === true,
      });
      return {
        side: result.ok ? { kind: "rendered", yaml: result.yaml } : { kind: "failed", error: result.error },
        result,
      };
    };
    const overlays = await mapLimited(affected, PARALLEL_RENDERS, async (overlay) => {
      const [b, a] = await Promise.all([renderSide(overlay, "before"), renderSide(overlay, "after")]);
      return cpu.run("analyzeOverlay", {
        ...overlay,
        before: b.side,
        after: a.side,
        ms: { before: b.result?.ms, after: a.result?.ms },
        cached: Boolean(b.result?.cached && a.result?.cached),
      });
    });

    const notes: string[] = [];
    const closures = affected.flatMap((o) => [...(o.closure.before ?? []), ...(o.closure.after ?? [])]);
    const skipped = [...new Set([...skippedBefore, ...skippedAfter])].filter((p) =>
      closures.some((d) => d === "." || p.startsWith(`${d}/`)),
    );
    if (skipped.length)
      notes.push(
        `Left out of the render (symbolic links and submodules are never followed): ${skipped
          .slice(0, 10)
          .map((p) => `\`${p}\``)
          .join(", ")}${skipped.length > 10 ? " …" : ""}`,
      );
    const remote = [...new Set(affected.flatMap((o) => o.remote))];
    if (remote.length)
      notes.push(
        `Remote bases trusted by \`render.allowRemote\` are fetched (pinned) on every render and not cached: ${remote
          .slice(0, 5)
          .map((r) => `\`${r}\``)
          .join(", ")}`,
      );
    return { kind: "rendered", renderer: located.info, affected, overlays, changedFiles, notes };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A commit's kustomization files: their paths, and each directory's file and blob id. */
interface Kustomizations {
  files: readonly string[];
  dirs: ReadonlyMap<string, { path: string; sha: string }>;
  /** What each directory's kustomization refers to, once read (viewsOf). */
  refs?: Map<string, KustomizationRefs> | LayeredMap<string, KustomizationRefs>;
  /** Directories whose references `refs` does not hold yet (all of them when `refs` is unset). */
  unread?: string[];
  /**
   * Derived from another commit's with only the contents of these directories' kustomizations
   * changed (no file added or removed): the overlay search starts from that commit's view.
   */
  from?: { kustomizations: Kustomizations; dirs: string[] };
  view?: ReferenceView;
}

const isKustomizationFile = (path: string) => KUSTOMIZATION_FILES.includes(path.slice(path.lastIndexOf("/") + 1));
const dirOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".");

/**
 * The kustomization files of a commit, from its tree listing. Symbolic links and submodules are
 * not read: they are never exported for the renderer either. The last few commits are kept:
 * a burst of PRs against one main reads main's once. With `from` (the commit the change is
 * measured against, and the files changed since), only the changed files are looked up.
 */
async function kustomizationsAt(
  workspace: GitWorkspace,
  commit: string,
  derive?: { from: Kustomizations; changedFiles: string[] },
): Promise<Kustomizations> {
  const key = `${workspace.dir}\0${commit}`;
  const known = commitsSeen.get(key);
  if (known) {
    // Most recently used last: a burst's base, read by every check, outlives its many heads.
    commitsSeen.delete(key);
    commitsSeen.set(key, known);
    return known;
  }
  // Only from a base whose references are all read: another check may still be reading them.
  const found = derive?.from.view
    ? await derived(workspace, commit, derive.from, derive.changedFiles)
    : await listed(workspace, commit);
  if (/^[0-9a-f]{40}$/.test(commit)) {
    commitsSeen.set(key, found);
    if (commitsSeen.size > COMMITS_KEPT) commitsSeen.delete(commitsSeen.keys().next().value as string);
  }
  return found;
}

async function listed(workspace: GitWorkspace, commit: string): Promise<Kustomizations> {
  const files: string[] = [];
  const dirs = new Map<string, { path: string; sha: string }>();
  for (const e of await workspace.treeEntries(commit)) {
    if (e.type !== "blob" || e.mode === "120000" || !isKustomizationFile(e.path)) continue;
    files.push(e.path);
    dirs.set(dirOf(e.path), { path: e.path, sha: e.sha });
  }
  return { files, dirs };
}

async function derived(
  workspace: GitWorkspace,
  commit: string,
  from: Kustomizations,
  changedFiles: string[],
): Promise<Kustomizations> {
  const changed = changedFiles.filter(isKustomizationFile);
  if (changed.length === 0) return { files: from.files, dirs: from.dirs, refs: from.refs, unread: [] };
  const now = await workspace.entriesAt(commit, changed);
  const plain = (entry: TreeEntry | undefined): entry is TreeEntry =>
    entry !== undefined && entry.type === "blob" && entry.mode !== "120000";
  // Only contents changed, the usual edit: the base's listing is shared, not copied.
  if (changed.every((path) => from.dirs.get(dirOf(path))?.path === path && plain(now.get(path)))) {
    const dirs = changed.map(dirOf);
    const refs = new LayeredMap(from.refs ?? new Map<string, KustomizationRefs>());
    for (const dir of dirs) refs.delete(dir);
    return {
      files: from.files,
      dirs: new LayeredMap(
        from.dirs,
        changed.map((path) => [dirOf(path), { path, sha: (now.get(path) as TreeEntry).sha }] as const),
      ),
      refs,
      unread: dirs,
      from: { kustomizations: from, dirs },
    };
  }
  const files = new Set(from.files);
  const dirs = new Map(from.dirs);
  const refs = new Map(from.refs ?? []);
  const unread: string[] = [];
  for (const path of changed) {
    const dir = dirOf(path);
    files.delete(path);
    refs.delete(dir);
    if (dirs.get(dir)?.path === path) dirs.delete(dir);
    const entry = now.get(path);
    if (!entry || entry.type !== "blob" || entry.mode === "120000") continue;
    files.add(path);
    dirs.set(dir, { path, sha: entry.sha });
    unread.push(dir);
  }
  return { files: [...files], dirs, refs, unread };
}

const commitsSeen = new Map<string, Kustomizations>();
const COMMITS_KEPT = 16;

/**
 * What kustomizations refer to, by directory and blob id. A check reads every kustomization of
 * both commits, nearly all of them seen by the check before: only new ones are read and parsed
 * (in the core pool). By blob id, then directory; bounded (forgotten all at once when full).
 */
const referencesSeen = new Map<string, Map<string, KustomizationRefs>>();
let referencesKept = 0;
const REFERENCES_KEPT = 100_000;
const seenRefs = (dir: string, sha: string) => referencesSeen.get(sha)?.get(dir);
/**
 * Reads under way, by blob id and directory: checks that start together (a burst's, all against
 * one base) wait for the same read instead of each parsing the base's every kustomization.
 */
const referencesReading = new Map<string, Promise<void>>();

/** Reads and parses these kustomizations (in the core pool) into referencesSeen. */
async function readReferences(
  workspace: GitWorkspace,
  cpu: CorePool,
  missing: Array<{ dir: string; sha: string }>,
): Promise<void> {
  const texts = await workspace.readBlobs([...new Set(missing.map((m) => m.sha))]);
  const items = missing.filter((m) => texts.has(m.sha));
  const refs = await cpu.run(
    "kustomizationRefs",
    items.map((m) => ({ dir: m.dir, text: texts.get(m.sha) as string })),
  );
  if (referencesKept + items.length > REFERENCES_KEPT) {
    referencesSeen.clear();
    referencesKept = 0;
  }
  items.forEach((m, i) => {
    let bySha = referencesSeen.get(m.sha);
    if (!bySha) referencesSeen.set(m.sha, (bySha = new Map()));
    bySha.set(m.dir, refs[i] as KustomizationRefs);
    referencesKept++;
  });
}

/** The overlay search's view of each side, with every kustomization's references read. */
async function viewsOf(workspace: GitWorkspace, cpu: CorePool, sides: Kustomizations[]): Promise<ReferenceView[]> {
  const missing = new Map<string, { dir: string; sha: string }>();
  const reading = new Set<Promise<void>>();
  for (const side of sides) {
    if (side.view) continue;
    const refs = (side.refs ??= new Map());
    const unread = side.unread ?? [...side.dirs.keys()];
    for (const dir of unread) {
      const sha = side.dirs.get(dir)?.sha;
      if (sha === undefined) continue;
      const known = seenRefs(dir, sha);
      const key = `${sha}\0${dir}`;
      const elsewhere = known ? undefined : referencesReading.get(key);
      if (known) refs.set(dir, known);
      else if (elsewhere) reading.add(elsewhere);
      else missing.set(key, { dir, sha });
    }
    side.unread = unread;
  }
  if (missing.size > 0) {
    const read = readReferences(workspace, cpu, [...missing.values()]);
    for (const key of missing.keys()) referencesReading.set(key, read);
    void read
      .catch(() => undefined)
      .finally(() => {
        for (const key of missing.keys()) if (referencesReading.get(key) === read) referencesReading.delete(key);
      });
    reading.add(read);
  }
  await Promise.all(reading);
  return sides.map((side) => {
    if (side.view) return side.view;
    const refs = side.refs as Map<string, KustomizationRefs>;
    for (const dir of side.unread ?? []) {
      const sha = side.dirs.get(dir)?.sha;
      const known = sha === undefined ? undefined : seenRefs(dir, sha);
      if (known) refs.set(dir, known);
    }
    side.unread = [];
    const from = side.from?.kustomizations.view;
    side.view = {
      files: side.files,
      directories: () => refs.keys(),
      references: (dir) => refs.get(dir),
      ...(from && side.from ? { derivedFrom: { view: from, dirs: side.from.dirs } } : {}),
    };
    return side.view;
  });
}

interface ClosureFacts {
  before: ReferenceProblem[];
  after: ReferenceProblem[];
  batchable: { before: boolean; after: boolean };
}

/**
 * By affected overlay and side: what its kustomizations refer to that is not rendered, and
 * whether its renders may share a kustomize run. Each directory of a side is checked once,
 * however many overlays read it.
 */
async function refusals(
  workspace: GitWorkspace,
  cpu: CorePool,
  config: Config,
  affected: AffectedOverlay[],
  sides: { before: Kustomizations; after: Kustomizations },
): Promise<Map<string, ClosureFacts>> {
  const wanted = new Map<string, { side: "before" | "after"; dir: string; path: string; sha: string }>();
  for (const overlay of affected)
    for (const side of ["before", "after"] as const)
      for (const dir of overlay.closure[side] ?? []) {
        const found = sides[side].dirs.get(dir);
        if (found) wanted.set(`${side}\0${dir}`, { side, dir, ...found });
      }
  const texts = await workspace.readBlobs([...new Set([...wanted.values()].map((w) => w.sha))]);
  const checked = [...wanted.entries()].filter(([, w]) => texts.has(w.sha));
  const problems = await cpu.run("referenceProblems", {
    allowRemote: [...config.render.allowRemote],
    items: checked.map(([, w]) => ({ dir: w.dir, file: w.path, text: texts.get(w.sha) as string })),
  });
  const byKey = new Map(checked.map(([key], i) => [key, problems[i] ?? []]));
  const of = (side: "before" | "after", dirs: string[] | undefined) =>
    (dirs ?? []).flatMap((dir) => byKey.get(`${side}\0${dir}`) ?? []);
  // Whether a side's kustomizations may share a kustomize run: each was read, and none reaches
  // beyond its own resources in a combined build.
  const batchable = (side: "before" | "after", dirs: string[] | undefined) => {
    const read = (dirs ?? []).map((dir) => {
      const found = wanted.get(`${side}\0${dir}`);
      return found === undefined ? "" : texts.get(found.sha);
    });
    return read.every((text) => text !== undefined) && batchableKustomization(read as string[]);
  };
  return new Map(
    affected.map((o) => [
      o.dir,
      {
        before: of("before", o.closure.before),
        after: of("after", o.closure.after),
        batchable: { before: batchable("before", o.closure.before), after: batchable("after", o.closure.after) },
      },
    ]),
  );
}

async function mapLimited<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A short account of what a change renders to, for a PR body: per overlay, resources and images
 * before -> after, no diffs (those are in the conveyor/render check run). Empty when nothing
 * renders differently or no renderer is installed; never throws, a PR must not wait on it.
 */
export async function renderSummaryForPr(input: RenderChangesInput & { maxChars?: number }): Promise<string> {
  try {
    const result = await renderChanges(input);
    if (result.kind !== "rendered" || result.overlays.length === 0) return "";
    const text = [
      "### What changes in the cluster",
      "",
      ...result.overlays.map((o) => overlaySummary(o).replace(/^### /, "#### ")),
      "",
      `<sub>Rendered with ${result.renderer.label}; the full diff is in the \`conveyor/render\` check.</sub>`,
    ].join("\n");
    const max = input.maxChars ?? 8_000;
    return text.length > max
      ? `${text.slice(0, max - 60)}\n\n… (summary truncated; see the \`conveyor/render\` check)`
      : text;
  } catch {
    return "";
  }
}
