// Puts an image into an environment's overlay by PR: deploy events, promotions and commands all
// come here. What to change is core/plan-deploy.ts; getting it onto GitHub is publish-edit.
import type { Config } from "../core/config.js";
import type { DeployRequest, DispatchSource } from "../core/dispatch.js";
import { discoverServices } from "../core/discover.js";
import { behindReason } from "../core/changelog.js";
import { deployPrText, envLabel, LABEL } from "../core/pr-text.js";
import { resolveTarget, type DeployTarget, type Rejection } from "../core/plan-deploy.js";
import { prTrust } from "./pr-state.js";
import { publishEdit, type EditPlan } from "./publish-edit.js";
import { renderSummaryForPr } from "./render-changes.js";
import type { RepoScope } from "./repo-scope.js";
import type { Services } from "./services.js";
import { reportToSource } from "./report-to-source.js";
import { changelogFor, compareImages, type Provenance } from "./source-history.js";

export interface ProposeInput {
  config: Config;
  request: DeployRequest;
  mode: "dispatch" | "promotion";
  evidence?: string[];
}

export type ProposeOutcome =
  | Rejection
  | { kind: "noop"; reason: string; target?: DeployTarget; pr?: number }
  | {
      kind: "opened" | "updated";
      pr: number;
      headSha: string;
      target: DeployTarget;
      image: string;
      superseded?: string;
      /** Where the superseded image came from, as the open PR's signed marker said. */
      supersededSource?: DispatchSource;
    };

type Stopped = Rejection | { kind: "noop"; reason: string; target?: DeployTarget; pr?: number };

export async function proposeDeploy(
  services: Services,
  scope: RepoScope,
  input: ProposeInput,
): Promise<ProposeOutcome> {
  const outcome = await propose(services, scope, input);
  if (outcome.kind === "opened" || outcome.kind === "updated") {
    const report = { config: input.config, service: input.request.service, env: outcome.target.env, pr: outcome.pr };
    await reportToSource(services, scope, {
      ...report,
      image: outcome.image,
      source: input.request.source,
      stage: "pr-open",
    });
    // The commit the PR proposed before no longer goes there through it.
    if (outcome.superseded !== undefined && outcome.supersededSource?.sha !== input.request.source.sha)
      await reportToSource(services, scope, {
        ...report,
        image: outcome.superseded,
        source: outcome.supersededSource,
        stage: "superseded",
        reason: `by ${outcome.image}`,
      });
  }
  const env =
    "target" in outcome && outcome.target
      ? outcome.target.env
      : (input.request.environment ?? input.config.environments[0]?.name ?? "unknown");
  services.metrics.promotions.inc({ env, result: outcome.kind === "reject" ? "rejected" : outcome.kind });
  return outcome;
}

