// Puts an image into an environment's overlay by PR: deploy events, promotions and commands all
// come here. What to change is core/plan-deploy.ts; getting it onto GitHub is publish-edit.
import { findEnvironment, overlayDir, type Config } from "../core/config.js";
import type { GitWorkspace } from "../adapters/git-workspace.js";
import { planBlueGreenRelease, planBlueGreenSwitch, type StepPr, type Stop } from "../core/plan-blue-green.js";
import { planCanaryPromotion, planCanaryRelease } from "../core/plan-canary.js";
import { strategyFor, strategyKindFor, type Slot } from "../core/strategy.js";
import type { FileEdit } from "../core/blue-green.js";
import { blueGreenLayoutAt, canaryLayoutAt } from "./overlay-patches.js";
import type { DeployRequest, DispatchSource } from "../core/dispatch.js";
import { discoverServices } from "../core/discover.js";
import { behindReason } from "../core/changelog.js";
import { branchFor, deployPrText, envLabel, LABEL, revertBranchFor, withSourceLines } from "../core/pr-text.js";
import { resolveTarget, type DeployTarget, type Rejection } from "../core/plan-deploy.js";
import type { PullRequestSummary } from "../adapters/github/pull-requests.js";
import { prTrust } from "./pr-state.js";
import { publishEdit, type Edit, type EditPlan } from "./publish-edit.js";
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

/**
 * The services a commit's layout names. A burst of deploys reads the same main: its thousands of
 * paths are matched once, not once per deploy. Keyed by what discovery reads of the config.
 */
async function servicesAt(workspace: GitWorkspace, commit: string, config: Config): Promise<Set<string>> {
  const key = [
    workspace.dir,
    commit,
    config.discover,
    ...config.environments.map((e) => `${e.name}=${e.path}`),
    "\0",
    ...Object.keys(config.services),
  ].join("\n");
  const known = servicesSeen.get(key);
  if (known) return known;
  const found = discoverServices(await workspace.listFiles(commit, "."), config);
  servicesSeen.set(key, found);
  if (servicesSeen.size > 16) servicesSeen.delete(servicesSeen.keys().next().value as string);
  return found;
}
const servicesSeen = new Map<string, Set<string>>();

