// What the conveyor/render check renders for a change, decided from the kustomization texts of
// both commits: the overlays the change affects (affected-overlays.ts) and, for each of them and
// each side, the references kustomize must not follow (kustomization-references.ts). Every
// kustomization of both commits may be read here, so it is one call over plain data that can run
// off the main thread (runtime/core-pool.ts).
import { affectedOverlays, type AffectedOverlay, type TreeSnapshot } from "./affected-overlays.js";
import type { Config } from "./config.js";
import { checkReferences, type ReferenceProblem } from "./kustomization-references.js";

/** One side of the change, with the path of each directory's kustomization file. */
export interface KustomizationSnapshot extends TreeSnapshot {
  /** The kustomization file of each directory ("kustomization.yaml", "Kustomization", ...). */
  paths: Map<string, string>;
}

export interface RenderScopeInput {
  config: Config;
  changedFiles: string[];
  before: KustomizationSnapshot;
  after: KustomizationSnapshot;
}

export interface RenderScope {
  affected: AffectedOverlay[];
  /** By overlay directory: what its kustomizations on each side refer to that is not rendered. */
  refused: Map<string, { before: ReferenceProblem[]; after: ReferenceProblem[] }>;
}

export function renderScope(input: RenderScopeInput): RenderScope {
  const affected = affectedOverlays(input);
  const allowRemote = input.config.render.allowRemote;
  // A base shared by many overlays is checked once per side, not once per overlay.
  const checked = { before: new Map<string, ReferenceProblem[]>(), after: new Map<string, ReferenceProblem[]>() };
  const problemsIn = (side: "before" | "after", dir: string): ReferenceProblem[] => {
    const known = checked[side].get(dir);
    if (known) return known;
    const snapshot = input[side];
    const text = snapshot.kustomizations.get(dir);
    const file = snapshot.paths.get(dir);
    const found = text === undefined || file === undefined ? [] : checkReferences({ dir, file, text, allowRemote });
    checked[side].set(dir, found);
    return found;
  };
  const refused = new Map(
    affected.map((overlay) => [
      overlay.dir,
      {
        before: (overlay.closure.before ?? []).flatMap((dir) => problemsIn("before", dir)),
        after: (overlay.closure.after ?? []).flatMap((dir) => problemsIn("after", dir)),
      },
    ]),
  );
  return { affected, refused };
}
