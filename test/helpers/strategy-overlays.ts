// The seed manifests repository's strategy overlays (fixtures/manifests-repo), read as a flow
// would: the kustomization, then the patch files it lists.
import { readFileSync } from "node:fs";
import { patchFilePaths, type PatchFile } from "../../src/core/strategy-layout.js";

const SEED = new URL("../../fixtures/manifests-repo/", import.meta.url);

export function seedFile(path: string): string {
  return readFileSync(new URL(path, SEED), "utf8");
}

/** The patch files of one seed overlay, with `replace` standing in for some of them. */
export function seedPatches(overlayDir: string, replace: Record<string, string> = {}): PatchFile[] {
  return patchFilePaths(overlayDir, seedFile(`${overlayDir}/kustomization.yaml`)).map((path) => ({
    path,
    text: replace[path] ?? seedFile(path),
  }));
}
