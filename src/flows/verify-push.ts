// A push to the manifests repository's default branch: every (service, environment) whose overlay
// changed gets a GitHub Deployment and is verified in Argo CD. Pushes that touch no overlay do
// nothing.
import type { GitWorkspace } from "../adapters/git-workspace.js";
import { findEnvironment, type Config } from "../core/config.js";
import { overlayFileOwner } from "../core/discover.js";
import { formatImageRef } from "../core/image-ref.js";
import { REVERT_LABEL } from "../core/pr-text.js";
import { humanOf, type ChangeRecord } from "../core/verification.js";
import type { CorePool } from "../runtime/core-pool.js";
import { prTrust } from "./pr-state.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";
import { strategyStepBetween } from "./overlay-patches.js";
import { startVerification } from "./start-verification.js";

export interface Push {
  /** The default branch before the push; undefined when the branch was created. */
  before: string | undefined;
  after: string;
  /** Who pushed (merged), told about a bot's PR. */
  sender?: string;
}

export async function verifyPush(services: Services, scope: RepoScope, config: Config, push: Push): Promise<void> {
  const { workspace, gh } = scope;
  // Reads only: no turn in the repo's queue, where a burst of deploy edits may be waiting.
  await workspace.sync();
  if (!push.before) return;
  const changes = await changedOverlays(workspace, services.cpu, config, push.before, push.after);
  if (changes.length === 0) return;
  if (!services.verifier) {
    scope.log.info(
      { repo: gh.fullName, overlays: changes.map((c) => c.file) },
      "overlays changed, but no Argo CD source is configured: not verifying",
    );
    return;
  }

  const pr = await gh.pulls.forCommit(push.after);
  for (const change of changes) {
    const env = findEnvironment(config, change.env);
    if (!env) continue;
    // The same push delivered again (a redelivery, another replica) records nothing twice.
    const recorded = await gh.deployments.ofCommit(push.after, change.env);
    if (recorded.some((d) => d.payload.service === change.service)) {
      scope.log.info({ service: change.service, env: change.env }, "this push's change is already recorded");
      continue;
    }
    const revert = pr?.labels.includes(REVERT_LABEL) ?? false;
    // Where the image came from, as Conveyor's own PR said: only a signed marker whose head is
    // what was merged, and that moved this very image.
    const trust = pr ? prTrust(services, gh.fullName, pr) : undefined;
    const source =
      trust?.kind === "trusted" &&
      trust.state.service === change.service &&
      trust.state.env === change.env &&
      trust.state.to === change.to
        ? trust.state.source
        : undefined;
    await startVerification(services, scope, {
      config,
      env,
      change: { ...change, pr: pr?.number, revert, ...(source ? { source } : {}) },
      pr: pr ? { number: pr.number, author: humanOf(pr.author, push.sender), labels: pr.labels } : undefined,
      announce: true,
    });
  }
}

/** One change per (service, environment) whose overlay differs between two commits. */
async function changedOverlays(
  workspace: GitWorkspace,
  cpu: CorePool,
  config: Config,
  before: string,
  after: string,
): Promise<ChangeRecord[]> {
  const files = await workspace.changedFiles(before, after);
  const owners = new Map<string, { service: string; env: string; file: string }>();
  for (const file of files) {
    const owner = overlayFileOwner(file, config);
    if (owner) owners.set(`${owner.service}/${owner.env}`, { ...owner, file });
  }
  return Promise.all(
    [...owners.values()].map(async (o) => {
      // Released blue-green or by canary: the slot or track the change moved, read from the
      // Deployments' patch files, with its image before and after.
      const moved = await strategyStepBetween(workspace, config, o, before, after);
      if (moved) return { ...o, revision: after, base: before, ...moved };
      return {
        ...o,
        revision: after,
        base: before,
        from: await imageIn(workspace, cpu, before, o.file),
        to: await imageIn(workspace, cpu, after, o.file),
      };
    }),
  );
}

/**
 * The service's image in an overlay at a commit, as one string (several images joined). The
 * overlay is read in the core pool, off the event loop; one it cannot read has no known image.
 */
async function imageIn(
  workspace: GitWorkspace,
  cpu: CorePool,
  commit: string,
  file: string,
): Promise<string | undefined> {
  const text = await workspace.readFile(commit, file).catch(() => undefined);
  if (text === undefined) return undefined;
  const images = await cpu.run("readImages", text).catch(() => undefined);
  if (!images?.ok || images.images.length === 0) return undefined;
  return images.images
    .map((i) => formatImageRef({ name: i.newName ?? i.name, tag: i.newTag, digest: i.digest }))
    .join(", ");
}
