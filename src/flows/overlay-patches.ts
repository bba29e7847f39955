// The patch files an overlay's kustomization lists, read at one commit: what blue-green and
// canary layouts are read from (core/strategy-layout.ts), and so which slot or track a change moved.
import type { GitWorkspace } from "../adapters/git-workspace.js";
import { readBlueGreenLayout, type BlueGreenLayout } from "../core/blue-green.js";
import { readCanaryLayout, type CanaryLayout } from "../core/canary.js";
import { findEnvironment, overlayDir, type Config } from "../core/config.js";
import { slotStepOf, type SlotStep } from "../core/plan-blue-green.js";
import { trackStepOf, type TrackStep } from "../core/plan-canary.js";
import { strategyFor, type BlueGreenStrategy, type CanaryStrategy } from "../core/strategy.js";
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

export async function canaryLayoutAt(
  workspace: GitWorkspace,
  commit: string,
  dir: string,
  strategy: CanaryStrategy,
): Promise<Located<CanaryLayout>> {
  return readCanaryLayout(strategy, dir, await overlayPatches(workspace, commit, dir));
}

/**
 * What a change between two commits moved in an overlay released blue-green (the slot) or by
 * canary (the track), with that Deployment's image before and after; undefined for any other.
 */
export async function strategyStepBetween(
  workspace: GitWorkspace,
  config: Config,
  at: { service: string; env: string },
  before: string,
  after: string,
): Promise<{ from: string | undefined; to: string | undefined; slot?: SlotStep; track?: TrackStep } | undefined> {
  const strategy = strategyFor(config, at.service, at.env);
  const env = findEnvironment(config, at.env);
  if (!env || strategy.kind === "image") return undefined;
  const dir = overlayDir(config, at.service, env);
  if (strategy.kind === "blueGreen") {
    const was = await blueGreenLayoutAt(workspace, before, dir, strategy);
    const now = await blueGreenLayoutAt(workspace, after, dir, strategy);
    const moved = now.ok ? slotStepOf(strategy, was.ok ? was.value : undefined, now.value) : undefined;
    return moved && { from: moved.from, to: moved.to, slot: moved.step };
  }
  const was = await canaryLayoutAt(workspace, before, dir, strategy);
  const now = await canaryLayoutAt(workspace, after, dir, strategy);
  const moved = now.ok ? trackStepOf(strategy, was.ok ? was.value : undefined, now.value) : undefined;
  return moved && { from: moved.from, to: moved.to, track: moved.step };
}