export async function proposeDeploy(
  services: Services,
  scope: RepoScope,
  input: ProposeInput,
): Promise<ProposeOutcome> {
  // Accepted, its PR being made: the service repository hears it without holding up the queue.
  const outcome = await propose(services, scope, input, ({ target, image }) =>
    services.background.start("source-view", scope.log, () =>
      reportToSource(services, scope, {
        config: input.config,
        service: input.request.service,
        env: target.env,
        image,
        source: input.request.source,
        stage: "queued",
      }),
    ),
  );
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

async function propose(
  services: Services,
  scope: RepoScope,
  input: ProposeInput,
  accepted: (planned: { target: DeployTarget; image: string }) => void,
): Promise<ProposeOutcome> {
  const { workspace } = scope;
  const { config, request } = input;
  let planned:
    { target: DeployTarget; image: string; superseded?: string; supersededSource?: DispatchSource } | undefined;
  let provenance: Provenance | undefined;
  const published = await publishEdit<Stopped>(services, scope, {
    service: request.service,
    what: request.service,
    onEdit: () => planned && accepted(planned),
    plan: async (view): Promise<EditPlan<Stopped>> => {
      const known = await servicesAt(workspace, view.defaultSha, config);
      const resolved = resolveTarget(request, config, known, input.mode);
      if (resolved.kind === "reject") return { kind: "stop", result: resolved };
      const { target } = resolved;
      const branchSha = await view.branchSha(target.branch);
      const openPr = branchSha ? await view.openPr(target.branch) : undefined;
      if (target.strategy !== undefined) {
        // A blue-green switch back touches only the Service: merged after a new image reached the
        // slot it switches to, it would serve that image untested. So no release while it is open.
        const revertBranch = revertBranchFor(target.env, target.service);
        const rollback = (await view.branchSha(revertBranch)) ? await view.openPr(revertBranch) : undefined;
        if (rollback)
          return {
            kind: "stop",
            result: {
              kind: "reject",
              code: "rollback-in-progress",
              reason: `the rollback of ${target.service} in ${target.env} (#${rollback.number}) is still open; deploy once it is merged or closed`,
              service: target.service,
              source: request.source,
            },
          };
        const stepPlan = await planStep(workspace, view.defaultSha, config, target, { release: request });
        if (stepPlan.kind !== "change") return { kind: "stop", result: stepPlan };
        const proposed = alreadyProposed(services, scope, openPr, branchSha, stepPlan, target);
        if (proposed) return { kind: "stop", result: proposed };
        planned = { target, image: stepPlan.to };
        const body = stepBody(services, scope, stepPlan, target, request.source);
        const edit = stepEdit(stepPlan, target, branchSha, view.defaultSha, openPr?.number, request.source, body);
        return { kind: "edit", edit };
      }
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
                      headTrusted: true,
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

/**
 * PR 2 of a blue-green release: the Service switched to `to`, once that slot was verified. Safe
 * to repeat: a switch already made (or proposed by the open PR) is a noop.
 */
export function proposeSwitch(
  services: Services,
  scope: RepoScope,
  input: { config: Config; service: string; env: string; to: Slot; source?: DispatchSource },
): Promise<ProposeOutcome> {
  return proposeStep(services, scope, { ...input, want: { switchTo: input.to } });
}

/**
 * PR 2 of a canary release: the stable Deployment takes `image` and the canary goes idle, once
 * the canary was verified. Safe to repeat like proposeSwitch.
 */
export function proposeStable(
  services: Services,
  scope: RepoScope,
  input: { config: Config; service: string; env: string; image: string; source?: DispatchSource },
): Promise<ProposeOutcome> {
  return proposeStep(services, scope, { ...input, want: { stable: input.image } });
}

type Want = { release: DeployRequest } | { switchTo: Slot } | { stable: string };

/** The second step of a strategy release, in the environment its first step was verified in. */
async function proposeStep(
  services: Services,
  scope: RepoScope,
  input: { config: Config; service: string; env: string; want: Want; source?: DispatchSource },
): Promise<ProposeOutcome> {
  const { config } = input;
  const env = findEnvironment(config, input.env);
  const strategy = strategyKindFor(config, input.service, input.env);
  const target: DeployTarget = {
    service: input.service,
    env: input.env,
    overlayFile: env ? `${overlayDir(config, input.service, env)}/kustomization.yaml` : "",
    branch: branchFor(input.env, input.service),
    ...(strategy !== "image" ? { strategy } : {}),
  };
  let planned: { target: DeployTarget; image: string } | undefined;
  const published = await publishEdit<Stopped>(services, scope, {
    service: input.service,
    what: `the next step of ${input.service} in ${input.env}`,
    plan: async (view): Promise<EditPlan<Stopped>> => {
      const branchSha = await view.branchSha(target.branch);
      const openPr = branchSha ? await view.openPr(target.branch) : undefined;
      const stepPlan = await planStep(scope.workspace, view.defaultSha, config, target, input.want);
      if (stepPlan.kind !== "change") return { kind: "stop", result: stepPlan };
      const proposed = alreadyProposed(services, scope, openPr, branchSha, stepPlan, target);
      if (proposed) return { kind: "stop", result: proposed };
      planned = { target, image: stepPlan.to };
      const body = stepBody(services, scope, stepPlan, target, input.source);
      const edit = stepEdit(stepPlan, target, branchSha, view.defaultSha, openPr?.number, input.source, body);
      return { kind: "edit", edit };
    },
  });
  if (!("headSha" in published)) return published;
  const done = planned as NonNullable<typeof planned>;
  scope.log.info({ pr: published.pr, env: input.env, want: input.want }, `${published.kind} ${strategy} step PR`);
  return { ...published, ...done };
}

/** The open PR, when Conveyor signed it for this very step and image (a repeated event). */
function alreadyProposed(
  services: Services,
  scope: RepoScope,
  openPr: PullRequestSummary | undefined,
  branchSha: string | undefined,
  plan: StepPr,
  target: DeployTarget,
): Stopped | undefined {
  if (!openPr || openPr.headSha !== branchSha) return undefined;
  const trust = prTrust(services, scope.gh.fullName, openPr);
  if (trust.kind !== "trusted" || trust.state.step !== plan.step || trust.state.to !== plan.to) return undefined;
  return { kind: "noop", reason: `PR #${openPr.number} already proposes this`, target, pr: openPr.number };
}

/** A blue-green or canary step planned over the overlay's patch files on the default branch. */
async function planStep(
  workspace: RepoScope["workspace"],
  defaultSha: string,
  config: Config,
  target: DeployTarget,
  want: Want,
): Promise<StepPr | Stopped> {
  const strategy = strategyFor(config, target.service, target.env);
  const env = findEnvironment(config, target.env);
  const reject = (code: Rejection["code"], reason: string): Rejection => ({
    kind: "reject",
    code,
    reason,
    service: target.service,
    source: "release" in want ? want.release.source : {},
  });
  const stop = (plan: StepPr | Stop): StepPr | Stopped =>
    plan.kind === "reject" ? reject(plan.code, plan.reason) : plan.kind === "noop" ? { ...plan, target } : plan;
  if (!env) return { kind: "noop", reason: `there is no environment ${target.env}`, target };
  const dir = overlayDir(config, target.service, env);
  const common = { config, service: target.service, env: target.env };
  if (strategy.kind === "blueGreen" && !("stable" in want)) {
    const layout = await blueGreenLayoutAt(workspace, defaultSha, dir, strategy);
    if (!layout.ok) return reject("invalid-overlay", layout.reason);
    const input = { ...common, strategy, layout: layout.value };
    return stop(
      "release" in want
        ? planBlueGreenRelease({ ...input, request: want.release })
        : planBlueGreenSwitch({ ...input, to: want.switchTo }),
    );
  }
  if (strategy.kind === "canary" && !("switchTo" in want)) {
    const layout = await canaryLayoutAt(workspace, defaultSha, dir, strategy);
    if (!layout.ok) return reject("invalid-overlay", layout.reason);
    const input = { ...common, strategy, layout: layout.value };
    return stop(
      "release" in want
        ? planCanaryRelease({ ...input, request: want.release })
        : planCanaryPromotion({ ...input, image: want.stable }),
    );
  }
  return {
    kind: "noop",
    reason: `${target.service} is released by ${strategy.kind} in ${target.env}, which has no such step`,
    target,
  };
}

/** The edit of one strategy step: built from the default branch, replacing what the branch held. */
function stepEdit(
  plan: StepPr,
  target: DeployTarget,
  branchSha: string | undefined,
  defaultSha: string,
  existing: number | undefined,
  source: DispatchSource | undefined,
  body: () => Promise<string>,
): Edit {
  return {
    branch: target.branch,
    branchSha,
    parent: defaultSha,
    file: (plan.edits[0] as FileEdit).path,
    text: (plan.edits[0] as FileEdit).text,
    more: plan.edits.slice(1),
    message: plan.commitMessage,
    pr: {
      existing,
      title: plan.title,
      state: {
        service: target.service,
        env: target.env,
        from: plan.from ?? null,
        to: plan.to,
        step: plan.step,
        ...(source ? { source } : {}),
      },
      labels: plan.labels,
      updateComment: existing !== undefined ? `Updated: ${plan.title}.` : undefined,
      body,
    },
  };
}

/**
 * A strategy step's PR body says where its image came from, as a deploy PR does; PR 1 (the idle
 * slot or the canary) also lists the source commits since the image served now (the release's
 * changelog).
 */
function stepBody(
  services: Services,
  scope: RepoScope,
  plan: StepPr,
  target: DeployTarget,
  source: DispatchSource | undefined,
): () => Promise<string> {
  return async () => {
    if (!source) return plan.body;
    const move = { service: target.service, env: target.env, from: plan.live, to: plan.to };
    const provenance =
      plan.step === "idle" || plan.step === "canary"
        ? await compareImages(services, scope, { ...move, toSource: source })
        : undefined;
    const changelog = provenance ? await changelogFor(scope, provenance, move) : undefined;
    return withSourceLines(plan.body, source, { web: scope.webUrl, changelog });
  };
}

async function ensureLabels(scope: RepoScope, pr: number, has: string[], target: DeployTarget): Promise<void> {
  const missing = [LABEL, envLabel(target.env)].filter((l) => !has.includes(l));
  if (missing.length) await scope.gh.issues.addLabels(pr, missing);
}
