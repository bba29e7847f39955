// How objects are keyed in the sources' caches, and which Rollouts an Application owns.
import type { Application } from "../../core/argo-types.js";

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export function objectKey(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

/** The destination namespace. */
export function destinationNamespace(app: Application): string | undefined {
  return app.spec?.destination?.namespace || undefined;
}

/** The AppProject an Application belongs to; Argo CD reads an empty one as "default". */
export function projectName(app: Application): string {
  return app.spec?.project || "default";
}

/** The Rollouts listed among the app's resources, each with the namespace it lives in. */
export function rolloutRefs(app: Application): { namespace: string; name: string }[] {
  const fallback = destinationNamespace(app) ?? app.metadata?.namespace ?? "";
  const refs: { namespace: string; name: string }[] = [];
  for (const resource of app.status?.resources ?? []) {
    if (
      resource.kind !== "Rollout" ||
      (resource.group !== undefined && resource.group !== "argoproj.io") ||
      !resource.name
    )
      continue;
    refs.push({ namespace: resource.namespace || fallback, name: resource.name });
  }
  return refs;
}
