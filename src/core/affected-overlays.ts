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

function readReferences(dir: string, text: string): { local: string[]; remote: string[] } {
  if (checkYamlText(text) !== undefined) return { local: [], remote: [] };
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

/** The kustomization directories `dir` reads, itself first, following references transitively. */
export function dependencyClosure(
  dir: string,
  kustomizations: Map<string, string>,
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
    const text = kustomizations.get(current);
    if (text === undefined) continue;
    dirs.push(current);
    const refs = kustomizationReferences(current, text);
    for (const url of refs.remote) remote.add(url);
    // A reference to a file (deployment.yaml) is inside `current`; only kustomization dirs recurse.
    for (const ref of refs.local) if (kustomizations.has(ref) && !seen.has(ref)) pending.push(ref);
  }
  return { dirs, remote: [...remote] };
}

const inside = (file: string, dir: string) => dir === "." || file.startsWith(`${dir}/`);

export function affectedOverlays(input: {
  config: Config;
  changedFiles: string[];
  before: TreeSnapshot;
  after: TreeSnapshot;
}): AffectedOverlay[] {
  const byDir = new Map<string, AffectedOverlay>();
  const sides = [
    ["before", input.before],
    ["after", input.after],
  ] as const;
  for (const [side, tree] of sides) {
    for (const file of tree.files) {
      const owner = overlayOwner(file, input.config);
      if (!owner) continue;
      const dir = posix.dirname(file);
      const { dirs, remote } = dependencyClosure(dir, tree.kustomizations);
      const hit = dirs.filter((d) => input.changedFiles.some((f) => inside(f, d)));
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
    if (entry.closure.before === undefined && input.before.files.includes(`${entry.dir}/kustomization.yaml`)) {
      entry.closure.before = dependencyClosure(entry.dir, input.before.kustomizations).dirs;
    }
    entry.because.sort((a, b) => (a === "the overlay" ? -1 : b === "the overlay" ? 1 : a.localeCompare(b)));
  }
  return [...byDir.values()].sort((a, b) => a.dir.localeCompare(b.dir));
}
