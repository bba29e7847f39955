import type { AppRuntime } from "./app-runtime.js";
import type { SimContext } from "./context.js";
import { DeploymentProgress } from "./deployment-progress.js";
import type { RenderedTarget } from "./git.js";
import { deepEqual } from "./json.js";
import { PatchDeployments } from "./patch-workloads.js";
import { RolloutProgress } from "./rollout-progress.js";

/** How one kind of workload behaves once Argo CD has applied it. */
export interface WorkloadProgress {
  /** The state the simulator starts in: the app was deployed before it came up. */
  initial(rt: AppRuntime, target: RenderedTarget, bad: boolean): void;
  /**
   * New pods start now. Returns the rest of the progress, which the caller runs once the
   * post-sync refresh has reported the start: Argo CD only re-assesses health on a refresh.
   */
  start(rt: AppRuntime, target: RenderedTarget, bad: boolean, epoch: number): () => void;
}

/** The simulated cluster's side of a deploy: which workload kind runs it, and whether its image fails. */
export class Workloads {
  private readonly failurePattern: RegExp;
  private readonly deployments: WorkloadProgress;
  private readonly rollouts: WorkloadProgress;
  private readonly patchDeployments: PatchDeployments;

  constructor(ctx: SimContext, failurePattern: RegExp | undefined) {
    const pattern = failurePattern ?? /bad/;
    // test() with g or y is stateful (lastIndex): the same tag must fail every time.
    this.failurePattern = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
    this.deployments = new DeploymentProgress(ctx);
    this.rollouts = new RolloutProgress(ctx);
    this.patchDeployments = new PatchDeployments(ctx, (tags) => tags.some((tag) => this.failurePattern.test(tag)));
  }

  initial(rt: AppRuntime, target: RenderedTarget): void {
    if (target.workloads && !rt.rollout) return this.patchDeployments.initial(rt, target.workloads);
    this.progressOf(rt).initial(rt, target, this.isBad(target));
  }

  /** A sync applied `target`; only a changed pod template (images) starts new pods. */
  apply(rt: AppRuntime, previousImages: string[] | undefined, target: RenderedTarget, epoch: number): () => void {
    if (!target.workloads) {
      delete rt.workloadHealth;
      delete rt.workloadImages;
    }
    if (previousImages && deepEqual(previousImages, target.images)) return () => undefined;
    if (target.workloads && !rt.rollout) return this.patchDeployments.start(rt, target.workloads, epoch);
    return this.progressOf(rt).start(rt, target, this.isBad(target), epoch);
  }

  private progressOf(rt: AppRuntime): WorkloadProgress {
    return rt.rollout ? this.rollouts : this.deployments;
  }

  private isBad(target: RenderedTarget): boolean {
    return target.tags.some((tag) => this.failurePattern.test(tag));
  }
}
