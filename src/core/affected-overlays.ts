// "Which overlays does this change touch?" An overlay is affected when a changed file lies inside
// it or inside any directory its kustomization pulls in, directly or through other
// kustomizations (resources, bases, components, generators, transformers, validators). Both
// sides of the change count, so an overlay that is deleted, or that stops using a base, shows up.
import { posix } from "node:path";
import { parseDocument } from "yaml";
import type { Config } from "./config.js";
import { overlayOwner } from "./discover.js";
import {
  checkYamlSize,
  checkYamlText,
  duplicateKey,
  UNTRUSTED_PARSE_OPTIONS,
  UNTRUSTED_TO_JS_OPTIONS,
} from "./yaml-limits.js";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** One side of the change: every file path, and the text of every kustomization file by directory. */
export interface TreeSnapshot {
  files: string[];
  kustomizations: Map<string, string>;
}

export interface AffectedOverlay {
  dir: string;
  service: string;
  env: string;
  /** Why it is affected: "the overlay" or the directories it depends on that changed. */
  because: string[];
  /** Kustomization directories the overlay reads on each side (absent: no overlay on that side). */
  closure: { before?: string[]; after?: string[] };
  /** Remote resources (URLs): their content is not part of the tree, so renders are not cached. */
  remote: string[];
}

const REFERENCE_KEYS = ["resources", "bases", "components", "generators", "transformers", "validators"];

/**
 * What one kustomization refers to: local entries resolved against its directory (entries that
 * leave the repository are dropped) and remote ones kept as written. A kustomization that is not
 * YAML, or too large or too deeply nested to read safely (yaml-limits.ts), refers to nothing here:
 * the render reports it.
 */
export function kustomizationReferences(dir: string, text: string): { local: string[]; remote: string[] } {
  // Checked before the text becomes part of a cache key: an oversized file is neither parsed nor kept.
  if (checkYamlSize(text) !== undefined) return { local: [], remote: [] };
  // Every check reads every kustomization of the repository, nearly all unchanged since the last
  // one: parsing thousands of them each time would dominate a big repository's check.
  const key = `${dir}\0${text}`;
  const known = referencesSeen.get(key);
  if (known) return known;
  const found = readReferences(dir, text);
  if (referencesSeen.size >= REFERENCES_KEPT || referencesChars + key.length > REFERENCES_KEPT_CHARS) {
    referencesSeen.clear();
    referencesChars = 0;
  }
  referencesSeen.set(key, found);
  referencesChars += key.length;
  return found;
}

const referencesSeen = new Map<string, { local: string[]; remote: string[] }>();
const REFERENCES_KEPT = 50_000;
/** The cache keys hold whole texts: bound their total size too, not only their number. */
const REFERENCES_KEPT_CHARS = 64 * 1024 * 1024;
let referencesChars = 0;

/** kustomizationReferences without its cache, for callers that remember results by blob id. */
export function readReferences(dir: string, text: string): { local: string[]; remote: string[] } {
  if (checkYamlSize(text) !== undefined || checkYamlText(text) !== undefined) return { local: [], remote: [] };
  let doc: unknown;
  try {
    const parsed = parseDocument(text, UNTRUSTED_PARSE_OPTIONS);
    // The render reports the syntax error (a duplicate key included).
    if (parsed.errors.length > 0 || duplicateKey(parsed) !== undefined) return { local: [], remote: [] };
    doc = parsed.toJS(UNTRUSTED_TO_JS_OPTIONS);
  } catch {
    return { local: [], remote: [] }; // too many aliases, for one
  }
  const local: string[] = [];
  const remote: string[] = [];
  if (!doc || typeof doc !== "object") return { local, remote };
  for (const key of REFERENCE_KEYS) {
    const entries = (doc as Record<string, unknown>)[key];
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (typeof entry !== "string" || entry.trim() === "") continue;
      if (isRemote(entry)) {
        remote.push(entry);
        continue;
      }
      const resolved = posix.normalize(posix.join(dir, entry)).replace(/\/$/, "");
      if (resolved === ".." || resolved.startsWith("../") || posix.isAbsolute(resolved)) continue;
      local.push(resolved);
    }
  }
  return { local, remote };
}

