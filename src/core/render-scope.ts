// The YAML behind the conveyor/render check's scope, read off the main thread (runtime/core-pool.ts):
// what each kustomization refers to, and what the affected overlays' kustomizations must not
// fetch (kustomization-references.ts). Which overlays a change affects is then decided from the
// references alone (affected-overlays.ts overlaysAffected), which parses nothing; the flow
// remembers references by blob id, so a check reads only the kustomizations it has not seen.
import { readReferences, type KustomizationRefs } from "./affected-overlays.js";
import { checkReferences, type ReferenceProblem } from "./kustomization-references.js";

export interface KustomizationText {
  dir: string;
  text: string;
}

/** What each kustomization refers to, in order (readReferences). */
export function kustomizationRefs(items: KustomizationText[]): KustomizationRefs[] {
  return items.map(({ dir, text }) => readReferences(dir, text));
}

export interface ReferenceCheckBatch {
  /** config.render.allowRemote */
  allowRemote: string[];
  /** Each kustomization with the path of its file ("kustomization.yaml", "Kustomization", ...). */
  items: Array<KustomizationText & { file: string }>;
}

/** For each kustomization, in order, the references kustomize must not follow (checkReferences). */
export function referenceProblems(input: ReferenceCheckBatch): ReferenceProblem[][] {
  return input.items.map((item) => checkReferences({ ...item, allowRemote: input.allowRemote }));
}
