// Opens (or refreshes) the revert PR for a failed change. One revert branch per (service,
// environment), so repeated failures or redelivered events never produce a second revert.
import { planRevert } from "../core/plan-revert.js";
import { envLabel, LABEL, REVERT_LABEL, revertBranchFor } from "../core/pr-text.js";
import { revertPrText } from "../core/verification-text.js";
import type { GitWorkspace } from "../adapters/git-workspace.js";
import type { ManifestsRepo } from "../adapters/github.js";
import { serviceKey, type KeyedQueue } from "../runtime/keyed-queue.js";
import { metrics } from "../runtime/metrics.js";

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
}

export type RevertOutcome = { kind: "opened" | "updated"; pr: number; headSha: string } | { kind: "noop" | "impossible"; reason: string };

type RevertInput = { repo: ManifestsRepo; workspace: GitWorkspace; queue: KeyedQueue; defaultBranch: string; request: RevertRequest };

export async function proposeRevert(input: RevertInput): Promise<RevertOutcome> {
  const outcome = await revert(input);
  metrics.reverts.inc({ env: input.request.env, result: outcome.kind });
  return outcome;
}

function revert(input: RevertInput): Promise<RevertOutcome> {
  const { repo, workspace, request } = input;
  return input.queue.run(serviceKey(repo.fullName, request.service), async () => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      await workspace.sync();
      const head = await workspace.remoteBranch(input.defaultBranch);
      if (!head) throw new Error(`default branch ${input.defaultBranch} not found`);
      const plan = planRevert({
        before: request.base ? await workspace.readFile(request.base, request.file) : undefined,
        after: await workspace.readFile(request.revision, request.file),
        current: await workspace.readFile(head, request.file),
        previousImage: request.from,
      });
      if (plan.kind !== "revert") return plan;

      const branch = revertBranchFor(request.env, request.service);
      const branchSha = await workspace.remoteBranch(branch);
      const open = branchSha ? await repo.findOpenPr(branch) : undefined;
      if (open && branchSha && (await workspace.readFile(branchSha, request.file)) === plan.text) {
        return { kind: "noop", reason: `revert PR #${open.number} already restores this overlay` };
      }
      const text = revertPrText({ ...request, method: plan.method });
      const commit = await workspace.commitFile({ parent: head, path: request.file, text: plan.text, message: text.commitMessage });
      if (!(await workspace.pushBranch(branch, commit, branchSha))) continue;
      if (open) {
        await repo.updatePr(open.number, { title: text.title, body: text.body });
        return { kind: "updated", pr: open.number, headSha: commit };
      }
      const pr = await repo.createPr({ branch, base: input.defaultBranch, title: text.title, body: text.body, labels: [LABEL, envLabel(request.env), REVERT_LABEL] });
      return { kind: "opened", pr: pr.number, headSha: commit };
    }
    throw new Error(`could not push the revert of ${request.service} in ${request.env}: the branch kept moving`);
  }, repo.fullName);
}
