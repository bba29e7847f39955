// The patch files an overlay's kustomization lists, read at one commit: what blue-green and
// canary layouts are read from (core/strategy-layout.ts).
import type { GitWorkspace } from "../adapters/git-workspace.js";
import { readBlueGreenLayout, type BlueGreenLayout } from "../core/blue-green.js";
import type { BlueGreenStrategy } from "../core/strategy.js";
import { patchFilePaths, type Located, type PatchFile } from "../core/strategy-layout.js";

export async function overlayPatches(workspace: GitWorkspace, commit: string, dir: string): Promise<PatchFile[]> {
  const kustomization = await workspace.readFile(commit, `${dir}/kustomization.yaml`).catch(() => undefined);
  const files: PatchFile[] = [];
  for (const path of kustomization === undefined ? [] : patchFilePaths(dir, kustomization)) {
    const text = await workspace.readFile(commit, path).catch(() => undefined);
    if (text !== undefined) files.push({ path, text });
  }
  return files;
}

export async function blueGreenLayoutAt(
  workspace: GitWorkspace,
  commit: string,
  dir: string,
  strategy: BlueGreenStrategy,
): Promise<Located<BlueGreenLayout>> {
  return readBlueGreenLayout(strategy, dir, await overlayPatches(workspace, commit, dir));
}
