// Where a strategy's objects are set in an overlay: the patch files its kustomization lists,
// found by what they patch (kind and metadata.name), not by file name. The flow reads the files
// `patchFilePaths` names and hands their texts back; everything here is pure.
import { isMap, isSeq, parseDocument } from "yaml";
import { isSafeRelativePath, quote } from "./names.js";
import { readPatch, type PatchSummary } from "./patch-file.js";
import { checkYamlText, UNTRUSTED_PARSE_OPTIONS } from "./yaml-limits.js";

export interface PatchFile {
  /** Repository-relative path. */
  path: string;
  text: string;
}

export interface LocatedPatch extends PatchFile {
  summary: PatchSummary;
}

export type Located<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The repository-relative paths of the patch files an overlay's kustomization lists (`patches:`
 * entries with a `path`, `patchesStrategicMerge:` file names). Only files inside the overlay's
 * own directory are candidates: those are the ones a release of this overlay may edit.
 */
export function patchFilePaths(overlayDir: string, kustomization: string): string[] {
  if (checkYamlText(kustomization) !== undefined) return [];
  const doc = parseDocument(kustomization, UNTRUSTED_PARSE_OPTIONS);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return [];
  const names: unknown[] = [];
  const patches = doc.contents.get("patches", true);
  if (isSeq(patches)) for (const item of patches.items) if (isMap(item)) names.push(item.get("path"));
  const strategic = doc.contents.get("patchesStrategicMerge", true);
  if (isSeq(strategic)) for (const item of strategic.toJSON() as unknown[]) names.push(item);
  const paths = names
    .filter((name): name is string => typeof name === "string" && !name.includes("\n"))
    .map((name) => name.replace(/^\.\//, ""))
    .filter((name) => isSafeRelativePath(name) && /\.ya?ml$/.test(name))
    .map((name) => `${overlayDir}/${name}`);
  return [...new Set(paths)];
}

/** Finds the patch of `kind` named `name` among the overlay's patch files. */
export function findPatch(files: PatchFile[], kind: string, name: string, overlayDir: string): Located<LocatedPatch> {
  const found: LocatedPatch[] = [];
  for (const file of files) {
    const read = readPatch(file.text);
    if (read.ok && read.kind === kind && read.name === name) {
      const { ok: _ok, ...summary } = read;
      found.push({ ...file, summary });
    }
  }
  if (found.length === 1) return { ok: true, value: found[0] as LocatedPatch };
  if (found.length > 1)
    return {
      ok: false,
      reason: `${found.map((f) => f.path).join(" and ")} both patch ${kind} ${quote(name)}; keep one patch file per ${kind}`,
    };
  return {
    ok: false,
    reason: `${overlayDir} has no patch file for ${kind} ${quote(name)}: list one under patches: in its kustomization.yaml (see the README's overlay layout for release strategies)`,
  };
}

/** The image of the strategy's container in a Deployment patch (the only one, or `container`). */
export function containerImage(patch: LocatedPatch, container?: string): string | undefined {
  const containers = patch.summary.containers;
  const chosen =
    container !== undefined
      ? containers.find((c) => c.name === container)
      : containers.length === 1
        ? containers[0]
        : undefined;
  return chosen?.image;
}
