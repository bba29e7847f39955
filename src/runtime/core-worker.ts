// The worker thread of the core pool (core-pool.ts). The pure decisions that parse YAML a pull
// request or a push controls (kustomize output, kustomizations, overlays) run here, so however
// large or hostile the text, webhooks, the verification loop and /readyz keep being answered on
// the main thread. Jobs are core functions of one argument; inputs and results cross the thread
// boundary by structured clone (plain data, arrays, Maps: no functions, no class instances).
import { isMainThread, parentPort, workerData, type MessagePort } from "node:worker_threads";
import { planDeploy } from "../core/plan-deploy.js";
import { planRevert } from "../core/plan-revert.js";
import { analyzeOverlay } from "../core/render-report.js";
import { kustomizationRefs, referenceProblems } from "../core/render-scope.js";
import { readImages } from "../core/set-image.js";

export const coreJobs = {
  /** A render's output before and after, analysed (render-changes.ts). */
  analyzeOverlay,
  /** What kustomizations refer to, for finding the overlays a change affects (render-changes.ts). */
  kustomizationRefs,
  /** What the affected overlays' kustomizations must not fetch (render-changes.ts). */
  referenceProblems,
  /** What a deploy event changes in an overlay (propose-deploy.ts). */
  planDeploy,
  /** The images an overlay sets (verify-push.ts). */
  readImages,
  /** How a failed change is taken back (propose-revert.ts). */
  planRevert,
};

export type CoreJobs = typeof coreJobs;

/** What the pool sends: one job at a time per worker. */
export interface JobRequest {
  id: number;
  name: string;
  input: unknown;
}

/** What the worker answers: once `ready` when loaded, then one reply per request. */
export type WorkerMessage =
  | { kind: "ready" }
  | { kind: "done"; id: number; value: unknown }
  | { kind: "failed"; id: number; error: { name: string; message: string; stack?: string } };

function serve(port: MessagePort): void {
  port.on("message", (request: JobRequest) => {
    try {
      if (!Object.hasOwn(coreJobs, request.name)) throw new Error(`no core job named ${request.name}`);
      const job = coreJobs[request.name as keyof CoreJobs] as (input: unknown) => unknown;
      // A result that cannot be cloned fails here, and is reported like a job that threw.
      port.postMessage({ kind: "done", id: request.id, value: job(request.input) } satisfies WorkerMessage);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      port.postMessage({
        kind: "failed",
        id: request.id,
        error: { name: e.name, message: e.message, stack: e.stack },
      } satisfies WorkerMessage);
    }
  });
  port.postMessage({ kind: "ready" } satisfies WorkerMessage);
}

// Only a worker the pool started serves: importing this file elsewhere (for its types or job
// table) starts nothing.
if (!isMainThread && parentPort && (workerData as { conveyorCoreWorker?: boolean } | null)?.conveyorCoreWorker) {
  serve(parentPort);
}