function isRemote(entry: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ||
    /^git@/.test(entry) ||
    /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(entry)
  );
}

/** What one kustomization refers to (kustomizationReferences). */
export type KustomizationRefs = { local: string[]; remote: string[] };

/**
 * One side of a change as the overlay search reads it: the files that may be overlays'
 * kustomization files, and what the kustomization of a directory refers to (undefined where the
 * directory has none). Built from texts (TreeSnapshot) or from references parsed earlier and
 * remembered by blob id, so a big repository's kustomizations are not parsed for every check.
 */
export interface ReferenceView {
  files: readonly string[];
  /** Every directory that has a kustomization. */
  directories: () => Iterable<string>;
  references: (dir: string) => KustomizationRefs | undefined;
  /**
   * The view this one was made from when only these directories' kustomizations changed (in
   * content: every directory with a kustomization has one in both). What is worked out from a
   * view's whole repository (who reads whom) is then taken from that view where it still holds.
   */
  derivedFrom?: { view: ReferenceView; dirs: readonly string[] };
}

/** A view of a snapshot's texts, each parsed when first read. */
export function textView(tree: TreeSnapshot): ReferenceView {
  return {
    files: tree.files,
    directories: () => tree.kustomizations.keys(),
    references: (dir) => {
      const text = tree.kustomizations.get(dir);
      return text === undefined ? undefined : kustomizationReferences(dir, text);
    },
  };
}

/** The kustomization directories `dir` reads, itself first, following references transitively. */
export function dependencyClosure(
  dir: string,
  kustomizations: Map<string, string>,
): { dirs: string[]; remote: string[] } {
  return closureOf(dir, textView({ files: [], kustomizations }).references);
}

function closureOf(
  dir: string,
  references: (dir: string) => KustomizationRefs | undefined,
): { dirs: string[]; remote: string[] } {
  const dirs: string[] = [];
  const remote = new Set<string>();
  const pending = [dir];
  const seen = new Set<string>();
  // An index, not shift(): shifting a long queue (a kustomization may list thousands of entries)
  // moves every remaining entry each time.
  for (let next = 0; next < pending.length; next++) {
    const current = pending[next] as string;
    if (seen.has(current)) continue;
    seen.add(current);
    const refs = references(current);
    if (refs === undefined) continue;
    dirs.push(current);
    for (const url of refs.remote) remote.add(url);
    // A reference to a file (deployment.yaml) is inside `current`; only kustomization dirs recurse.
    for (const ref of refs.local) if (!seen.has(ref) && references(ref) !== undefined) pending.push(ref);
  }
  return { dirs, remote: [...remote] };
}

/** The kustomization directories a changed file lies in (the root's included). */
function touchedKustomizations(changedFiles: string[], tree: ReferenceView): Set<string> {
  const touched = new Set<string>();
  for (const file of changedFiles) {
    for (let dir = posix.dirname(file); ; dir = posix.dirname(dir)) {
      if (tree.references(dir) !== undefined) touched.add(dir);
      if (dir === "." || dir === "/") break;
    }
  }
  return touched;
}

/** `dirs` and every kustomization directory that reads one of them, directly or through others. */
function readersOf(dirs: Set<string>, tree: ReferenceView): Set<string> {
  const found = new Set(dirs);
  if (dirs.size === 0) return found;
  const readers = readerIndex(tree);
  const pending = [...dirs];
  for (let next = 0; next < pending.length; next++)
    for (const reader of readers.get(pending[next] as string) ?? [])
      if (!found.has(reader)) {
        found.add(reader);
        pending.push(reader);
      }
  return found;
}

/** Who reads each kustomization directory; kept per view, as a view stands for one commit. */
const readerIndexes = new WeakMap<ReferenceView, Map<string, string[]>>();

