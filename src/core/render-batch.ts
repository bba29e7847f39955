// Several overlays in one kustomize run. Starting kustomize costs most of a small render (a large
// Go binary: about 80 ms of CPU, against about 11 ms for each overlay more), so when renders queue
// up, as in a burst of deploys, they are rendered together: a throwaway kustomization lists them
// as resources and asks for origin annotations, and each resource of the output goes back to the
// overlay its file came from, with that annotation taken out again.
//
// The result must be exactly what rendering each overlay alone prints, and kustomize makes a few
// things global to a build. This file decides, over plain text, when that cannot be guaranteed:
// - `batchableKustomization`: a kustomization that declares vars (resolved across the whole
//   build), build metadata or sort options (read from the top kustomization only), an OpenAPI
//   schema (process-wide) or transformer configurations and CRDs (merged up into the
//   name-reference fixes made for the whole build) is never batched;
// - `entangled`: the name references kustomize fixes once, for the whole build, may have pointed
//   one overlay's reference at another's resource. Such a member's output holds that resource's
//   name; any member that does is rendered again alone.
// Kustomize prints its output with sorted keys, one document after another: the split and the
// annotation's removal work on that text, never on YAML parsed again and printed differently.

/** Paths a batch kustomization names: plain characters only, so no quoting question arises. */
const PLAIN_PATH = /^[\w./@+-]+$/;

export const MAX_BATCH = 16;

/** Whether a path can be listed in a batch kustomization as it is. */
export const plainPath = (path: string) => PLAIN_PATH.test(path) && !path.split("/").includes("..");

/**
 * Words that make a kustomization's effect reach beyond its own resources in a combined build.
 * Matched anywhere in the text, in any case (kustomize's field names are case-insensitive): a
 * comment that names one costs a render of its own, never a wrong one.
 */
const GLOBAL_FIELDS = /vars|buildmetadata|sortoptions|openapi|configurations|crds/i;

/** Whether an overlay whose kustomizations read like `texts` may share a kustomize run. */
export function batchableKustomization(texts: string[]): boolean {
  return texts.every((text) => !GLOBAL_FIELDS.test(text));
}

/** The throwaway kustomization that renders `targets` (relative to its directory) together. */
export function batchKustomization(targets: string[]): string {
  for (const target of targets)
    if (!PLAIN_PATH.test(target)) throw new Error(`not a plain path for a batch render: ${JSON.stringify(target)}`);
  return ["buildMetadata: [originAnnotations]", "resources:", ...targets.map((t) => `- ${t}`), ""].join("\n");
}

/** A document's metadata block, as kustomize prints it: `metadata:` at the margin, then indented lines. */
const METADATA = /^metadata:\n(?: {2,}.*\n)*/m;
const ORIGIN = /^ {4}config\.kubernetes\.io\/origin: \|\n((?: {6}.*\n)+)/m;

/**
 * Each member's share of a batch's output, as it would have printed alone; `roots` are the
 * members' trees relative to the batch kustomization, and each resource's origin names a file in
 * one of them. Undefined when any resource cannot be placed.
 */
export function splitBatch(output: string, roots: string[]): string[] | undefined {
  const parts: string[][] = roots.map(() => []);
  const prefixes = roots.map((root) => `${root.replace(/\/+$/, "")}/`);
  if (output.trim() === "") return parts.map(() => "");
  for (const doc of output.split(/^---\n/m)) {
    const metadata = METADATA.exec(doc);
    if (!metadata) return undefined;
    const block = metadata[0];
    const found = ORIGIN.exec(block);
    if (!found) return undefined;
    const origin = /^ {6}(?:path|configuredIn): (.*)$/m.exec(found[1] as string)?.[1];
    if (origin === undefined) return undefined;
    const member = prefixes.findIndex((prefix) => origin.startsWith(prefix));
    if (member < 0) return undefined;
    // Without the annotation; and without the map, when it was the only one (kustomize prints
    // no empty map).
    const kept = (block.slice(0, found.index) + block.slice(found.index + found[0].length)).replace(
      /^ {2}annotations:\n(?! {4})/m,
      "",
    );
    if (kept.includes("config.kubernetes.io/origin")) return undefined;
    (parts[member] as string[]).push(doc.slice(0, metadata.index) + kept + doc.slice(metadata.index + block.length));
  }
  return parts.map((docs) => docs.join("---\n"));
}

interface Named {
  name: string;
  namespace?: string;
}

/** metadata.name and metadata.namespace of each document, as printed (sorted keys, 2 spaces). */
function namesIn(output: string): Named[] {
  const found: Named[] = [];
  const scalar = (text: string | undefined) => text?.replace(/^(["'])(.*)\1$/, "$2");
  for (const doc of output.split(/^---\n/m)) {
    const metadata = METADATA.exec(doc)?.[0] ?? "";
    const name = scalar(/^ {2}name: (.*)$/m.exec(metadata)?.[1]);
    if (!name) continue;
    const namespace = scalar(/^ {2}namespace: (.*)$/m.exec(metadata)?.[1]);
    found.push(namespace === undefined ? { name } : { name, namespace });
  }
  return found;
}

const NAME_CHAR = /[\w.-]/;

/** Whether `token` stands in `text` on its own, not as part of a longer name. */
function mentions(text: string, token: string): boolean {
  for (let at = text.indexOf(token); at >= 0; at = text.indexOf(token, at + 1)) {
    const before = at === 0 ? "" : (text[at - 1] as string);
    const after = text[at + token.length] ?? "";
    if (!NAME_CHAR.test(before) && !NAME_CHAR.test(after)) return true;
  }
  return false;
}

/**
 * Which members' outputs another member's resources may have changed. kustomize points a
 * reference at a resource of the same kind and name in the referrer's namespace (or the one the
 * reference names, or anywhere for a resource without a namespace), and writes the resource's
 * final name into the reference. So a member that holds the name of another member's resource,
 * and that resource's namespace (or the resource has none), may differ from its render alone.
 */
export function entangled(outputs: string[]): boolean[] {
  const names = outputs.map(namesIn);
  return outputs.map((text, i) =>
    names.some(
      (theirs, j) =>
        j !== i &&
        theirs.some((r) => mentions(text, r.name) && (r.namespace === undefined || mentions(text, r.namespace))),
    ),
  );
}
