// Deployments whose image an overlay sets in a patch file (blue-green slots, canary tracks), as
// the simulator sees them: each one is a workload of its own, with its own health, the way
// Argo CD reports every Deployment in status.resources[].health. An overlay that sets images only
// through `images:` has none, and the app keeps its single workload.
import { posix } from "node:path";
import { parse } from "yaml";
import type { AppRuntime } from "./app-runtime.js";
import type { SimContext } from "./context.js";
import { isObject, type JsonObject } from "./json.js";
import { healthJson, worstHealth, type Health } from "./objects.js";

export interface PatchWorkload {
  name: string;
  images: string[];
  /** The tag (or digest) of each image, what the failure pattern is matched against. */
  tags: string[];
}

/** The patch files a kustomization lists (`patches[].path`, `patchesStrategicMerge`) inside its directory. */
export function patchPaths(dir: string, kustomization: unknown): string[] {
  if (!isObject(kustomization)) return [];
  const names: unknown[] = [];
  if (Array.isArray(kustomization.patches))
    for (const entry of kustomization.patches) if (isObject(entry)) names.push(entry.path);
  if (Array.isArray(kustomization.patchesStrategicMerge)) names.push(...kustomization.patchesStrategicMerge);
  return names
    .filter((name): name is string => typeof name === "string" && !name.includes("\n"))
    .map((name) => posix.normalize(posix.join(dir, name)))
    .filter((path) => path.startsWith(`${dir}/`));
}

/** The Deployment a patch file sets images of, if it is one. */
export function patchWorkload(text: string): PatchWorkload | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(doc) || doc.kind !== "Deployment" || !isObject(doc.metadata)) return undefined;
  const name = doc.metadata.name;
  const spec = isObject(doc.spec) && isObject(doc.spec.template) ? doc.spec.template.spec : undefined;
  const containers = isObject(spec) && Array.isArray(spec.containers) ? spec.containers : [];
  const images = containers.flatMap((c) => (isObject(c) && typeof c.image === "string" ? [c.image] : []));
  const tags = images.map((ref) => {
    const at = ref.indexOf("@");
    if (at >= 0) return ref.slice(at + 1);
    const colon = ref.lastIndexOf(":");
    return colon > ref.lastIndexOf("/") ? ref.slice(colon + 1) : "latest";
  });
  return typeof name === "string" && images.length > 0 ? { name, images, tags } : undefined;
}

/** What Argo CD's Deployment health check says once a failing image misses the progress deadline. */
export function deadlineExceeded(name: string): Health {
  return { status: "Degraded", message: `Deployment "${name}" exceeded its progress deadline` };
}

export const PROGRESSING: Health = {
  status: "Progressing",
  message: "Waiting for rollout to finish: 0 of 1 updated replicas are available...",
};

/**
 * Several Deployments in one app, each set by its own patch file: only those whose images
 * changed start new pods, and each ends Healthy or Degraded on its own. The app's health is the
 * worst of them, as Argo CD computes it; the per-Deployment health goes to status.resources.
 */
export class PatchDeployments {
  constructor(
    private readonly ctx: SimContext,
    private readonly isBad: (tags: string[]) => boolean,
  ) {}

  initial(rt: AppRuntime, workloads: PatchWorkload[]): void {
    rt.workloadImages = new Map(workloads.map((w) => [w.name, w.images.join(",")]));
    rt.workloadHealth = new Map(workloads.map((w) => [w.name, this.settled(w)]));
    rt.health = worstHealth([...rt.workloadHealth.values()]);
  }

  start(rt: AppRuntime, workloads: PatchWorkload[], epoch: number): () => void {
    const before = rt.workloadImages ?? new Map<string, string>();
    const health = new Map<string, Health>();
    const changed: PatchWorkload[] = [];
    for (const w of workloads) {
      const moved = before.get(w.name) !== w.images.join(",");
      if (moved) changed.push(w);
      health.set(w.name, moved ? PROGRESSING : (rt.workloadHealth?.get(w.name) ?? this.settled(w)));
    }
    rt.workloadImages = new Map(workloads.map((w) => [w.name, w.images.join(",")]));
    rt.workloadHealth = health;
    rt.health = worstHealth([...health.values()]);
    return () => {
      for (const w of changed)
        this.ctx.scheduler.later(
          this.isBad(w.tags) ? this.ctx.timings.degradedAfterMs : this.ctx.timings.progressingMs,
          () => {
            if (rt.epoch !== epoch || !rt.workloadHealth) return;
            rt.workloadHealth.set(w.name, this.settled(w));
            rt.health = worstHealth([...rt.workloadHealth.values()]);
            this.ctx.status.publishHealth(rt);
          },
        );
    };
  }

  private settled(w: PatchWorkload): Health {
    return this.isBad(w.tags) ? deadlineExceeded(w.name) : { status: "Healthy" };
  }
}

/** status.resources[] of an app with patch Deployments: its Service and each Deployment with its health. */
export function patchResources(rt: AppRuntime, workloadSync: string): JsonObject[] {
  const namespace = rt.identity.destinationNamespace;
  const deployed = rt.deployed !== undefined;
  const service: JsonObject = {
    version: "v1",
    kind: "Service",
    namespace,
    name: rt.identity.workloadName,
    status: deployed ? "Synced" : "OutOfSync",
  };
  if (deployed) service.health = { status: "Healthy" };
  const deployments = [...(rt.workloadHealth ?? new Map<string, Health>())].map(([name, health]) => {
    const resource: JsonObject = {
      group: "apps",
      version: "v1",
      kind: "Deployment",
      namespace,
      name,
      status: workloadSync,
    };
    if (deployed) resource.health = healthJson(health);
    return resource;
  });
  return [service, ...deployments];
}
