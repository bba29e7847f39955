// Acting on a verdict: Deployment status, PR comments, the promotion PR to the next environment
// (auto-merged where policy allows), or the revert PR plus a hold.
import type { Probot } from "probot";
import { nextEnvironment, type Config } from "../core/config.js";
import { parseImageRef } from "../core/image-ref.js";
import { FREEZE_LABEL, HOLD_LABEL, REVERT_LABEL } from "../core/pr-text.js";
import { failedComment, verifiedComment } from "../core/verification-text.js";
import { Deployments, ManifestsRepo, type Octokit } from "../adapters/github.js";
import type { Verification, VerificationOutcomes } from "../runtime/verifier.js";
import { freezeMarker, holdMarker } from "./auto-merge.js";
import { readConfig } from "./load-config.js";
import { proposeDeploy } from "./propose-deploy.js";
import { proposeRevert } from "./propose-revert.js";
import type { AppServices } from "./services.js";

export function verificationOutcomes(app: Probot, services: AppServices): VerificationOutcomes {
  const session = async (v: Verification) => {
    const octokit = (await app.auth(v.repo.installationId)) as Octokit;
    const ref = { owner: v.repo.owner, repo: v.repo.repo };
    const repo = new ManifestsRepo(octokit, ref);
    const workspace = services.workspaces.get(repo.fullName, v.repo.cloneUrl).useToken(async () => {
      const auth = (await octokit.auth({ type: "installation" })) as { token?: string };
      return auth.token;
    });
    const log = app.log.child({ repo: repo.fullName, service: v.service, env: v.env, deployment: v.deploymentId });
    return { octokit, ref, repo, workspace, log, deployments: new Deployments(octokit, ref) };
  };

  return {
    async verified(v, verdict) {
      const s = await session(v);
      // The Deployment status first: it is what people and tools watch.
      await s.deployments.setStatus(v.deploymentId, "success", "Synced, healthy and stable");
      const config = await readConfig(s.octokit, s.ref);
      const isRevert = v.pr?.labels.includes(REVERT_LABEL) ?? false;
      const next = config ? nextEnvironment(config, v.env) : undefined;
      let nextInfo: { env: string; pr?: number; note?: string } | undefined;
      if (next && config) {
        nextInfo = isRevert ? { env: next.name, note: "this was a revert, which is not promoted" } : { env: next.name, ...(await promote(v, config, next.name, s)) };
      }
      if (v.pr) {
        await s.repo.comment(
          v.pr.number,
          verifiedComment({
            service: v.service,
            env: v.env,
            app: v.app.name,
            image: v.to,
            timeline: { merged: v.startedAt, synced: verdict.evidence.operationFinishedAt, healthy: verdict.evidence.healthySince, verified: verdict.at },
            next: nextInfo,
          }),
        );
      }

      async function promote(v: Verification, config: Config, env: string, s: Awaited<ReturnType<typeof session>>): Promise<{ pr?: number; note?: string }> {
        const image = v.to ? parseImageRef(v.to) : undefined;
        if (!image?.ok) return { note: "the verified overlay has no single image to promote" };
        const { data: freezes } = await s.octokit.rest.issues.listForRepo({ ...s.ref, state: "open", labels: FREEZE_LABEL, per_page: 100 });
        const freeze = freezes.find((i) => (i.body ?? "").includes(`<!-- ${freezeMarker(env)} -->`));
        if (freeze) return { note: `${env} is frozen (#${freeze.number}); no promotion until /unhold ${env}` };
        const outcome = await proposeDeploy({
          repo: s.repo,
          workspace: s.workspace,
          queue: services.queue,
          config,
          defaultBranch: v.repo.defaultBranch,
          request: { service: v.service, environment: env, image: image.value, source: {} },
          mode: "promotion",
          evidence: [`Verified in **${v.env}**: synced, healthy and stable (deployment ${v.deploymentId}${v.pr ? `, #${v.pr.number}` : ""}).`],
          log: s.log,
        });
        // Merging, where policy allows, follows from the PR's own pull_request event.
        if (outcome.kind === "reject" || outcome.kind === "noop") return { note: outcome.reason };
        return { pr: outcome.pr };
      }
    },

    async failed(v, verdict) {
      const s = await session(v);
      await s.deployments.setStatus(v.deploymentId, "failure", verdict.reason);
      const config = await readConfig(s.octokit, s.ref);
      let revert: { pr?: number; note?: string } = { note: "No revert PR was opened: the config could not be read." };
      if (config?.rollback.auto) {
        const outcome = await proposeRevert({
          repo: s.repo,
          workspace: s.workspace,
          queue: services.queue,
          defaultBranch: v.repo.defaultBranch,
          request: { service: v.service, env: v.env, file: v.file, revision: v.revision, base: v.base, from: v.from, to: v.to, reason: verdict.reason, originalPr: v.pr?.number, deploymentId: v.deploymentId },
        });
        if (outcome.kind === "opened" || outcome.kind === "updated") {
          revert = { pr: outcome.pr };
        } else {
          revert = { note: `No revert PR: ${"reason" in outcome ? outcome.reason : outcome.kind}.` };
        }
      } else if (config) {
        revert = { note: "No revert PR was opened (rollback.auto is off)." };
      }
      if (v.to && !(v.pr?.labels.includes(REVERT_LABEL) ?? false)) {
        await s.repo.upsertIssue({
          label: HOLD_LABEL,
          marker: holdMarker(v.service, v.env),
          title: `Conveyor: ${v.service} is held in ${v.env}`,
          body: `The rollout of ${v.service} in **${v.env}** failed: ${verdict.reason}\n\nheld image: \`${v.to}\`\n\nNothing is merged automatically for ${v.service} in ${v.env} with this image until a newer image arrives or someone comments \`/unhold\` here.`,
        });
      }
      if (v.pr) {
        await s.repo.comment(v.pr.number, failedComment({ service: v.service, env: v.env, app: v.app.name, author: v.pr.author, reason: verdict.reason, revert }));
      }
    },

    async superseded(v, by) {
      const s = await session(v);
      await s.deployments.setStatus(v.deploymentId, "inactive", `Superseded by ${by.slice(0, 12)}`);
    },
  };
}
