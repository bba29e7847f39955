// Opens (or refreshes) the revert PR for a failed change. One revert branch per (service,
// environment), so repeated failures or redelivered events never produce a second revert.
import { envLabel, LABEL, REVERT_LABEL, revertBranchFor } from "../core/pr-text.js";
import { revertPrText } from "../core/verification-text.js";
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
      // Overlays are YAML from the repository: read in the core pool, off the event loop.
      const plan = await services.cpu.run("planRevert", {
        before: request.base ? await workspace.readFile(request.base, request.file) : undefined,
        after: await workspace.readFile(request.revision, request.file),
        current: await workspace.readFile(view.defaultSha, request.file),
        previousImage: request.from,
      });
      if (plan.kind !== "revert") return { kind: "stop", result: plan };
      const branch = revertBranchFor(request.env, request.service);
      const branchSha = await view.branchSha(branch);
      const open = branchSha ? await view.openPr(branch) : undefined;
      // Only a branch whose head is still Conveyor's signed commit counts as "already restoring":
      // one someone else pushed to is rebuilt (the push replaces it).
      const trusted = open !== undefined && prTrust(services, scope.gh.fullName, open).kind === "trusted";
      if (open && branchSha && trusted && (await workspace.readFile(branchSha, request.file)) === plan.text) {
        // A PR opened before a failure between its creation and its labels gets them now: the
        // revert label is what keeps a revert from being promoted.
        const missing = [LABEL, envLabel(request.env), REVERT_LABEL].filter((l) => !open.labels.includes(l));
        if (missing.length) await scope.gh.issues.addLabels(open.number, missing);
        return {
          kind: "stop",
          result: { kind: "noop", reason: `revert PR #${open.number} already restores this overlay`, pr: open.number },
        };
      }
      const text = revertPrText({ ...request, method: plan.method, web: scope.webUrl });
      return {
        kind: "edit",
        edit: {
          branch,
          branchSha,
          parent: view.defaultSha,
          file: request.file,
          text: plan.text,
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
              to: request.from ?? "(previous overlay)",
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
