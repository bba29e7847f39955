// Puts an image into an environment's overlay by PR: the shared path of deploy events,
// promotions and commands. Runs under the repo's queue so one process never races itself on a
// branch; a push rejected by another writer re-fetches and tries again a bounded number of times.
import type { Config } from "../core/config.js";
import type { DeployRequest } from "../core/dispatch.js";
import { discoverServices } from "../core/discover.js";
import { planDeploy, resolveTarget, type DeployPlan, type DeployTarget, type Rejection } from "../core/plan-deploy.js";
import type { GitWorkspace } from "../adapters/git-workspace.js";
import type { ManifestsRepo } from "../adapters/github.js";
import { serviceKey, type KeyedQueue } from "../runtime/keyed-queue.js";
import { metrics } from "../runtime/metrics.js";
import { renderSummaryForPr } from "./render-changes.js";

const PUSH_ATTEMPTS = 3;

export interface ProposeInput {
  repo: ManifestsRepo;
  workspace: GitWorkspace;
  queue: KeyedQueue;
  config: Config;
  defaultBranch: string;
  request: DeployRequest;
  mode: "dispatch" | "promotion";
  evidence?: string[];
  log: { info: (obj: object, msg?: string) => void };
}

export type ProposeOutcome =
  | Rejection
  | { kind: "noop"; reason: string; target?: DeployTarget }
  | { kind: "opened" | "updated"; pr: number; headSha: string; target: DeployTarget; image: string; superseded?: string };

export async function proposeDeploy(input: ProposeInput): Promise<ProposeOutcome> {
  const outcome = await propose(input);
  const env = "target" in outcome && outcome.target ? outcome.target.env : (input.request.environment ?? input.config.environments[0]?.name ?? "unknown");
  metrics.promotions.inc({ env, result: outcome.kind === "reject" ? "rejected" : outcome.kind });
  return outcome;
}

function propose(input: ProposeInput): Promise<ProposeOutcome> {
  const { repo, workspace, config, request } = input;
  return input.queue.run(serviceKey(repo.fullName, request.service), async () => {
    for (let attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++) {
      await workspace.sync();
      const defaultSha = await workspace.remoteBranch(input.defaultBranch);
      if (!defaultSha) throw new Error(`default branch ${input.defaultBranch} not found in ${repo.fullName}`);
      const known = discoverServices(await workspace.listFiles(defaultSha, "."), config);
      const resolved = resolveTarget(request, config, known, input.mode);
      if (resolved.kind === "reject") return resolved;
      const { target } = resolved;

      const branchSha = await workspace.remoteBranch(target.branch);
      const openPr = branchSha ? await repo.findOpenPr(target.branch) : undefined;
      const plan: DeployPlan = planDeploy({
        target,
        request,
        config,
        onDefault: await workspace.readFile(defaultSha, target.overlayFile),
        botBranch: branchSha
          ? { text: await workspace.readFile(branchSha, target.overlayFile), containsDefault: await workspace.isAncestor(defaultSha, branchSha) }
          : undefined,
        openPr,
        evidence: input.evidence,
      });
      if (plan.kind === "reject") return plan;
      if (plan.kind === "noop") return { ...plan, target };

      const parent = plan.base === "branch" ? (branchSha as string) : defaultSha;
      const commit = await workspace.commitFile({ parent, path: target.overlayFile, text: plan.text, message: plan.commitMessage });
      if (!(await workspace.pushBranch(target.branch, commit, branchSha))) {
        input.log.info({ attempt }, `push to ${target.branch} was rejected (someone else moved it); fetching and retrying`);
        continue;
      }

      // Promotion PRs, which a reviewer often merges, say what the change renders to (empty without
      // a renderer). Deploy-event PRs skip it to keep the dispatch path short; their
      // conveyor/render check carries the same summary and the full diff.
      const rendered = input.mode === "promotion" ? await renderSummaryForPr({ workspace, config, base: defaultSha, head: commit }) : "";
      const body = rendered ? `${plan.body}\n\n${rendered}` : plan.body;
      if (plan.existingPr !== undefined) {
        await repo.updatePr(plan.existingPr, { title: plan.title, body });
        if (plan.supersedes) {
          await repo.comment(plan.existingPr, `Updated to \`${plan.move.to}\`, superseding \`${plan.supersedes}\`.`);
        }
        input.log.info({ pr: plan.existingPr, image: plan.move.to, superseded: plan.supersedes }, "updated deploy PR");
        return { kind: "updated", pr: plan.existingPr, headSha: commit, target, image: plan.move.to, superseded: plan.supersedes };
      }
      const pr = await repo.createPr({ branch: target.branch, base: input.defaultBranch, title: plan.title, body, labels: plan.labels });
      input.log.info({ pr: pr.number, env: target.env, image: plan.move.to }, "opened deploy PR");
      return { kind: "opened", pr: pr.number, headSha: commit, target, image: plan.move.to };
    }
    throw new Error(`could not push ${request.service} after ${PUSH_ATTEMPTS} attempts: the branch kept moving`);
  }, repo.fullName);
}