function readerIndex(tree: ReferenceView): Map<string, string[]> {
  const known = readerIndexes.get(tree);
  if (known) return known;
  // A change that left what every changed kustomization refers to as it was (a new image tag)
  // leaves who reads whom as it was too.
  const from = tree.derivedFrom;
  if (from && from.dirs.every((dir) => sameLocal(from.view.references(dir), tree.references(dir)))) {
    const index = readerIndex(from.view);
    readerIndexes.set(tree, index);
    return index;
  }
  const readers = new Map<string, string[]>();
  for (const dir of tree.directories())
    for (const ref of tree.references(dir)?.local ?? [])
      if (ref !== dir && tree.references(ref) !== undefined) {
        const list = readers.get(ref);
        if (list) list.push(dir);
        else readers.set(ref, [dir]);
      }
  readerIndexes.set(tree, readers);
  return readers;
}

const sameLocal = (a: KustomizationRefs | undefined, b: KustomizationRefs | undefined) =>
  a !== undefined &&
  b !== undefined &&
  a.local.length === b.local.length &&
  a.local.every((ref, i) => b.local[i] === ref);

/** The file list of a view as a set; views made from one another share their list. */
const fileSets = new WeakMap<readonly string[], Set<string>>();

function fileSet(files: readonly string[]): Set<string> {
  let set = fileSets.get(files);
  if (!set) fileSets.set(files, (set = new Set(files)));
  return set;
}

export function affectedOverlays(input: {
  config: Config;
  changedFiles: string[];
  before: TreeSnapshot;
  after: TreeSnapshot;
}): AffectedOverlay[] {
  return overlaysAffected({ ...input, before: textView(input.before), after: textView(input.after) });
}

/** affectedOverlays over views: the same answer, with the kustomizations read however the caller keeps them. */
export function overlaysAffected(input: {
  config: Config;
  changedFiles: string[];
  before: ReferenceView;
  after: ReferenceView;
}): AffectedOverlay[] {
  const byDir = new Map<string, AffectedOverlay>();
  const sides = [
    ["before", input.before],
    ["after", input.after],
  ] as const;
  for (const [side, tree] of sides) {
    const files = fileSet(tree.files);
    const hitDirs = touchedKustomizations(input.changedFiles, tree);
    // The overlays that read a touched directory, and those already affected on the other side.
    const candidates = new Set([...readersOf(hitDirs, tree), ...byDir.keys()]);
    for (const dir of [...candidates].sort()) {
      const file = `${dir}/kustomization.yaml`;
      if (!files.has(file)) continue;
      const owner = overlayOwner(file, input.config);
      if (!owner) continue;
      const { dirs, remote } = closureOf(dir, tree.references);
      const hit = dirs.filter((d) => hitDirs.has(d));
      // A file inside the overlay directory changed on either side also counts on the other side.
      if (hit.length === 0 && !byDir.has(dir)) continue;
      const entry = byDir.get(dir) ?? { dir, ...owner, because: [], closure: {}, remote: [] };
      entry.closure[side] = dirs;
      for (const d of hit) {
        const reason = d === dir ? "the overlay" : d;
        if (!entry.because.includes(reason)) entry.because.push(reason);
      }
      entry.remote = [...new Set([...entry.remote, ...remote])];
      byDir.set(dir, entry);
    }
  }
  // An overlay first seen on the "after" side that also existed before needs its before-closure.
  for (const entry of byDir.values()) {
    if (entry.closure.before === undefined && fileSet(input.before.files).has(`${entry.dir}/kustomization.yaml`)) {
      entry.closure.before = closureOf(entry.dir, input.before.references).dirs;
    }
    entry.because.sort((a, b) => (a === "the overlay" ? -1 : b === "the overlay" ? 1 : a.localeCompare(b)));
  }
  return [...byDir.values()].sort((a, b) => a.dir.localeCompare(b.dir));
}
