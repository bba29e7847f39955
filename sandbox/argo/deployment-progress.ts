import type { AppRuntime } from "./app-runtime.js";
import type { SimContext } from "./context.js";
import type { RenderedTarget } from "./git.js";
import type { Health } from "./objects.js";
import type { WorkloadProgress } from "./workloads.js";

/** What Argo CD's Deployment health check reports once a failing image misses the progress deadline. */
function deadlineExceeded(rt: AppRuntime): Health {
  return { status: "Degraded", message: `Deployment "${rt.identity.workloadName}" exceeded its progress deadline` };
}

/**
 * A plain Deployment: there is no object to drive, only the health Argo CD would compute for it,
 * Progressing until its new pods are available (Healthy) or the progress deadline passes (Degraded).
 */
export class DeploymentProgress implements WorkloadProgress {
  constructor(private readonly ctx: SimContext) {}

  initial(rt: AppRuntime, _target: RenderedTarget, bad: boolean): void {
    rt.health = bad ? deadlineExceeded(rt) : { status: "Healthy" };
  }

  start(rt: AppRuntime, _target: RenderedTarget, bad: boolean, epoch: number): () => void {
    rt.health = {
      status: "Progressing",
      message: `Waiting for rollout to finish: 0 of 1 updated replicas are available...`,
    };
    return () =>
      this.ctx.scheduler.later(bad ? this.ctx.timings.degradedAfterMs : this.ctx.timings.progressingMs, () => {
        if (rt.epoch !== epoch) return;
        rt.health = bad ? deadlineExceeded(rt) : { status: "Healthy" };
        this.ctx.status.publishHealth(rt);
      });
  }
}
