// Opens (or refreshes) the revert PR for a failed change. One revert branch per (service,
// environment), so repeated failures or redelivered events never produce a second revert. A
// blue-green service's revert is the switch back (the selector only), a canary's puts the canary
// back to the stable image without touching stable.
import { envLabel, LABEL, REVERT_LABEL, revertBranchFor } from "../core/pr-text.js";
import { revertPrText, type RevertMethod } from "../core/verification-text.js";
import type { FileEdit } from "../core/blue-green.js";
import { findEnvironment, overlayDir, type Config } from "../core/config.js";
import type { PrStep } from "../core/markers.js";
import { planSwitchBack } from "../core/plan-blue-green.js";
import { planTrackRollback } from "../core/plan-canary.js";
import { strategyFor } from "../core/strategy.js";
import { blueGreenLayoutAt, canaryLayoutAt } from "./overlay-patches.js";
import { prTrust } from "./pr-state.js";
import { publishEdit, type EditPlan } from "./publish-edit.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";
import type { DispatchSource } from "../core/source.js";

export interface RevertRequest {
  service: string;
  env: string;
  file: string;
  /** The failed change's commit and the default branch before it. */
  revision: string;
  base: string | undefined;
  from?: string;
  to?: string;
  reason: string;
  originalPr?: number;
  deploymentId: number;
  /** A person asked for it (`/rollback`), rather than a failed rollout. */
  requestedBy?: string;
  /** Where the image gone back to (`from`) came from, when a Deployment of it recorded that. */
  source?: DispatchSource;
  /** The repository's config: a service released blue-green or by canary goes back its own way. */
  config?: Config;
}

export type RevertOutcome =
  | { kind: "opened" | "updated"; pr: number; headSha: string }
  /** Nothing done; `pr` is the open revert PR that already restores the overlay, when that is why. */
  | { kind: "noop" | "impossible"; reason: string; pr?: number };

type Stopped = { kind: "noop" | "impossible"; reason: string; pr?: number };

export async function proposeRevert(
  services: Services,
  scope: RepoScope,
  request: RevertRequest,
): Promise<RevertOutcome> {
  const { workspace } = scope;
  const outcome = await publishEdit<Stopped>(services, scope, {
    service: request.service,
    what: `the revert of ${request.service} in ${request.env}`,
    plan: async (view): Promise<EditPlan<Stopped>> => {
      const plan = await planBack(services, scope, request, view.defaultSha);
      if (plan.kind !== "revert") return { kind: "stop", result: plan };
      const branch = revertBranchFor(request.env, request.service);
      const branchSha = await view.branchSha(branch);
      const open = branchSha ? await view.openPr(branch) : undefined;
      // Only a branch whose head is still Conveyor's signed commit counts as "already restoring":
      // one someone else pushed to is rebuilt (the push replaces it).
      const trusted = open !== undefined && prTrust(services, scope.gh.fullName, open).kind === "trusted";
      if (open && branchSha && trusted && (await holds(workspace, branchSha, plan.edits))) {
        // A PR opened before a failure between its creation and its labels gets them now: the
        // revert label is what keeps a revert from being promoted.
        const missing = [LABEL, envLabel(request.env), REVERT_LABEL].filter((l) => !open.labels.includes(l));
        if (missing.length) await scope.gh.issues.addLabels(open.number, missing);
        return {
          kind: "stop",
          result: { kind: "noop", reason: `revert PR #${open.number} already restores this overlay`, pr: open.number },
        };
      }
      const text = revertPrText({ ...request, from: plan.backTo, method: plan.method, web: scope.webUrl });
      const [first, ...more] = plan.edits as [FileEdit, ...FileEdit[]];
      return {
        kind: "edit",
        edit: {
          branch,
          branchSha,
          parent: view.defaultSha,
          file: first.path,
          text: first.text,
          more,
          message: text.commitMessage,
          pr: {
            existing: open?.number,
            title: text.title,
            body: () => text.body,
            labels: [LABEL, envLabel(request.env), REVERT_LABEL],
            // A revert moves the environment back: from the failed image to the one before it.
            state: {
              service: request.service,
              env: request.env,
              from: request.to ?? null,
              to: plan.backTo ?? "(previous overlay)",
              ...(plan.step ? { step: plan.step } : {}),
              ...(request.source ? { source: request.source } : {}),
            },
          },
        },
      };
    },
  });
  services.metrics.reverts.inc({ env: request.env, result: outcome.kind });
  return outcome;
}

type BackPlan =
  { kind: "revert"; edits: FileEdit[]; method: RevertMethod; backTo: string | undefined; step?: PrStep } | Stopped;

/**
 * How the overlay goes back. A service released blue-green switches back to the slot that kept
 * the old image; one released by canary puts the canary back (or stable, once it took the
 * image); any other has its overlay change reverted, or its previous image set again.
 */
async function planBack(
  services: Services,
  scope: RepoScope,
  request: RevertRequest,
  defaultSha: string,
): Promise<BackPlan> {
  const { workspace } = scope;
  const strategy = request.config ? strategyFor(request.config, request.service, request.env) : undefined;
  const env = request.config ? findEnvironment(request.config, request.env) : undefined;
  if (request.config && env && strategy && strategy.kind !== "image") {
    const dir = overlayDir(request.config, request.service, env);
    if (strategy.kind === "blueGreen") {
      const layout = await blueGreenLayoutAt(workspace, defaultSha, dir, strategy);
      if (!layout.ok) return { kind: "impossible", reason: layout.reason };
      const plan = planSwitchBack(strategy, layout.value, request.to, request.from);
      if (plan.kind !== "change") return plan;
      return { kind: "revert", edits: [plan.edit], method: "switch-back", backTo: plan.image, step: "switch" };
    }
    const layout = await canaryLayoutAt(workspace, defaultSha, dir, strategy);
    if (!layout.ok) return { kind: "impossible", reason: layout.reason };
    const plan = planTrackRollback(strategy, layout.value, request.to, request.from);
    if (plan.kind !== "change") return plan;
    return { kind: "revert", edits: plan.edits, method: plan.what, backTo: plan.image, step: plan.what };
  }
  // Overlays are YAML from the repository: read in the core pool, off the event loop.
  const plan = await services.cpu.run("planRevert", {
    before: request.base ? await workspace.readFile(request.base, request.file) : undefined,
    after: await workspace.readFile(request.revision, request.file),
    current: await workspace.readFile(defaultSha, request.file),
    previousImage: request.from,
  });
  if (plan.kind !== "revert") return plan;
  return {
    kind: "revert",
    edits: [{ path: request.file, text: plan.text }],
    method: plan.method,
    backTo: request.from,
  };
}

/** Does the branch already hold every edit? */
async function holds(workspace: RepoScope["workspace"], commit: string, edits: FileEdit[]): Promise<boolean> {
  for (const edit of edits) if ((await workspace.readFile(commit, edit.path)) !== edit.text) return false;
  return true;
}
