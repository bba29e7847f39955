import type { AppRuntime } from "./app-runtime.js";
import type { SimContext } from "./context.js";
import type { RenderedTarget } from "./git.js";
import { isObject } from "./json.js";
import {
  newRollout,
  podTemplateHash,
  rolloutHealth,
  rolloutSpec,
  rolloutStatus,
  type RolloutPhase,
} from "./objects.js";
import type { WorkloadProgress } from "./workloads.js";

/**
 * An Argo Rollouts canary, played through its setWeight and pause steps. The Rollout object is
 * served like any other, so its status is written as the Rollouts controller would, and the
 * app's health is read back from it with Argo CD's Rollout health rules rather than set directly.
 */
export class RolloutProgress implements WorkloadProgress {
  constructor(private readonly ctx: SimContext) {}

  initial(rt: AppRuntime, target: RenderedTarget, bad: boolean): void {
    const r = rt.rollout;
    if (!r) return;
    r.revision = 1;
    r.currentHash = podTemplateHash(target.images);
    // An aborted canary falls back to a stable ReplicaSet, which must then be of some older template.
    r.stableHash = bad ? podTemplateHash(["<previous>"]) : r.currentHash;
    this.ctx.store.create("rollouts", newRollout(r.identity, target.images, r.revision), "controller");
    this.write(rt, bad ? { kind: "aborted", revision: r.revision } : { kind: "healthy" }, false);
  }

  start(rt: AppRuntime, target: RenderedTarget, bad: boolean, epoch: number): () => void {
    this.applyTemplate(rt, target);
    return () => this.ctx.scheduler.run(this.drive(rt, bad, epoch));
  }

  private applyTemplate(rt: AppRuntime, target: RenderedTarget): void {
    const r = rt.rollout;
    if (!r) return;
    r.revision += 1;
    r.currentHash = podTemplateHash(target.images);
    const existing = this.ctx.store.get("rollouts", r.identity.namespace, r.identity.name);
    if (existing && isObject(existing.metadata)) {
      existing.spec = rolloutSpec(r.identity, target.images);
      existing.metadata.annotations = {
        ...(isObject(existing.metadata.annotations) ? existing.metadata.annotations : {}),
        "rollout.argoproj.io/revision": String(r.revision),
      };
      this.ctx.store.update("rollouts", existing, "controller");
    } else {
      this.ctx.store.create("rollouts", newRollout(r.identity, target.images, r.revision), "controller");
    }
    // The first status is picked up by the post-sync refresh, not published on its own.
    this.write(rt, { kind: "progressing", stepIndex: 0 }, false);
  }

  private async drive(rt: AppRuntime, bad: boolean, epoch: number): Promise<void> {
    const r = rt.rollout;
    if (!r) return;
    const current = (): boolean => !this.ctx.scheduler.closed && rt.epoch === epoch;
    const steps = r.identity.steps;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step?.setWeight !== undefined) {
        if (i > 0) this.write(rt, { kind: "progressing", stepIndex: i });
        await this.ctx.scheduler.sleep(bad ? this.ctx.timings.degradedAfterMs : this.ctx.timings.rolloutStepMs);
        if (!current()) return;
        if (bad) {
          this.write(rt, { kind: "aborted", revision: r.revision });
          return;
        }
      } else {
        this.write(rt, { kind: "paused", stepIndex: i });
        await this.ctx.scheduler.sleep(r.pauseMs);
        if (!current()) return;
      }
    }
    if (steps.length === 0) {
      await this.ctx.scheduler.sleep(bad ? this.ctx.timings.degradedAfterMs : this.ctx.timings.rolloutStepMs);
      if (!current()) return;
      if (bad) {
        this.write(rt, { kind: "aborted", revision: r.revision });
        return;
      }
    }
    r.stableHash = r.currentHash;
    this.write(rt, { kind: "healthy" });
  }

  private write(rt: AppRuntime, phase: RolloutPhase, publish = true): void {
    const r = rt.rollout;
    if (!r || this.ctx.scheduler.closed) return;
    const rollout = this.ctx.store.get("rollouts", r.identity.namespace, r.identity.name);
    if (!rollout || !isObject(rollout.metadata)) return;
    const previous = isObject(rollout.status) ? rollout.status : undefined;
    rollout.status = rolloutStatus(
      r.identity,
      previous,
      Number(rollout.metadata.generation ?? 1),
      r.currentHash,
      r.stableHash,
      phase,
    );
    const stored = this.ctx.store.update("rollouts", rollout, "controller");
    rt.health = rolloutHealth(stored);
    if (publish) this.ctx.status.publishHealth(rt);
  }
}