async function propose(services: Services, scope: RepoScope, input: ProposeInput): Promise<ProposeOutcome> {
  const { workspace } = scope;
  const { config, request } = input;
  let planned:
    { target: DeployTarget; image: string; superseded?: string; supersededSource?: DispatchSource } | undefined;
  let provenance: Provenance | undefined;
  const published = await publishEdit<Stopped>(services, scope, {
    service: request.service,
    what: request.service,
    plan: async (view): Promise<EditPlan<Stopped>> => {
      const known = discoverServices(await workspace.listFiles(view.defaultSha, "."), config);
      const resolved = resolveTarget(request, config, known, input.mode);
      if (resolved.kind === "reject") return { kind: "stop", result: resolved };
      const { target } = resolved;
      const branchSha = await view.branchSha(target.branch);
      const openPr = branchSha ? await view.openPr(target.branch) : undefined;
      // Build on the bot branch only while its head is the commit Conveyor signed for; a branch
      // someone else pushed to is re-planned from the default branch (and the push replaces it).
      const trustedOpen =
        branchSha !== undefined && openPr !== undefined ? prTrust(services, scope.gh.fullName, openPr) : undefined;
      const trusted = trustedOpen?.kind === "trusted";
      // Overlays are YAML from the repository: read in the core pool, off the event loop.
      const plan = await services.cpu.run("planDeploy", {
        target,
        request,
        config,
        onDefault: await workspace.readFile(view.defaultSha, target.overlayFile),
        botBranch:
          trusted && branchSha !== undefined
            ? {
                text: await workspace.readFile(branchSha, target.overlayFile),
                containsDefault: await workspace.isAncestor(view.defaultSha, branchSha),
              }
            : undefined,
        openPr,
        evidence: input.evidence,
        web: scope.webUrl,
      });
      if (plan.kind === "reject") return { kind: "stop", result: plan };
      if (plan.kind === "change") {
        // Order by commit too: a build whose commit is behind what runs (or is proposed) is refused.
        const move = plan.move;
        provenance = await compareImages(services, scope, { ...move, toSource: move.source });
        const proposedSource = trustedOpen?.kind === "trusted" ? trustedOpen.state.source : undefined;
        const checks: Array<[string, string | undefined, Provenance | undefined]> = [
          [target.env, move.from, provenance],
          [
            "the open PR",
            plan.supersedes,
            plan.supersedes !== undefined && proposedSource
              ? await compareImages(services, scope, {
                  ...move,
                  from: plan.supersedes,
                  fromSource: proposedSource,
                  toSource: move.source,
                })
              : undefined,
          ],
        ];
        for (const [where, current, compared] of checks) {
          if (current === undefined || compared?.history?.kind !== "compared" || !compared.fromSource) continue;
          const reason = behindReason({
            image: move.to,
            source: move.source,
            current,
            currentSource: compared.fromSource,
            where,
            comparison: compared.history.comparison,
          });
          if (reason)
            return {
              kind: "stop",
              result: {
                kind: "reject",
                code: "older-version",
                reason,
                service: target.service,
                source: request.source,
              },
            };
        }
      }
      if (plan.kind === "noop") {
        // A PR opened before a failure between its creation and its labels gets them now.
        if (openPr && plan.pr !== undefined) await ensureLabels(scope, openPr.number, openPr.labels, target);
        return { kind: "stop", result: { ...plan, target } };
      }
      const supersededSource = trustedOpen?.kind === "trusted" ? trustedOpen.state.source : undefined;
      planned = {
        target,
        image: plan.move.to,
        superseded: plan.supersedes,
        ...(plan.supersedes !== undefined && supersededSource ? { supersededSource } : {}),
      };
      return {
        kind: "edit",
        edit: {
          branch: target.branch,
          branchSha,
          parent: plan.base === "branch" ? (branchSha as string) : view.defaultSha,
          file: target.overlayFile,
          text: plan.text,
          message: plan.commitMessage,
          pr: {
            existing: plan.existingPr,
            title: plan.title,
            state: {
              service: plan.move.service,
              env: plan.move.env,
              from: plan.move.from ?? null,
              to: plan.move.to,
              source: plan.move.source,
            },
            labels: plan.labels,
            updateComment: plan.supersedes
              ? `Updated to \`${plan.move.to}\`, superseding \`${plan.supersedes}\`.`
              : undefined,
            // Promotion PRs, which a reviewer often merges, say what the change renders to (empty
            // without a renderer). Deploy-event PRs skip it to keep the dispatch path short; their
            // conveyor/render check carries the same summary and the full diff.
            body: async (commit) => {
              // What the PR carries: the source repository's commits since what runs there now.
              const changelog = provenance ? await changelogFor(scope, provenance, plan.move) : undefined;
              const { body } = deployPrText(plan.move, config, {
                evidence: input.evidence,
                web: scope.webUrl,
                changelog,
              });
              const rendered =
                input.mode === "promotion"
                  ? await renderSummaryForPr({
                      workspace,
                      config,
                      base: view.defaultSha,
                      head: commit,
                      renderer: services.renderer,
                      cpu: services.cpu,
                    })
                  : "";
              return rendered ? `${body}\n\n${rendered}` : body;
            },
          },
        },
      };
    },
  });
  if (!("headSha" in published)) return published;
  const done = planned as NonNullable<typeof planned>;
  scope.log.info(
    { pr: published.pr, env: done.target.env, image: done.image, superseded: done.superseded },
    `${published.kind} deploy PR`,
  );
  return { ...published, ...done };
}

async function ensureLabels(scope: RepoScope, pr: number, has: string[], target: DeployTarget): Promise<void> {
  const missing = [LABEL, envLabel(target.env)].filter((l) => !has.includes(l));
  if (missing.length) await scope.gh.issues.addLabels(pr, missing);
}
